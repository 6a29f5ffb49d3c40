"""Accessibility: axe-core on every page of the gateway at 390 px and 1440 px, and a walk through
the client zone with the keyboard alone.

The pages come from the gateway's route table, so a page is checked the day it lands: every GET
route outside the APIs, as an anonymous visitor, as a client (the pages that send an anonymous
visitor to the login page) or as the office admin (/admin). axe-core is the pinned npm package
deploy/vendor-axe.sh puts in tests/browser/vendor at install time (never a CDN).

axe is run with page.evaluate (through the DevTools protocol), not page.add_script_tag: the tag
Playwright adds is an inline script, which the pages' CSP (script-src 'self') refuses, and
bypass_csp would test pages that are not the ones a client gets.
"""

import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from deploy.local.demo_eid import as_forwarded_header, citizen_certificate
from deploy.local.demo_pdf import text_pdf
from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer
from tests.browser.support import log_in, log_in_as_office_admin
from tests.gateway_routes import gateway_routes
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    new_client,
    staff_log_in,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
BLOCKING = {"serious", "critical"}
DUPONT = fixture_dossier("dupont")
CONTRACT_ID = "C-00417-AUTO"
# GET routes outside the APIs that are no page for a person to read: why each is left out.
NOT_PAGES = {
    "/documents/{document_id}/file": "a document's body (PDF, image), shown inside the viewer",
    "/lang/{language}": "a redirect that sets the language",
    "/api/docs/assets/{name}": "Swagger UI's script and style",
    "/api/openapi.json": "JSON",
    "/admin/api-docs/openapi.json": "JSON",
    "/admin/asyncapi.json": "JSON: the bus's AsyncAPI document",
    "/metrics": "Prometheus' text for the scraper",
    "/admin/dossier-suggestions": "the <option>s htmx swaps into a dossier-number field",
    "/requests/events": "the live changes of 'Mijn aanvragen' (server-sent events)",
    "/signing/count": "the menu's badge htmx swaps in (a number)",
    "/signing/{signature_id}/signed": "the signed PDF, a download",
    "/signing/{signature_id}/mobile/status": "JSON: where the phone's enrolment stands",
    "/admin/desk/new-count": "the menu's badge of unread requests, swapped in by htmx",
    "/admin/dossiers/{dossier_id}/documents/{document_id}/file":
        "a document's body, shown inside the staff's viewer",
    "/forms/municipalities": "the <option>s htmx swaps into the address form's datalist",
    "/office/theme.css": "the office's colours, a stylesheet every page links",
    "/office/logo": "the office's logo, an image in every page's header",
    "/privacy/exports/{export_id}/download": "the ZIP of the client's data export (its page "
        "for an expired export is checked with axe in test_privacy_export.py)",
}
API_PREFIXES = ("/api/v1/", "/admin/api/v1/", "/health")
ERROR_PAGE = "/no-such-page"  # no route: what every unknown address shows
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)}));
}"""


def page_paths() -> list[str]:
    """The path of every page the gateway serves, read from its route table."""
    return sorted({path for method, path, _ in gateway_routes()
                   if method == "GET" and not path.startswith(API_PREFIXES)
                   and path not in NOT_PAGES})


# Pages checked in a refusal: path -> why. /unlock's form needs an account locked by failed
# logins: it is checked as an unknown link shows it (the same layout, a message for the form).
REFUSALS = {"/unlock": "an unknown link", ERROR_PAGE: "the error page of an unknown address"}


@dataclass(frozen=True)
class Seeded:
    """The objects the pages with an id show, and the mailed links the token pages need."""

    client: ClientLogin
    ids: dict[str, str]  # path parameter -> an id of the client's dossier
    queries: dict[str, str]  # path -> the query of a valid mailed link
    headers: dict[str, dict[str, str]]  # path -> what the TLS proxy adds (the eID card)
    document_title: str


def _mailed_token(stack: SystemStack, email: str, path: str) -> str:
    mail = wait_for_mail(stack.maildir, email, containing=f"{path}?token=")
    token = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-]+)", mail.text)
    assert token is not None, mail.text
    return f"?token={token.group(1)}"


def _national_number() -> str:
    """A valid Belgian national register number of a card no account has: born 12 March 1985,
    a birth date the eID login tests (17 May 1990) never use."""
    first_nine = f"850312{random.randrange(1, 998):03d}"
    return first_nine + f"{97 - int(first_nine) % 97:02d}"


@pytest.fixture(scope="module")
def seeded(system_stack: SystemStack, dupont_family: ClientLogin) -> Seeded:
    """A document in a contract's context, and valid mailed links of the token pages."""
    title = "Polis omnium"
    unique = uuid.uuid4().hex[:6]
    invitee, registrant = f"nina.{unique}@example.com", f"ruben.{unique}@example.com"
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        staff = bearer(staff_log_in(system_stack, gateway))
        published = gateway.post(  # the batch upload: the one that takes a context
            f"/admin/api/v1/dossiers/{DUPONT['dossier_id']}/documents/batch", headers=staff,
            data={"context": f"contract:{CONTRACT_ID}"}, files={"file": (
                f"{title}.pdf", text_pdf(title, ["Voorwaarden"]), "application/pdf")})
        assert published.status_code == 201, published.text
        document = published.json()["documents"][0]
        signature_request_id = _signature_request(gateway, staff, document["document_id"],
                                                   dupont_family.email)
        gateway.post("/admin/api/v1/invitations", headers=staff, json={
            "email": invitee, "display_name": "Nina Claes", "language": "nl",
            "dossier_ids": [DUPONT["dossier_id"]]}).raise_for_status()
        resetting = new_client(system_stack, gateway, "Eva Reset", [DUPONT["dossier_id"]])
        gateway.post("/api/v1/auth/password-reset",
                     json={"email": resetting.email}).raise_for_status()
        message = gateway.post(  # a request of the client's own: its detail page is walked
            f"/api/v1/dossiers/{DUPONT['dossier_id']}/messages",
            headers=bearer(dupont_family.log_in(gateway)),
            json={"subject": "Vraag over mijn omnium", "body": "Dekt mijn polis hagel?"})
        assert message.status_code == 201, message.text
        gateway.post("/api/v1/auth/register", json={
            "last_name": "Wouters", "first_name": "Ruben", "birth_date": "1990-02-14",
            "email": registrant, "phone": "+32 470 11 22 33",
            "language": "nl"}).raise_for_status()
    return Seeded(client=dupont_family, document_title=document["title"], ids={
        "dossier_id": DUPONT["dossier_id"], "contract_id": CONTRACT_ID,
        "claim_id": "S-00417-1", "risk_object_id": "R-00417-1",
        "document_id": document["document_id"], "person_id": "P-00417-1",
        "request_id": message.json()["request_id"],
        "signature_id": signature_request_id}, queries={
        "/activate": _mailed_token(system_stack, invitee, "/activate"),
        "/reset-password": _mailed_token(system_stack, resetting.email, "/reset-password"),
        "/register/confirm": _mailed_token(system_stack, registrant, "/register/confirm")},
        headers={"/eid": {  # a card of no account yet: the form that asks for the link
            "X-SSL-Client-Cert": as_forwarded_header(citizen_certificate(
                system_stack.eid.hierarchy.citizen_ca, national_number=_national_number(),
                given_name="Nina", surname="Claes")),
            "X-MyBroker-Proxy-Auth": system_stack.eid.proxy_secret}})


def _signature_request(gateway: httpx.Client, staff: dict[str, str], document_id: str,
                       email: str) -> str:
    """The document offered for signature to the Dupont child, whose address is the client's."""
    dossier = fixture_dossier("dupont")
    dossier["persons"][2]["email"] = email
    gateway.post("/admin/api/v1/dossiers", json=dossier, headers=staff).raise_for_status()
    for _ in range(60):  # a fresh PDF's viewable form may still be prepared
        created = gateway.post(
            f"/admin/api/v1/dossiers/{DUPONT['dossier_id']}/signature-requests", headers=staff,
            json={"document_id": document_id,
                  "signer_person_ids": [dossier["persons"][2]["person_id"]]})
        if created.status_code == 201:
            return str(created.json()["signature_request_id"])
        time.sleep(0.5)
    raise AssertionError(created.text)


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is shown now."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [violation for violation in found if violation["impact"] in BLOCKING]


@pytest.fixture(name="context", params=list(VIEWPORTS), scope="module")
def context_fixture(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """One browser context per viewport; the logins live in it for all its pages."""
    context = browser.new_context(locale="nl-BE", viewport=VIEWPORTS[request.param])  # type: ignore[arg-type]
    yield context
    context.close()


def test_every_page_has_no_serious_or_critical_axe_violation(
    context: BrowserContext, system_stack: SystemStack, seeded: Seeded,
) -> None:
    assert AXE.is_file(), "run deploy/vendor-axe.sh (bootstrap.sh does)"
    base = system_stack.gateway_url
    paths = [*page_paths(), ERROR_PAGE]
    assert {"/login", "/contracts/{contract_id}", "/admin"} <= set(paths)  # the walk works
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}

    def check(path: str) -> bool:
        """axe the page at `path`; False when it sent the visitor to the login page."""
        url = base + re.sub(r"\{(\w+)\}", lambda m: seeded.ids[m.group(1)], path)
        page.set_extra_http_headers(seeded.headers.get(path, {}))
        answer = page.goto(url + seeded.queries.get(path, ""))
        page.set_extra_http_headers({})
        assert answer is not None, path
        assert answer.ok or path in REFUSALS, (path, answer.status)
        assert "text/html" in answer.headers["content-type"], (path, "is no page: NOT_PAGES?")
        if urlsplit(page.url).path == "/login" and path != "/login":
            return False
        found.update({path: problems} if (problems := violations(page)) else {})
        return True

    office = [path for path in paths if path.startswith("/admin")]
    client = [path for path in paths if path not in office and not check(path)]
    log_in(page, system_stack, seeded.client.email, seeded.client.password)
    for path in client:
        assert check(path), (path, "sends a signed-in client to the login page")
    context.clear_cookies()
    log_in_as_office_admin(page, system_stack)
    for path in office:
        assert check(path), (path, "sends the office admin to the login page")
    context.clear_cookies()
    page.close()
    assert not found, "\n".join(
        f"{path}: {v['id']} ({v['impact']}) {v['help']}: " + " | ".join(v["nodes"])
        for path, problems in found.items() for v in problems)


# What the focused element is, and whether a sighted keyboard user sees where the focus is: the
# element is not transparent (nor inside something transparent) and draws a ring. A transparent
# input drawn by its label (the phone's menu toggle) shows its focus on the label.
FOCUSED = """() => {
  const e = document.activeElement;
  if (e === document.body) { return {id: "", href: "", text: "", what: "", seen: true}; }
  const opacity = element => {
    let product = 1;
    for (let node = element; node instanceof Element; node = node.parentElement) {
      product *= parseFloat(getComputedStyle(node).opacity);
    }
    return product;
  };
  const shown = opacity(e) === 0 && e.labels && e.labels.length ? e.labels[0] : e;
  const style = getComputedStyle(shown), box = shown.getBoundingClientRect();
  return {id: e.id, href: e.href || "", text: e.innerText || "", what: e.outerHTML.slice(0, 120),
          seen: opacity(shown) > 0 && box.width > 0 && box.height > 0
                && ((style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                    || style.boxShadow !== "none")};
}"""


def _tab_to(page: Page, path: str, text: str = "", *, open_menu: bool = False) -> None:
    """Press Tab until a link to `path` (holding `text`) has the focus; every stop must show.
    With `open_menu`, Space opens the folded menu when the Tab reaches its toggle (a phone)."""
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["seen"], f"the focus is on something not shown: {focused['what']}"
        if open_menu and focused["id"] == "menu-toggle":
            page.keyboard.press("Space")
        if focused["href"] and urlsplit(focused["href"]).path == path and text in focused["text"]:
            return
    raise AssertionError(f"no link to {path} {text!r} within 60 presses of Tab on {page.url}: "
                         + page.inner_text("main"))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_client_walks_from_login_to_a_document_with_the_keyboard_alone(
    browser: Browser, system_stack: SystemStack, seeded: Seeded, viewport: str,
) -> None:
    # Messages have no page yet (only the JSON API): the walk ends at a document of a contract.
    page = browser.new_page(locale="nl-BE", viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    try:
        page.goto(f"{system_stack.gateway_url}/login")
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == "email":
                break
        page.keyboard.type(seeded.client.email)
        page.keyboard.press("Tab")
        page.keyboard.type(seeded.client.password)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url)

        _tab_to(page, "/contracts", open_menu=viewport == "phone")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Mijn contracten")).to_be_visible()
        _tab_to(page, f"/contracts/{CONTRACT_ID}")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        _tab_to(page, "/documents", "Documenten")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Documenten")).to_be_visible()
        _tab_to(page, f"/documents/{seeded.ids['document_id']}")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=seeded.document_title)).to_be_visible()
        assert not violations(page)
    finally:
        page.close()
