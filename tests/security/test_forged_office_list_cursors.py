"""Staff send forged `after` cursors to the office's lists (every account, every invitation):
the admin API and the office pages, on the real auth service behind the gateway app.

`after` becomes a bound of the query (`email > after`, `list_key < after`), so it is signed by
auth for its list and filters: a raw address or key (the former cursor), a cursor of other
filters or of the other list, one signed with another key or edited, or garbage is refused -
API: 422 problem+json; page: the first page with the "outdated link" notice. An agent never
gets a staff account, whatever the cursor.
"""

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from libs.contracts import account_lists as lists
from libs.contracts.caller import Role
from libs.servicekit.cursor_signing import CursorSigner
from services.auth.main import AuthService
from tests.security.conftest import AttackedGateway, gateway_on
from tests.service.conftest import call_in_memory, service
from tests.service.test_auth import ADMIN
from tests.service.test_auth_account_lists import an_office

__all__ = ["service"]
STAFF = ("els.agent@office.be", "bart.admin@office.be")
NOTICE = "Die paginalink is niet meer geldig"
MADE_FOR = {"accounts of clients": {"role": "client"},
            "invited accounts with peeters": {"status": "invited", "contains": "peeters"}}


@pytest.fixture
async def office(service: AuthService, tmp_path: Path) -> AsyncIterator[AttackedGateway]:
    """23 clients, an agent and an admin; the gateway on the real auth service."""
    await an_office(service)
    async with gateway_on(service.runtime.broker, "auth", tmp_path) as attacked:
        yield attacked


async def own_cursors(service: AuthService) -> dict[str, str]:
    """Real cursors auth made, each for another list or filters than the one attacked."""
    broker = service.runtime.broker
    clients = await call_in_memory(broker, lists.LIST_ACCOUNTS, lists.ListAccountsRequest(
        caller=ADMIN, role="client", limit=2))
    active = await call_in_memory(broker, lists.LIST_ACCOUNTS, lists.ListAccountsRequest(
        caller=ADMIN, status="invited", contains="peeters", limit=2))
    pending = await call_in_memory(broker, lists.LIST_INVITATIONS, lists.ListInvitationsRequest(
        caller=ADMIN, state="pending", limit=2))
    assert clients.next_after and active.next_after and pending.next_after
    return {"accounts of clients": clients.next_after,
            "invited accounts with peeters": active.next_after,
            "pending invitations": pending.next_after}


def forged(real: dict[str, str]) -> dict[str, str]:
    """Every `after` an attacker can write, by what it is."""
    body, _, tag = real["accounts of clients"].partition(".")
    elsewhere = CursorSigner(b"an attacker's own key, 32 bytes!")
    edited = base64.urlsafe_b64encode(b"a").decode().rstrip("=")
    return {
        **real,
        "raw address (the former cursor)": "client00.peeters@example.be",
        "raw bound before every address": "\x00", "raw bound 'a'": "a",
        "raw invitation key": "99991231T000000.000000|x",
        "signed with another key": elsewhere.sign(b"a", "accounts", "", "", ""),
        "signed with another key for invitations": elsewhere.sign(
            b"99991231T000000.000000|x", "invitations", ""),
        "edited body, real tag": f"{edited}.{tag}", "tag only": f".{tag}",
        "body only": body, "garbage": "not-a-cursor", "dots": "...",
        "long": "A" * lists.MAX_CURSOR,
    }


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
async def test_a_forged_cursor_of_the_account_list_is_a_422_and_shows_no_staff_to_an_agent(
    service: AuthService, office: AttackedGateway, role: Role,
) -> None:
    staff = office.bearer(role=role, dossiers=())
    for what, after in forged(await own_cursors(service)).items():
        for filters in ({}, {"role": "client"}, {"status": "invited", "contains": "peeters"}):
            if MADE_FOR.get(what) == filters:
                continue  # the list it was made for: not forged there
            answer = await office.http.get("/admin/api/v1/accounts", headers=staff,
                                           params={**filters, "after": after, "limit": "200"})
            assert answer.status_code == 422, (what, filters, answer.text[:300])
            assert answer.headers["content-type"] == "application/problem+json"
            assert not any(email in answer.text for email in STAFF), what


async def test_a_forged_cursor_of_the_invitation_list_is_a_422(
    service: AuthService, office: AttackedGateway,
) -> None:
    staff = office.bearer(role=Role.AGENT, dossiers=())
    for what, after in forged(await own_cursors(service)).items():
        for state in ("", "used", "expired"):
            answer = await office.http.get("/admin/api/v1/invitations", headers=staff,
                                           params={"state": state, "after": after} if state
                                           else {"after": after})
            assert answer.status_code == 422, (what, state, answer.text[:300])
            assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/admin/account-list", "/admin/invitations"])
async def test_a_forged_cursor_in_an_office_page_link_shows_the_first_page_with_a_notice(
    service: AuthService, office: AttackedGateway, path: str,
) -> None:
    browser = office.browser(role=Role.AGENT, dossiers=())
    first = await office.http.get(path, headers=browser)
    assert first.status_code == 200 and NOTICE not in first.text
    for what, after in forged(await own_cursors(service)).items():
        shown = await office.http.get(path, headers=browser, params={"after": after})
        assert shown.status_code == 200, (what, shown.text[:300])
        assert NOTICE in shown.text, what
        assert not any(email in shown.text for email in STAFF), what
        assert "client00.peeters@example.be" in shown.text or path.endswith("invitations")


async def test_walking_the_lists_by_their_own_cursors_shows_every_row_once(
    service: AuthService, office: AttackedGateway,
) -> None:
    agent = office.bearer(role=Role.AGENT, dossiers=())
    seen: list[str] = []
    params: dict[str, Any] = {"limit": "4"}
    while True:
        page = await office.http.get("/admin/api/v1/accounts", headers=agent, params=params)
        assert page.status_code == 200, page.text
        seen += [account["email"] for account in page.json()["accounts"]]
        if page.json()["next_after"] is None:
            break
        params["after"] = page.json()["next_after"]
    assert len(seen) == len(set(seen)) == 23 and not set(seen) & set(STAFF)
    invitations: list[str] = []
    params = {"limit": "5"}
    while True:
        page = await office.http.get("/admin/api/v1/invitations", headers=agent, params=params)
        assert page.status_code == 200, page.text
        invitations += [row["invitation_id"] for row in page.json()["invitations"]]
        if page.json()["next_after"] is None:
            break
        params["after"] = page.json()["next_after"]
    assert len(invitations) == len(set(invitations)) == 23


async def test_a_refused_cursor_of_an_office_list_is_logged_as_tampering(
    service: AuthService, office: AttackedGateway,
) -> None:
    with structlog.testing.capture_logs() as logged:
        answer = await office.http.get(
            "/admin/api/v1/accounts", params={"after": "a"},
            headers=office.bearer(user_id="u-mallory", role=Role.AGENT, dossiers=()))
    assert answer.status_code == 422
    [warning] = [entry for entry in logged if entry.get("alert") == "cursor_tampering"]
    assert (warning["log_level"], warning["user_id"], warning["role"], warning["list"]) == (
        "warning", "u-mallory", "agent", "accounts")
