"""The audit log as the office admin reads it: names not ids, by kind or staff member, paged."""

from typing import Any

import pytest
from pydantic import ValidationError

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Forbidden
from services.auth.main import AuthService
from tests.service.conftest import call_in_memory
from tests.service.test_auth import ADMIN, PASSWORD

ORIGIN = auth.StaffOrigin(client_ip="192.0.2.10", user_agent="Firefox/140")


async def call(service: AuthService, method: Any, request: Any) -> Any:
    return await call_in_memory(service.runtime.broker, method, request)


async def staff_member(service: AuthService, name: str) -> Caller:
    account = await call(service, auth.CREATE_STAFF, auth.CreateStaffRequest(
        caller=ADMIN, email=f"{name.split()[0].lower()}@mybroker.example", display_name=name,
        role=Role.AGENT, password=PASSWORD, origin=ORIGIN))
    return Caller(user_id=account.user_id, role=Role.AGENT)


async def an_office_at_work(service: AuthService) -> tuple[Caller, Caller, str]:
    """Els invites Jan, Bob revokes the invitation then disables Jan: eight entries."""
    els, bob = await staff_member(service, "Els Janssens"), await staff_member(service, "Bob Wuyts")
    jan = await call(service, auth.INVITE_CLIENT, auth.InviteClientRequest(
        caller=els, email="jan@example.be", display_name="Jan Peeters", language="nl",
        dossier_ids=["D1"], origin=ORIGIN))
    for _ in range(3):
        await call(service, auth.RESEND_INVITATION, auth.AccountActionRequest(
            caller=els, user_id=jan.user_id, origin=ORIGIN))
    await call(service, auth.REVOKE_INVITATION, auth.AccountActionRequest(
        caller=bob, user_id=jan.user_id, origin=ORIGIN))
    await call(service, auth.DISABLE_USER, auth.AccountActionRequest(
        caller=bob, user_id=jan.user_id, origin=ORIGIN))
    return els, bob, jan.user_id


async def audit(service: AuthService, **query: Any) -> auth.AuditLog:
    log: auth.AuditLog = await call(service, auth.LIST_AUDIT, auth.AuditQuery(
        caller=ADMIN, **query))
    return log


async def test_the_log_names_the_staff_member_and_the_account_instead_of_their_ids(
    service: AuthService,
) -> None:
    await an_office_at_work(service)
    log = await audit(service)
    said = [(entry.actor_name, entry.action, entry.target_name) for entry in log.entries]
    assert said[0] == ("Bob Wuyts", "account.disable", "Jan Peeters")
    assert said[1] == ("Bob Wuyts", "invitation.revoke", "Jan Peeters")
    assert ("Els Janssens", "invitation.create", "Jan Peeters") in said
    assert (None, "staff.create", "Els Janssens") in said  # the admin here has no stored account
    assert [member.display_name for member in log.staff] == ["Bob Wuyts", "Els Janssens"]


async def test_the_log_filters_by_kind_of_action_and_by_staff_member(
    service: AuthService,
) -> None:
    _, bob, _ = await an_office_at_work(service)
    invitations = await audit(service, action_kind="invitation")
    assert [entry.action for entry in invitations.entries] == [
        "invitation.revoke", *["invitation.resend"] * 3, "invitation.create"]
    by_bob = await audit(service, actor_id=bob.user_id)
    assert [entry.action for entry in by_bob.entries] == ["account.disable", "invitation.revoke"]
    assert {entry.actor_id for entry in by_bob.entries} == {bob.user_id}


async def test_walking_the_pages_shows_every_entry_once_in_order(service: AuthService) -> None:
    await an_office_at_work(service)
    everything = [entry.entry_id for entry in (await audit(service)).entries]
    walked: list[str] = []
    before = None
    while True:
        page = await audit(service, limit=2, before=before)
        walked += [entry.entry_id for entry in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert len(everything) == 8
    assert walked == everything


async def test_a_page_boundary_that_is_not_one_is_refused() -> None:
    for before in ("k", "2026-12-05T10:00:00+00:00/$where", "2026-12-05/" + "a" * 32,
                   "3336-06-26T26:89:46+00:00/" + "a" * 32,
                   "2026-12-05T10:00:00+00:00/" + "a" * 32 + "\x00"):
        with pytest.raises(ValidationError):
            auth.AuditQuery(caller=ADMIN, before=before)


async def test_only_the_office_admin_reads_the_log(service: AuthService) -> None:
    with pytest.raises(Forbidden):
        await call(service, auth.LIST_AUDIT, auth.AuditQuery(
            caller=Caller(user_id="a" * 32, role=Role.AGENT)))


async def test_resending_an_invitation_is_one_entry_not_a_second_invitation(
    service: AuthService,
) -> None:
    await an_office_at_work(service)
    actions = [entry.action for entry in (await audit(service)).entries]
    assert actions.count("invitation.create") == 1 and actions.count("invitation.resend") == 3
    assert all(entry.client_ip == "192.0.2.10" for entry in (await audit(service)).entries)


async def test_every_staff_member_reads_the_names_of_the_active_staff_only(
    service: AuthService,
) -> None:
    els, bob, _ = await an_office_at_work(service)
    await staff_member(service, "Ann Gone")
    ann = (await call(service, auth.FIND_USER, auth.FindUserRequest(
        caller=ADMIN, email="ann@mybroker.example"))).user_id
    await call(service, auth.DISABLE_USER, auth.AccountActionRequest(
        caller=ADMIN, user_id=ann, origin=ORIGIN))
    directory = await call(service, auth.LIST_STAFF, auth.StaffDirectoryRequest(caller=els))
    assert [(m.user_id, m.display_name) for m in directory.staff] == [
        (bob.user_id, "Bob Wuyts"), (els.user_id, "Els Janssens")]


async def test_a_client_cannot_read_the_staff_directory(service: AuthService) -> None:
    with pytest.raises(Forbidden):
        await call(service, auth.LIST_STAFF, auth.StaffDirectoryRequest(
            caller=Caller(user_id="c" * 32, role=Role.CLIENT, dossier_ids=["D1"])))
