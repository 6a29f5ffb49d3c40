"""The office lists every account and every invitation (office pages, admin API): filtered,
sorted and read page by page against the real Mongo-wire server; agents see clients only."""

from datetime import timedelta
from typing import Any

import pytest

from libs.contracts import account_lists as lists
from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Forbidden
from services.auth.accounts.store import INVITATIONS, USERS
from services.auth.main import AuthService
from tests.service.conftest import call_in_memory
from tests.service.test_auth import ADMIN, AGENT, PASSWORD, activate, invite

CLIENT = Caller(user_id="client-1", role=Role.CLIENT, dossiers=["D1"])


async def accounts(service: AuthService, *, caller: Caller = ADMIN,
                   **filters: Any) -> lists.AccountPage:
    request = lists.ListAccountsRequest(caller=caller, **filters)
    return await call_in_memory(service.runtime.broker, lists.LIST_ACCOUNTS, request)


async def every_page(service: AuthService, limit: int, **filters: Any) -> list[list[str]]:
    """The e-mail addresses of each page, following the cursor to the end."""
    pages, after = [], ""
    while True:
        page = await accounts(service, limit=limit, after=after, **filters)
        pages.append([account.email for account in page.accounts])
        if page.next_after is None:
            return pages
        after = page.next_after


async def invitations(service: AuthService, **filters: Any) -> lists.InvitationPage:
    request = lists.ListInvitationsRequest(caller=AGENT, **filters)
    return await call_in_memory(service.runtime.broker, lists.LIST_INVITATIONS, request)


async def an_office(service: AuthService) -> dict[str, str]:
    """23 invited clients, two of them active, one pending, one disabled; an agent; an admin."""
    users: dict[str, str] = {}
    for number in range(23):
        email = f"client{number:02d}.{'peeters' if number % 4 == 0 else 'dupont'}@example.be"
        invitation, token = await invite(service, email=email)
        users[email] = invitation.user_id
        if number in (1, 2):
            await activate(service, token)
    await service.runtime.database[USERS].update_one(
        {"_id": users["client03.dupont@example.be"]}, {"$set": {"status": "pending"}})
    await call_in_memory(service.runtime.broker, auth.DISABLE_USER, auth.AccountActionRequest(
        caller=ADMIN, user_id=users["client05.dupont@example.be"]))
    for email, role in (("els.agent@office.be", Role.AGENT), ("bart.admin@office.be", Role.ADMIN)):
        staff = await call_in_memory(service.runtime.broker, auth.CREATE_STAFF,
                                     auth.CreateStaffRequest(caller=ADMIN, email=email,
                                                             display_name=email.split("@")[0],
                                                             role=role, password=PASSWORD))
        users[email] = staff.user_id
    return users


async def test_the_admin_reads_every_account_page_by_page_in_e_mail_order(
    service: AuthService,
) -> None:
    users = await an_office(service)
    pages = await every_page(service, limit=7)
    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert [email for page in pages for email in page] == sorted(users)


async def test_accounts_are_filtered_by_role_status_and_text(service: AuthService) -> None:
    await an_office(service)
    active = await accounts(service, role="client", status="active")
    assert [a.email for a in active.accounts] == ["client01.dupont@example.be",
                                                  "client02.dupont@example.be"]
    pending = await accounts(service, status="pending")
    assert [a.email for a in pending.accounts] == ["client03.dupont@example.be"]
    disabled = await accounts(service, status="disabled")
    assert [(a.email, a.status) for a in disabled.accounts] == [
        ("client05.dupont@example.be", "disabled")]
    staff = await accounts(service, role="staff")
    assert [(a.email, a.role) for a in staff.accounts] == [
        ("bart.admin@office.be", Role.ADMIN), ("els.agent@office.be", Role.AGENT)]
    peeters = await every_page(service, limit=2, contains="PEETERS@")  # any case, paged
    assert [email for page in peeters for email in page] == [
        f"client{n:02d}.peeters@example.be" for n in range(0, 23, 4)]
    by_name = await accounts(service, contains="bart.ad")  # names too; a dot is not a wildcard
    assert [a.email for a in by_name.accounts] == ["bart.admin@office.be"]
    assert (await accounts(service, contains="client0.")).accounts == []


async def test_an_agent_lists_client_accounts_only_and_a_client_nothing(
    service: AuthService,
) -> None:
    users = await an_office(service)
    pages = await every_page(service, limit=50, role=None)
    assert len(pages[0]) == len(users)  # the admin sees staff too
    agent_view = await accounts(service, caller=AGENT, limit=50)
    assert {a.role for a in agent_view.accounts} == {Role.CLIENT}
    assert len(agent_view.accounts) == 23
    with pytest.raises(Forbidden):
        await accounts(service, caller=AGENT, role="staff")
    with pytest.raises(Forbidden):
        await accounts(service, caller=CLIENT)


async def test_invitations_are_listed_newest_first_with_their_state(service: AuthService) -> None:
    first, _ = await invite(service, email="wout@example.be")
    used, token = await invite(service, email="lien@example.be")
    await activate(service, token)
    revoked, _ = await invite(service, email="joke@example.be")
    await call_in_memory(service.runtime.broker, auth.REVOKE_INVITATION,
                         auth.AccountActionRequest(caller=AGENT, user_id=revoked.user_id))
    resent, _ = await invite(service, email="wout@example.be")  # replaces the first link

    listed = await invitations(service)
    assert [(i.email, i.state) for i in listed.invitations] == [
        ("wout@example.be", "pending"), ("joke@example.be", "revoked"),
        ("lien@example.be", "used"), ("wout@example.be", "revoked")]
    assert [i.invitation_id for i in listed.invitations] == [
        resent.invitation_id, revoked.invitation_id, used.invitation_id, first.invitation_id]
    assert listed.invitations[2].used_at is not None
    assert listed.invitations[2].account_status == "active"
    assert listed.invitations[0].display_name == "Jan Peeters"

    for state, emails in (("pending", ["wout@example.be"]), ("used", ["lien@example.be"]),
                          ("revoked", ["joke@example.be", "wout@example.be"]), ("expired", [])):
        assert [i.email for i in (await invitations(service, state=state)).invitations] == emails

    # A week and a day later the open link has expired; the others keep their state.
    service.list_handlers._clock = lambda: utc_now() + timedelta(days=8)
    assert [i.email for i in (await invitations(service, state="expired")).invitations] == [
        "wout@example.be"]
    assert (await invitations(service, state="pending")).invitations == []


async def test_invitations_are_read_page_by_page(service: AuthService) -> None:
    for number in range(11):
        await invite(service, email=f"klant{number:02d}@example.be")
    seen, after = [], ""
    while True:
        page = await invitations(service, state="pending", limit=4, after=after)
        seen += [i.email for i in page.invitations]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [f"klant{number:02d}@example.be" for number in reversed(range(11))]


async def test_links_revoked_before_reasons_were_recorded_show_as_revoked(
    service: AuthService,
) -> None:
    # As the service stored them before `ended` existed: revoking moved `expires_at` to then.
    revoked, _ = await invite(service, email="griet@example.be")
    lapsed, _ = await invite(service, email="hanne@example.be")
    used, token = await invite(service, email="ilse@example.be")
    await activate(service, token)
    stored = service.runtime.database[INVITATIONS]
    for invitation in (revoked, lapsed, used):
        await stored.update_one({"_id": invitation.invitation_id}, {"$unset": {"ended": ""}})
    await stored.update_one({"_id": revoked.invitation_id},
                            {"$set": {"expires_at": utc_now() - timedelta(minutes=1)}})
    assert [i.state for i in (await invitations(service)).invitations][2] == "expired"

    await service.store.prepare_lists()  # what a starting auth service does

    listed = await invitations(service)
    assert [(i.email, i.state) for i in listed.invitations] == [
        ("ilse@example.be", "used"), ("hanne@example.be", "pending"),
        ("griet@example.be", "revoked")]
    assert [i.email for i in (await invitations(service, state="revoked")).invitations] == [
        "griet@example.be"]
    # A week and a day later the untouched link has expired, the revoked one is still revoked.
    service.list_handlers._clock = lambda: utc_now() + timedelta(days=8)
    assert [i.email for i in (await invitations(service, state="expired")).invitations] == [
        "hanne@example.be"]
    assert [i.email for i in (await invitations(service, state="revoked")).invitations] == [
        "griet@example.be"]
