"""Staff send forged page cursors to the office's list of signature requests: the admin API
and the office page, on the real signing service behind the gateway app.

Requests of D1 and of D2. A cursor becomes a bound of the list's key range, so the service
signs it for the list and its filters (dossier, state): a cursor of another dossier's list or
of other filters, one signed with another key or for another list, an edited one, a raw key,
a former page number, garbage - each is refused (API: 422 problem+json naming `cursor`; page:
the first page with the "outdated link" notice), and a list of D1 never shows a request of D2.
"""

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from faststream.rabbit import TestRabbitBroker

from libs.contracts import paging, signing
from libs.contracts.caller import Role
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.keyset import ListCursors
from services.signing.config import SigningSettings
from services.signing.main import SigningService, build
from services.signing.store import LIST_NAME
from tests.security.conftest import AttackedGateway, gateway_on
from tests.service.conftest import call_in_memory
from tests.service.test_signing import STAFF, Office, copy_to_dossier, create

SECRET = "the signing service's cursor secret, 32+ characters"
NOTICE = "Die paginalink is niet meer geldig"
API = "/admin/api/v1/signature-requests"


@pytest.fixture
async def office(mongo_url: str, database_name: str) -> AsyncIterator[SigningService]:
    """The signing service (cursors signed with SECRET): three requests of D1, three of D2."""
    stand_in = Office()
    built = build(SigningSettings(environment="test", mongo_url=mongo_url,
                                  mongo_db=database_name, cursor_secret=SECRET),
                  rpc=stand_in, http=httpx.AsyncClient(transport=stand_in.transport()))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        for _ in range(3):
            made = await create(built, ["P1"])
            await copy_to_dossier(built, made.signature_request_id, "D2")
        yield built
    await built.runtime.database.client.drop_database(database_name)


@pytest.fixture
async def gateway(office: SigningService, tmp_path: Path) -> AsyncIterator[AttackedGateway]:
    async with gateway_on(office.runtime.broker, "signing", tmp_path) as attacked:
        yield attacked


async def first_cursor(office: SigningService, **filters: Any) -> str:
    page = await call_in_memory(office.runtime.broker, signing.LIST_SIGNATURE_REQUESTS,
                                signing.ListSignatureRequestsQuery(caller=STAFF, page_size=1,
                                                                   **filters))
    assert page.next_cursor is not None
    return page.next_cursor


def unsigned(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def forged_cursors(office: SigningService) -> dict[str, str]:
    """Every cursor a caller can send to D1's list of requests, by what it is."""
    own = await first_cursor(office, dossier_id="D1")
    body, _, tag = own.partition(".")
    key = b"k999999999999999\x1fz"
    return {
        "D2's cursor": await first_cursor(office, dossier_id="D2"),
        "the unfiltered list's cursor": await first_cursor(office),
        "the open requests' cursor": await first_cursor(office, state=signing.RequestState.OPEN),
        "another list's cursor, real key": ListCursors(
            CursorSigner(SECRET.encode()), "documents").sign(key, "D1", ""),
        "signed with another key": ListCursors(
            CursorSigner(b"an attacker's own key, 32 bytes!"), LIST_NAME).sign(key, "D1", ""),
        "edited key, tag kept": f"{unsigned('k999999999999999')}.{tag}",
        "unsigned raw key": unsigned(key.decode()), "former page number": "2",
        "garbage": "not-a-cursor", "signature only": f".{tag}", "body only": body,
        "long": "A" * paging.MAX_CURSOR,
    }


def shows_d2(text: str) -> bool:
    return '"dossier_id":"D2"' in text.replace(" ", "") or "Dossier D2" in text


async def test_a_forged_cursor_is_a_422_in_the_api_and_shows_no_other_dossier(
    office: SigningService, gateway: AttackedGateway,
) -> None:
    staff = gateway.bearer(role=Role.AGENT, dossiers=())
    for what, cursor in (await forged_cursors(office)).items():
        answer = await gateway.http.get(API, headers=staff,
                                        params={"dossier_id": "D1", "cursor": cursor})
        assert not shows_d2(answer.text), what
        assert answer.status_code == 422, (what, answer.text[:300])
        assert answer.headers["content-type"] == "application/problem+json", what
        assert "cursor" in str(answer.json().get("errors")), what


async def test_a_forged_cursor_in_a_page_link_shows_the_first_page(
    office: SigningService, gateway: AttackedGateway,
) -> None:
    browser = gateway.browser(role=Role.AGENT, dossiers=())
    for what, cursor in (await forged_cursors(office)).items():
        if what == "the open requests' cursor":
            continue  # the very list this page shows: a valid cursor here
        shown = await gateway.http.get("/admin/signing", headers=browser,
                                       params={"state": "open", "cursor": cursor})
        assert shown.status_code == 200, (what, shown.text[:300])
        assert NOTICE in shown.text and "Dossier D1" in shown.text, what


async def test_walking_a_dossiers_list_by_its_cursors_shows_exactly_its_requests(
    gateway: AttackedGateway,
) -> None:
    staff = gateway.bearer(role=Role.AGENT, dossiers=())
    seen: list[str] = []
    answer = await gateway.http.get(API, headers=staff, params={"dossier_id": "D1",
                                                                "page_size": "1"})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert {request["dossier_id"] for request in body["requests"]} <= {"D1"}
        seen += [request["signature_request_id"] for request in body["requests"]]
        if body["next_cursor"] is None:
            break
        answer = await gateway.http.get(API, headers=staff, params={
            "dossier_id": "D1", "page_size": "1", "cursor": body["next_cursor"]})
    assert len(seen) == len(set(seen)) == body["total"] == 3


async def test_a_refused_cursor_is_logged_as_tampering_with_the_caller_and_never_the_secret(
    office: SigningService, gateway: AttackedGateway,
) -> None:
    forged = await first_cursor(office, dossier_id="D2")
    with structlog.testing.capture_logs() as logged:
        answer = await gateway.http.get(
            API, params={"dossier_id": "D1", "cursor": forged},
            headers=gateway.bearer(user_id="u-mallory", role=Role.AGENT, dossiers=()))
    assert answer.status_code == 422
    [warning] = [entry for entry in logged if entry.get("alert") == "cursor_tampering"]
    assert (warning["user_id"], warning["role"], warning["list"]) == (
        "u-mallory", "agent", LIST_NAME)
    assert not any(SECRET in str(entry) or forged in str(entry) for entry in logged)
