"""What a reader sees of the small things: real plural forms, decimal commas, a success that looks
like one, the closing cross beside the title on a phone, long dossier names in full, the
manual's words ("Mijn dossiers", "Bevestigen", "Documenten" on "Mijn gegevens") and a
skip-to-content link on every layout."""

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, FloatRect, Page, expect

from deploy.local.seed_demo import import_dossier
from tests.browser.support import log_in, log_in_as_office_admin
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    import_dossiers,
    new_client,
    staff_log_in,
)

pytestmark = pytest.mark.browser
DUPONT = fixture_dossier("dupont")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
LONG_NAME = ("Vereniging van mede-eigenaars Residentie Zeezicht en Panorama "
             "(Dupont - Peeters - Vandenbroucke)")
LONG_DOSSIER: dict[str, Any] = {
    "dossier_id": "DOS-2026-LONGNAME", "name": LONG_NAME, "broker_reference": "KL-LONG",
    "persons": [{**fixture_dossier("peeters")["persons"][0], "person_id": "P-LONG-1"}],
    "risk_objects": [], "contracts": [], "claims": [], "invoices": []}


def _box(page: Page, selector: str) -> FloatRect:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


@pytest.fixture(scope="module")
def long_dossier_client(system_stack: SystemStack) -> ClientLogin:
    """A client of the Dupont dossier and of a dossier with a long name."""
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        import_dossiers(system_stack, gateway, "dupont")
        import_dossier(gateway, staff_log_in(system_stack, gateway), LONG_DOSSIER)
        return new_client(system_stack, gateway, "Lies Dupont",
                          [DUPONT["dossier_id"], LONG_DOSSIER["dossier_id"]])


def test_an_overdue_invoice_is_counted_in_a_real_plural_form(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password,
               next_page="/invoices")
        expect(page.locator("main .alert")).to_have_text("1 factuur vervallen")
        page.goto(f"{system_stack.gateway_url}/lang/fr?next=/invoices")
        expect(page.locator("main .alert")).to_have_text("1 facture en retard")
    finally:
        page.close()


def test_the_file_size_limit_is_written_with_the_readers_decimals(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        log_in_as_office_admin(page, system_stack)
        address = f"/admin/documents?dossier_id={DUPONT['dossier_id']}"
        page.goto(system_stack.gateway_url + address)
        hint = page.locator("#drop-zone .hint")
        expect(hint).to_contain_text("25 MB")  # 25 MiB: no "25.0"
        page.goto(f"{system_stack.gateway_url}/lang/fr?next={address}")
        expect(hint).to_contain_text(re.compile(r"25\s+Mo"))
        assert not re.search(r"25[.,]0", hint.inner_text())
    finally:
        page.close()


def test_a_done_action_of_the_office_is_shown_as_a_success(
    browser: Browser, system_stack: SystemStack,
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=DESKTOP)  # type: ignore[arg-type]
    try:
        log_in_as_office_admin(page, system_stack, next_page="/admin/accounts")
        page.fill("#invite-email", "karel.smet.wording@example.com")
        page.fill("#invite-name", "Karel Smet")
        page.fill("#invite-dossiers", DUPONT["dossier_id"])
        page.get_by_role("button", name="Uitnodiging versturen").click()
        done = page.locator("main [role=status]").first
        expect(done).to_be_visible()
        # Green like a success (the --ok colours), not the amber of a warning.
        assert done.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(229, 244, 234)"
        assert done.evaluate("e => getComputedStyle(e).color") == "rgb(29, 122, 70)"
    finally:
        page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_closing_cross_stays_beside_the_title(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    contract = DUPONT["contracts"][0]["contract_id"]
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password,
               next_page=f"/contracts/{contract}")
        title, cross = _box(page, ".detail-head h1"), _box(page, ".detail-head .close")
        head = _box(page, ".detail-head")
        assert cross["x"] >= title["x"] + title["width"] - 1  # right of the title
        assert cross["y"] < title["y"] + title["height"] / 2  # on its first line, not under it
        assert cross["x"] + cross["width"] >= head["x"] + head["width"] - 2  # at the right edge
    finally:
        page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_my_dossiers_opens_the_dossiers_with_their_whole_names(
    browser: Browser, system_stack: SystemStack, long_dossier_client: ClientLogin,
    viewport: dict[str, int],
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, long_dossier_client.email, long_dossier_client.password)
        if viewport is PHONE:
            page.locator("label.menu-button").click()
        box = page.locator(".dossier-box")
        box.get_by_text("Mijn dossiers (2)").click()
        choice = box.locator("label.dossier-choice", has_text="Residentie Zeezicht")
        expect(choice).to_have_text(LONG_NAME)
        # The whole name is shown: wrapped inside the sidebar, nothing cut or scrolled away.
        assert choice.evaluate("e => e.scrollWidth <= e.clientWidth")
        sidebar, label = _box(page, ".sidebar"), _box(page, "label.dossier-choice >> nth=1")
        assert label["x"] + label["width"] <= sidebar["x"] + sidebar["width"]
        assert label["height"] > 30  # on more than one line
        choice.click()
        box.get_by_role("button", name="Dossier kiezen").click()
        if viewport is PHONE:
            page.locator("label.menu-button").click()
        expect(page.locator(".dossier-box .dossier-name")).to_have_text(LONG_NAME)
    finally:
        page.close()


def test_the_registration_form_is_sent_with_bevestigen(
    browser: Browser, system_stack: SystemStack,
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=PHONE)  # type: ignore[arg-type]
    try:
        page.goto(f"{system_stack.gateway_url}/register")
        expect(page.locator("form.form").get_by_role("button")).to_have_text("Bevestigen")
    finally:
        page.close()


def test_my_data_has_a_documents_button_listing_every_document(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=PHONE)  # type: ignore[arg-type]
    try:
        log_in(page, system_stack, dupont_family.email, dupont_family.password,
               next_page="/my-data")
        page.get_by_role("link", name="Documenten", exact=True).click()
        page.wait_for_url(re.compile(r".*/documents$"))  # every context: no context filter
        expect(page.get_by_role("heading", level=1)).to_have_text("Mijn documenten")
    finally:
        page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_layout_starts_with_a_skip_to_content_link(
    browser: Browser, system_stack: SystemStack, dupont_family: ClientLogin,
    viewport: dict[str, int],
) -> None:
    page = browser.new_page(locale="nl-BE", viewport=viewport)  # type: ignore[arg-type]

    def skip_to_content() -> None:
        page.keyboard.press("Tab")
        link = page.locator(":focus")
        expect(link).to_have_text("Naar de inhoud")
        box = link.bounding_box()
        assert box is not None and box["y"] >= 0  # shown on screen once focused
        page.keyboard.press("Enter")
        assert page.url.endswith("#content")
        expect(page.locator("#content")).to_be_visible()

    try:
        page.goto(f"{system_stack.gateway_url}/login")  # the centred pages
        skip_to_content()
        log_in(page, system_stack, dupont_family.email, dupont_family.password)
        page.goto(f"{system_stack.gateway_url}/contracts")  # the client zone
        skip_to_content()
        page.context.clear_cookies()
        log_in_as_office_admin(page, system_stack, next_page="/admin/accounts")  # the office
        page.goto(f"{system_stack.gateway_url}/admin/accounts")
        skip_to_content()
    finally:
        page.close()
