"""Self-registration with the broker's approval (manual 1.1) and staff actions on accounts."""

from datetime import date, timedelta
from typing import Any

import pytest

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound, Unauthenticated
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.domain import AWAITS_BROKER, WRONG_CREDENTIALS
from services.auth.main import AuthService
from services.auth.registration.store import REGISTRATIONS
from tests.service.conftest import call_in_memory
from tests.service.test_auth import ADMIN, AGENT, PASSWORD, activate, claims_of, invite

EMAIL = "lotte.maes@example.be"
ORIGIN = auth.StaffOrigin(client_ip="192.0.2.10", user_agent="Firefox/140")


async def call(service: AuthService, method: Any, request: Any) -> Any:
    return await call_in_memory(service.runtime.broker, method, request)


def form(**changes: Any) -> auth.RegisterRequest:
    values: dict[str, Any] = {
        "last_name": "Maes", "first_name": "Lotte", "birth_date": date(1985, 7, 30),
        "email": EMAIL, "phone": "+32 470 12 34 56", "national_number": "85.07.30-033.28",
        "message": "Ik heb een autopolis bij jullie.", "language": "nl"}
    values.update(changes)
    return auth.RegisterRequest(**values)


async def register(service: AuthService, **changes: Any) -> None:
    await call(service, auth.REGISTER, form(**changes))
    await service.background.settle()


async def confirmation_links(service: AuthService) -> list[auth.RegistrationConfirmationRequested]:
    events = []
    async for doc in service.runtime.database[REGISTRATIONS].find({}):
        for entry in (doc.get(OUTBOX_FIELD) or {}).values():
            if entry["routing_key"] == auth.RegistrationConfirmationRequested.routing_key:
                events.append(auth.RegistrationConfirmationRequested.model_validate(
                    entry["payload"]))
    return events


async def decisions(service: AuthService) -> list[auth.RegistrationDecided]:
    events = []
    async for doc in service.runtime.database[REGISTRATIONS].find({}):
        for entry in (doc.get(OUTBOX_FIELD) or {}).values():
            if entry["routing_key"] == auth.RegistrationDecided.routing_key:
                events.append(auth.RegistrationDecided.model_validate(entry["payload"]))
    return events


async def log_in(service: AuthService, password: str = PASSWORD) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.LOG_IN,
                                auth.LoginRequest(email=EMAIL, password=password))


async def registered_and_confirmed(service: AuthService) -> auth.RegistrationPublic:
    """A registration confirmed by the client, waiting for the broker."""
    await register(service)
    [link] = await confirmation_links(service)
    await call(service, auth.CONFIRM_REGISTRATION, auth.ConfirmRegistrationRequest(
        token=link.confirmation_token, password=PASSWORD))
    [pending] = (await call(service, auth.LIST_REGISTRATIONS, auth.ListRegistrationsRequest(
        caller=AGENT))).registrations
    return pending  # type: ignore[no-any-return]


# --- the client's side ------------------------------------------------------------------------

async def test_a_registration_mails_a_confirmation_link_and_waits_for_it(
    service: AuthService,
) -> None:
    await register(service)
    [link] = await confirmation_links(service)
    assert (link.email, link.display_name, link.language) == (EMAIL, "Lotte Maes", "nl")
    preview = await call(service, auth.LOOK_UP_REGISTRATION,
                         auth.RegistrationLookupRequest(token=link.confirmation_token))
    assert (preview.email, preview.display_name) == (EMAIL, "Lotte Maes")
    waiting = await call(service, auth.LIST_REGISTRATIONS, auth.ListRegistrationsRequest(
        caller=AGENT, status="awaiting_confirmation"))
    assert [r.email for r in waiting.registrations] == [EMAIL]


async def test_a_wrong_national_number_is_refused_with_the_field(service: AuthService) -> None:
    with pytest.raises(Invalid) as refused:
        await register(service, national_number="85.07.30-033.29")
    assert refused.value.fields == {
        "national_number": "This is not a valid Belgian national register number."}


async def test_a_national_number_of_another_birth_date_is_refused(service: AuthService) -> None:
    with pytest.raises(Invalid) as refused:
        await register(service, birth_date=date(1985, 7, 31))
    assert "does not match the birth date" in (refused.value.fields or {})["national_number"]


async def test_the_national_number_is_optional(service: AuthService) -> None:
    await register(service, national_number=None)
    assert len(await confirmation_links(service)) == 1


async def test_registering_an_address_that_has_an_account_answers_alike_and_mails_nothing(
    service: AuthService,
) -> None:
    _, token = await invite(service, email=EMAIL)
    await activate(service, token)
    await register(service)  # no error: the same answer as for a new address
    assert await confirmation_links(service) == []


async def test_a_confirmed_registration_awaits_the_broker_and_only_the_password_holder_hears_it(
    service: AuthService,
) -> None:
    pending = await registered_and_confirmed(service)
    assert (pending.status, pending.email, pending.national_number) == (
        "pending", EMAIL, "85.07.30-033.28")
    doc = await service.runtime.database[REGISTRATIONS].find_one(
        {"_id": pending.registration_id})
    assert doc is not None
    told = [entry["payload"] for entry in (doc.get(OUTBOX_FIELD) or {}).values()
            if entry["routing_key"] == auth.RegistrationPending.routing_key]
    assert len(told) == 1  # in the same write as the status: the office is told
    assert (told[0]["email"], told[0]["user_id"]) == (EMAIL, pending.user_id)
    with pytest.raises(Forbidden, match=AWAITS_BROKER):
        await log_in(service)
    with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
        await log_in(service, "a wrong password here")


async def test_a_confirmation_link_works_once(service: AuthService) -> None:
    await registered_and_confirmed(service)
    [link] = await confirmation_links(service)
    with pytest.raises(Gone):
        await call(service, auth.CONFIRM_REGISTRATION, auth.ConfirmRegistrationRequest(
            token=link.confirmation_token, password=PASSWORD))


async def test_an_expired_confirmation_link_is_gone(service: AuthService) -> None:
    await register(service)
    [link] = await confirmation_links(service)
    await service.runtime.database[REGISTRATIONS].update_one(
        {"_id": link.registration_id},
        {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})
    with pytest.raises(Gone):
        await call(service, auth.LOOK_UP_REGISTRATION,
                   auth.RegistrationLookupRequest(token=link.confirmation_token))


async def test_an_unknown_confirmation_link_is_not_found(service: AuthService) -> None:
    with pytest.raises(NotFound):
        await call(service, auth.LOOK_UP_REGISTRATION,
                   auth.RegistrationLookupRequest(token="nothing"))


# --- the broker's decision --------------------------------------------------------------------

async def test_approval_links_dossiers_mails_the_client_and_opens_the_login(
    service: AuthService,
) -> None:
    pending = await registered_and_confirmed(service)
    approved = await call(service, auth.APPROVE_REGISTRATION, auth.ApproveRegistrationRequest(
        caller=AGENT, registration_id=pending.registration_id, dossier_ids=["D1", "D2"],
        origin=ORIGIN))
    assert (approved.status, approved.dossier_ids, approved.decided_by) == (
        "approved", ["D1", "D2"], AGENT.user_id)
    [decision] = await decisions(service)
    assert (decision.approved, decision.email, decision.user_id) == (True, EMAIL, pending.user_id)
    claims = claims_of(service, await log_in(service))
    assert claims.dossiers == ["D1", "D2"]


async def test_refusal_mails_the_reason_and_the_login_stays_closed(service: AuthService) -> None:
    pending = await registered_and_confirmed(service)
    refused = await call(service, auth.REFUSE_REGISTRATION, auth.RefuseRegistrationRequest(
        caller=AGENT, registration_id=pending.registration_id,
        reason="Wij kennen u niet als klant.", origin=ORIGIN))
    assert (refused.status, refused.refusal_reason) == ("refused", "Wij kennen u niet als klant.")
    [decision] = await decisions(service)
    assert (decision.approved, decision.reason) == (False, "Wij kennen u niet als klant.")
    with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
        await log_in(service)


async def test_a_registration_is_decided_once(service: AuthService) -> None:
    pending = await registered_and_confirmed(service)
    request = auth.ApproveRegistrationRequest(
        caller=AGENT, registration_id=pending.registration_id, dossier_ids=["D1"])
    await call(service, auth.APPROVE_REGISTRATION, request)
    with pytest.raises(Conflict):
        await call(service, auth.REFUSE_REGISTRATION, auth.RefuseRegistrationRequest(
            caller=AGENT, registration_id=pending.registration_id, reason="Te laat."))


async def test_a_client_cannot_list_or_approve_registrations(service: AuthService) -> None:
    client = Caller(user_id="c1", role=Role.CLIENT, dossier_ids=["D1"])
    with pytest.raises(Forbidden):
        await call(service, auth.LIST_REGISTRATIONS, auth.ListRegistrationsRequest(caller=client))


# --- accounts and the audit log ---------------------------------------------------------------

async def test_disabling_an_account_ends_its_sessions_and_its_login(service: AuthService) -> None:
    invitation, token = await invite(service, email=EMAIL)
    session = await activate(service, token)
    disabled = await call(service, auth.DISABLE_USER, auth.AccountActionRequest(
        caller=AGENT, user_id=invitation.user_id, origin=ORIGIN))
    assert disabled.status == "disabled"
    with pytest.raises(Unauthenticated):
        await call(service, auth.REFRESH, auth.RefreshRequest(
            refresh_token=session.refresh_token))
    with pytest.raises(Unauthenticated):
        await log_in(service)


async def test_an_agent_cannot_disable_staff(service: AuthService) -> None:
    staff = await call(service, auth.CREATE_STAFF, auth.CreateStaffRequest(
        caller=ADMIN, email="els@office.be", display_name="Els", role=Role.AGENT,
        password=PASSWORD))
    with pytest.raises(Forbidden):
        await call(service, auth.DISABLE_USER, auth.AccountActionRequest(
            caller=AGENT, user_id=staff.user_id))


async def test_resending_an_invitation_makes_a_new_link_and_ends_the_old_one(
    service: AuthService,
) -> None:
    invitation, old_token = await invite(service, email=EMAIL)
    resent = await call(service, auth.RESEND_INVITATION, auth.AccountActionRequest(
        caller=AGENT, user_id=invitation.user_id))
    assert resent.invitation_id != invitation.invitation_id
    with pytest.raises(Gone):
        await activate(service, old_token)


async def test_a_revoked_invitation_link_no_longer_works(service: AuthService) -> None:
    invitation, token = await invite(service, email=EMAIL)
    await call(service, auth.REVOKE_INVITATION, auth.AccountActionRequest(
        caller=AGENT, user_id=invitation.user_id))
    with pytest.raises(Gone):
        await activate(service, token)


async def test_every_staff_action_is_in_the_audit_log_with_who_when_and_where(
    service: AuthService,
) -> None:
    pending = await registered_and_confirmed(service)
    await call(service, auth.APPROVE_REGISTRATION, auth.ApproveRegistrationRequest(
        caller=AGENT, registration_id=pending.registration_id, dossier_ids=["D1"],
        origin=ORIGIN))
    await call(service, auth.DISABLE_USER, auth.AccountActionRequest(
        caller=AGENT, user_id=pending.user_id or "", origin=ORIGIN))
    log = await call(service, auth.LIST_AUDIT, auth.AuditQuery(caller=ADMIN))
    newest, older = log.entries[:2]
    assert (newest.action, newest.target, newest.actor_id) == (
        "account.disable", pending.user_id, AGENT.user_id)
    assert (older.action, older.target, older.details["dossier_ids"]) == (
        "registration.approve", pending.registration_id, "D1")
    assert (older.client_ip, older.user_agent) == ("192.0.2.10", "Firefox/140")
    assert utc_now() - older.at < timedelta(minutes=1)


async def test_only_the_office_admin_reads_the_audit_log(service: AuthService) -> None:
    with pytest.raises(Forbidden):
        await call(service, auth.LIST_AUDIT, auth.AuditQuery(caller=AGENT))


async def test_an_address_gets_at_most_three_registration_mails_an_hour(
    service: AuthService,
) -> None:
    for _ in range(4):
        await register(service)  # every request is answered alike
    assert len(await confirmation_links(service)) == 3
    await register(service, email="someone.else@example.be")  # another address is not held up
    assert len(await confirmation_links(service)) == 4
