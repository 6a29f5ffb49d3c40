"""The contracts page kept in the gateway's read model (gateway/web/rendering.py `render_kept`,
answered from memory by gateway/read_fast_path.py): what a reader sees is what the route would
render now. A change of the dossier shows at once, nobody gets another reader's page or another
dossier's, the page's ETag gets 304, a language switch gives the page in the other language, and
each browser gets its own CSRF token in the forms."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from libs.contracts import auth, dossier
from tests.service.gateway_support import Gateway, household_rpc, run_gateway, sample_contract_page
from tests.service.test_gateway_pages import expire_access_cookie, sign_in
from tests.service.test_gateway_read_model import versions, with_synchronised_read_model

PAGE = "/contracts"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """The gateway on fake services, its read model synchronised as if its listener consumed;
    dossier D2's contracts have policy numbers of their own."""
    rpc = household_rpc()

    def contract_page(query: BaseModel) -> dossier.ContractPage:
        page = sample_contract_page(query)
        if page.dossier_id == "D2":
            for item in page.items:
                item.policy_number = item.policy_number.replace("2024", "BOUW").replace(
                    "2023", "BOUW")
        return page

    rpc.answer(dossier.LIST_CONTRACT_PAGE, contract_page)
    for running in run_gateway(tmp_path, rpc):
        yield with_synchronised_read_model(running)


def page_reads(gateway: Gateway) -> int:
    return len(gateway.rpc.called(dossier.LIST_CONTRACT_PAGE))


def form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', html))


def test_the_kept_page_is_the_page_the_route_renders(gateway: Gateway) -> None:
    sign_in(gateway)
    rendered = gateway.client.get(PAGE)
    kept = gateway.client.get(PAGE)
    assert rendered.status_code == kept.status_code == 200
    assert kept.text == rendered.text and "AUTO-2024-0001" in kept.text
    assert page_reads(gateway) == 1
    for header in ("content-type", "content-security-policy", "cache-control", "etag",
                   "referrer-policy", "x-content-type-options"):
        assert kept.headers[header] == rendered.headers[header], header
    assert kept.headers["cache-control"] == "no-store"  # personal data: kept by no browser
    assert form_tokens(kept.text) == {gateway.client.cookies["mb_csrf"]}


def test_a_change_of_the_dossier_shows_on_the_page_at_once(gateway: Gateway) -> None:
    sign_in(gateway)
    assert "1.234,56" in gateway.client.get(PAGE).text
    gateway.client.get(PAGE)
    assert page_reads(gateway) == 1

    def changed(query: BaseModel) -> dossier.ContractPage:
        page = sample_contract_page(query)
        page.items[0].annual_premium_cents = 99_900
        return page

    gateway.rpc.answer(dossier.LIST_CONTRACT_PAGE, changed)
    versions(gateway).changed("D1")  # a `dossier.contract.changed` event heard
    fresh = gateway.client.get(PAGE)
    assert fresh.status_code == 200 and "999,00" in fresh.text and "1.234,56" not in fresh.text
    assert page_reads(gateway) == 2


def test_a_new_name_of_another_dossier_of_the_reader_shows_at_once(gateway: Gateway) -> None:
    sign_in(gateway, dossiers=("D1", "D2"))
    assert "Peeters Bouw BV" in gateway.client.get(PAGE).text
    gateway.rpc.answer(dossier.LIST_DOSSIER_SUMMARIES, dossier.DossierSummaries(dossiers=[
        dossier.DossierSummary(dossier_id="D1", name="Familie Peeters", person_count=3,
                               contract_count=2),
        dossier.DossierSummary(dossier_id="D2", name="Peeters Renovatie BV", person_count=1,
                               contract_count=1)]))
    versions(gateway).changed("D2")  # the other dossier, named in the picker
    fresh = gateway.client.get(PAGE)
    assert "Peeters Renovatie BV" in fresh.text and "Peeters Bouw BV" not in fresh.text


def test_another_reader_or_dossier_never_gets_the_kept_page(gateway: Gateway) -> None:
    sign_in(gateway)  # An Peeters, dossier D1
    first = gateway.client.get(PAGE)
    assert "AUTO-2024-0001" in first.text and "An Peeters" in first.text
    an_token = gateway.client.cookies["mb_csrf"]

    gateway.client.cookies.clear()  # another browser: a client of dossier D2 only
    sign_in(gateway, user_id="u9", name="Jan Janssens", dossiers=("D2",))
    for address in (PAGE, f"{PAGE}?dossier=D2"):
        own = gateway.client.get(address)
        assert own.status_code == 200
        assert "AUTO-BOUW-0001" in own.text and "Jan Janssens" in own.text
        assert "AUTO-2024-0001" not in own.text and "An Peeters" not in own.text
        assert "Familie Peeters" not in own.text and an_token not in own.text
    foreign = gateway.client.get(f"{PAGE}?dossier=D1",
                                 headers={"If-None-Match": first.headers["etag"]})
    assert foreign.status_code == 404 and "AUTO-2024-0001" not in foreign.text

    gateway.client.cookies.clear()  # a second reader of D1: their own name and token
    sign_in(gateway, user_id="u2", name="Els Peeters", dossiers=("D1",))
    member = gateway.client.get(PAGE)
    assert "AUTO-2024-0001" in member.text and "Els Peeters" in member.text
    assert "An Peeters" not in member.text
    assert form_tokens(member.text) == {gateway.client.cookies["mb_csrf"]} != {an_token}


def test_the_page_etag_answers_304_until_the_dossier_changes(gateway: Gateway) -> None:
    sign_in(gateway)
    tag = gateway.client.get(PAGE).headers["etag"]
    assert tag.startswith('"')  # strong: the same bytes
    gateway.rpc.calls.clear()
    same = gateway.client.get(PAGE, headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag
    assert gateway.rpc.calls == []

    other_query = gateway.client.get(f"{PAGE}?sort=insurer", headers={"If-None-Match": tag})
    assert other_query.status_code == 200 and other_query.headers["etag"] != tag
    gateway.client.cookies.set("mb_csrf", "another-browsers-token", domain="testserver.local",
                               path="/")
    other_form_token = gateway.client.get(PAGE, headers={"If-None-Match": tag})
    assert other_form_token.status_code == 200  # its forms would carry another token
    assert form_tokens(other_form_token.text) == {"another-browsers-token"}

    versions(gateway).changed("D1")
    fresh = gateway.client.get(PAGE, headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != tag


def test_a_language_switch_gives_the_page_in_the_other_language(gateway: Gateway) -> None:
    sign_in(gateway)
    dutch = gateway.client.get(PAGE)
    assert "Mijn contracten" in dutch.text and '<html lang="nl">' in dutch.text
    gateway.client.get(f"/lang/fr?next={PAGE}")
    french = gateway.client.get(PAGE)
    assert "Mes contrats" in french.text and '<html lang="fr">' in french.text
    assert "Mijn contracten" not in french.text
    assert french.headers["etag"] != dutch.headers["etag"]
    gateway.client.get(f"/lang/nl?next={PAGE}")
    assert gateway.client.get(PAGE).text == dutch.text


def test_an_expired_access_token_is_refreshed_as_on_any_page(gateway: Gateway) -> None:
    sign_in(gateway)
    gateway.client.get(PAGE)
    expire_access_cookie(gateway)
    fresh = gateway.key.pair()
    gateway.rpc.answer(auth.REFRESH, fresh)
    refreshed = gateway.client.get(PAGE)
    assert refreshed.status_code == 200 and "AUTO-2024-0001" in refreshed.text
    assert gateway.client.cookies["mb_access"] == fresh.access_token
    gateway.client.cookies.clear()
    assert gateway.client.get(PAGE).status_code == 303  # signed out: to the login page
