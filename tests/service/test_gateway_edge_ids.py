"""Ids at the edge, the gateway alone on fake services:

- every id a client or staff member puts in a path, a body or a form is checked against the one
  id format before any service is asked: a 422 problem (API) or a readable page;
- a dossier taken away from a client stops working in the client's current token at once;
- the office gets existing dossiers suggested as it types a number, clients get nothing.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from httpx import Response

from libs.contracts import auth, dossier, office
from libs.contracts.caller import Role
from libs.servicekit.errors import Forbidden, Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    household_rpc,
    run_gateway,
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff
from tests.service.test_gateway_pages import sign_in

PROBLEM_JSON = "application/problem+json"
HOSTILE = {"operator": "$where", "nul": "D\x001", "long": "x" * 5000, "colon": "D1:c1",
           "dot-dot": "..", "json": '{"$gt":""}'}
SUMMARIES = dossier.DossierSummaries(dossiers=[
    dossier.DossierSummary(dossier_id="DOS-2019-00417", name="Gezin Dupont - Claes",
                           person_count=3, contract_count=3),
    dossier.DossierSummary(dossier_id="DOS-2022-01288", name="An Peeters", person_count=1,
                           contract_count=1)])


STARTUP_CALLS = {auth.LIST_REVOKED_SESSIONS.queue, office.GET_OFFICE.queue}


def service_calls(gateway: Gateway) -> list[str]:
    """The services asked so far, the start-up's loads (revoked sessions, the office's
    settings) left out."""
    return [queue for queue in gateway.rpc.methods if queue not in STARTUP_CALLS]


def assert_refused_at_the_edge(gateway: Gateway, response: Response, field: str) -> None:
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert any(field in name for name in response.json()["errors"]), response.json()
    assert service_calls(gateway) == []  # refused before any service was asked


# --- hostile ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_id_in_a_clients_path_is_a_422_before_any_service_is_asked(
    gateway: Gateway, hostile: str,
) -> None:
    client = gateway.bearer(dossiers=("D1",))
    in_path = quote(hostile, safe="")
    for address, field in (
        (f"/api/v1/dossiers/{in_path}/contract-pages", "dossier_id"),
        (f"/api/v1/dossiers/{in_path}/documents", "dossier_id"),
        (f"/api/v1/dossiers/D1/contracts/{in_path}", "contract_id"),
        (f"/api/v1/dossiers/D1/claims/{in_path}", "claim_id"),
        (f"/api/v1/dossiers/D1/risk-objects/{in_path}", "risk_object_id"),
        (f"/api/v1/dossiers/D1/documents/{in_path}/content", "document_id"),
        (f"/api/v1/dossiers/D1/documents?context=claim:{in_path}", "context"),
    ):
        if hostile == ".." and "?" not in address:
            continue  # ".." in a path is resolved by the HTTP client before it is sent
        assert_refused_at_the_edge(gateway, gateway.client.get(address, headers=client), field)


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_id_in_an_office_request_is_a_422_before_any_service_is_asked(
    gateway: Gateway, hostile: str,
) -> None:
    staff = gateway.bearer(user_id="staff1", role=Role.AGENT, dossiers=())
    in_path = quote(hostile, safe="")
    calls: list[tuple[Callable[..., Response], str, dict[str, Any], str]] = [
        (gateway.client.put, f"/admin/api/v1/dossiers/{in_path}/grants/u9", {}, "dossier_id"),
        (gateway.client.put, f"/admin/api/v1/dossiers/D1/grants/{in_path}", {}, "user_id"),
        (gateway.client.get, f"/admin/api/v1/dossiers/{in_path}", {}, "dossier_id"),
        (gateway.client.get, f"/admin/api/v1/dossiers/{in_path}/requests", {}, "dossier_id"),
        (gateway.client.post, f"/admin/api/v1/dossiers/{in_path}/documents/batch",
         {"files": {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}}, "dossier_id"),
        (gateway.client.post, "/admin/api/v1/invitations", {"json": {
            "email": "lotte@example.be", "display_name": "Lotte", "dossier_ids": [hostile]}},
         "dossier_ids"),
        (gateway.client.post, "/admin/api/v1/registrations/g1/approve",
         {"json": {"dossier_ids": ["D1", hostile]}}, "dossier_ids"),
    ]
    for send, address, extra, field in calls:
        if hostile == ".." and field != "dossier_ids":
            continue  # ".." in a path is resolved by the HTTP client before it is sent
        assert_refused_at_the_edge(gateway, send(address, headers=staff, **extra), field)


def test_a_hostile_id_in_a_page_address_gives_a_readable_page(gateway: Gateway) -> None:
    sign_in(gateway, dossiers=("D1",))
    for hostile in ("$where", "D\x001", "x" * 5000):
        page = gateway.client.get(f"/contracts/{quote(hostile, safe='')}")
        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>" in page.text and "Traceback" not in page.text
    assert service_calls(gateway) == [auth.LOG_IN.queue]


@pytest.mark.parametrize("hostile", ["$where", "D\x001", "x" * 90])
def test_the_office_pages_say_what_is_wrong_with_a_typed_dossier_number(
    gateway: Gateway, hostile: str,
) -> None:
    sign_in_as_staff(gateway)
    invited = gateway.client.post("/admin/invitations", data={
        "email": "lotte@example.be", "display_name": "Lotte Maes", "language": "nl",
        "dossier_ids": f"D1, {hostile}", "csrf_token": csrf(gateway)})
    granted = gateway.client.post("/admin/users/u9/grants", data={
        "email": "lotte@example.be", "dossier_id": hostile, "csrf_token": csrf(gateway)})
    for page in (invited, granted):
        assert page.status_code == 422
        assert "Dit is geen dossiernummer" in page.text
        assert "\x00" not in page.text  # never echoed as typed
    assert gateway.rpc.called(auth.INVITE_CLIENT) == []
    assert gateway.rpc.called(auth.GRANT_DOSSIER) == []


def test_the_office_is_told_which_dossier_number_does_not_exist(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(auth.INVITE_CLIENT, Invalid(
        "No dossier has the number DOS-DOES-NOT-EXIST.",
        fields={"dossier_ids": "unknown: DOS-DOES-NOT-EXIST"}))
    page = gateway.client.post("/admin/invitations", data={
        "email": "lotte@example.be", "display_name": "Lotte Maes", "language": "nl",
        "dossier_ids": "DOS-DOES-NOT-EXIST", "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "Geen dossier heeft het nummer DOS-DOES-NOT-EXIST" in page.text
    assert 'value="DOS-DOES-NOT-EXIST"' in page.text  # what was typed stays, to correct it


# --- a dossier taken away ------------------------------------------------------------------


def test_a_dossier_taken_away_stops_working_in_the_current_token_at_once(
    gateway: Gateway,
) -> None:
    issued = int(datetime.now(UTC).timestamp()) - 5
    client = gateway.bearer(dossiers=("D1", "D2"), issued_at=issued)
    assert gateway.client.get("/api/v1/dossiers/D2/contract-pages", headers=client
                              ).status_code == 200

    state = gateway.client.app.state.gateway  # type: ignore[attr-defined]
    state.verifier.revoked_grants.add("u1", "D2", datetime.now(UTC))  # as the listener does

    refused = gateway.client.get("/api/v1/dossiers/D2/contract-pages", headers=client)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert gateway.client.get("/api/v1/dossiers/D1/contract-pages", headers=client
                              ).status_code == 200
    [*_, last] = gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)
    assert isinstance(last, dossier.ListQuery)
    assert last.caller.dossier_ids == ["D1"]  # services are not told of D2 either


def test_a_page_no_longer_shows_a_dossier_taken_away(gateway: Gateway) -> None:
    sign_in(gateway, dossiers=("D1", "D2"), issued_at=int(datetime.now(UTC).timestamp()) - 5)
    gateway.client.cookies.set("mb_dossier", "D2", domain="testserver.local", path="/")
    gateway.client.get("/contracts")
    state = gateway.client.app.state.gateway  # type: ignore[attr-defined]
    state.verifier.revoked_grants.add("u1", "D2", datetime.now(UTC))

    page = gateway.client.get("/contracts")

    assert page.status_code == 200
    [before, after] = gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)
    assert isinstance(before, dossier.ListQuery) and isinstance(after, dossier.ListQuery)
    assert (before.dossier_id, after.dossier_id) == ("D2", "D1")
    assert after.caller.dossier_ids == ["D1"]


@pytest.fixture
def restarted_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A gateway starting while auth lists a grant taken away a minute ago."""
    rpc = household_rpc()
    rpc.answer(auth.LIST_REVOKED_SESSIONS, auth.RevokedSessions(session_ids=[], grants=[
        auth.RevokedGrant(user_id="u1", dossier_id="D2",
                          revoked_at=datetime.now(UTC) - timedelta(minutes=1))]))
    yield from run_gateway(tmp_path, rpc)


def test_a_starting_gateway_learns_the_grants_taken_away_before_it_started(
    restarted_gateway: Gateway,
) -> None:
    before = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp())
    client = restarted_gateway.bearer(dossiers=("D1", "D2"), issued_at=before)
    assert restarted_gateway.client.get("/api/v1/dossiers/D2/contract-pages", headers=client
                                        ).status_code == 404
    fresh = restarted_gateway.bearer(dossiers=("D1", "D2"))  # granted again since: honoured
    assert restarted_gateway.client.get("/api/v1/dossiers/D2/contract-pages", headers=fresh
                                        ).status_code == 200


# --- suggestions -----------------------------------------------------------------------------


def test_the_office_gets_existing_dossiers_suggested_as_it_types(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.SEARCH_DOSSIERS, SUMMARIES)
    sign_in_as_staff(gateway)
    form = gateway.client.get("/admin/accounts")
    assert 'list="invite-dossier-suggestions"' in form.text
    assert 'hx-get="/admin/dossier-suggestions"' in form.text
    assert "onchange" not in form.text and "oninput" not in form.text  # the CSP forbids them

    options = gateway.client.get("/admin/dossier-suggestions",
                                 params={"dossier_ids": "DOS-2023-00951, dos-20"})
    assert options.status_code == 200
    assert '<option value="DOS-2023-00951, DOS-2019-00417">' in options.text
    assert "DOS-2022-01288 · An Peeters" in options.text
    [search] = gateway.rpc.called(dossier.SEARCH_DOSSIERS)
    assert isinstance(search, dossier.DossierSearch) and search.text == "dos-20"

    api = gateway.client.get("/admin/api/v1/dossiers", params={"q": "DOS-20"},
                             headers=gateway.bearer(user_id="staff1", role=Role.AGENT,
                                                    dossiers=()))
    assert api.status_code == 200
    assert [d["dossier_id"] for d in api.json()["dossiers"]] == [
        "DOS-2019-00417", "DOS-2022-01288"]


def test_a_client_gets_no_suggestions(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.SEARCH_DOSSIERS, Forbidden("Only the broker's staff may do this."))
    api = gateway.client.get("/admin/api/v1/dossiers", params={"q": "DOS"},
                             headers=gateway.bearer(dossiers=("D1",)))
    assert api.status_code == 403
    sign_in(gateway, dossiers=("D1",))
    page = gateway.client.get("/admin/dossier-suggestions", params={"dossier_ids": "DOS"})
    assert page.status_code == 403
    assert "DOS-2019-00417" not in page.text
    assert gateway.rpc.called(dossier.SEARCH_DOSSIERS) == []


def test_suggestions_fall_silent_while_the_dossier_service_is_away(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)  # no SEARCH_DOSSIERS reply: the fake answers Unavailable
    options = gateway.client.get("/admin/dossier-suggestions", params={"dossier_ids": "DOS"})
    assert options.status_code == 200  # no error page swapped into the field's datalist
    assert "<option" not in options.text
