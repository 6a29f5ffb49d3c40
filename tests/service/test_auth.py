"""Getting access (manual 1.1): invitation, activation, login; staff accounts and dossier grants."""

from datetime import timedelta
from typing import Any

import jwt
import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound, Unauthenticated
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.accounts.store import INVITATIONS, USERS
from services.auth.domain import WRONG_CREDENTIALS, hash_token
from services.auth.main import AuthService, build
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn

AGENT = Caller(user_id="agent-1", role=Role.AGENT)
ADMIN = Caller(user_id="admin-1", role=Role.ADMIN)
PASSWORD = "correct horse battery staple"


def claims_of(service: AuthService, pair: auth.TokenPair) -> auth.AccessClaims:
    """The access token as a gateway reads it: verified with the public key."""
    decoded = jwt.decode(pair.access_token, service.signer.public_key_pem, algorithms=["EdDSA"],
                         audience=auth.ACCESS_TOKEN_AUDIENCE, issuer=auth.ACCESS_TOKEN_ISSUER)
    return auth.AccessClaims.model_validate(decoded)


async def invite(service: AuthService, email: str = "jan.peeters@example.be",
                 dossier_ids: tuple[str, ...] = ("D1",)) -> tuple[auth.InvitationPublic, str]:
    """Staff invite a client; returns the invitation and the token the e-mail link carries."""
    request = auth.InviteClientRequest(caller=AGENT, email=email, display_name="Jan Peeters",
                                       language="nl", dossier_ids=list(dossier_ids))
    invitation = await call_in_memory(service.runtime.broker, auth.INVITE_CLIENT, request)
    doc = await service.runtime.database[INVITATIONS].find_one({"_id": invitation.invitation_id})
    assert doc is not None
    [entry] = doc[OUTBOX_FIELD].values()
    assert entry["routing_key"] == auth.InvitationCreated.routing_key
    return invitation, auth.InvitationCreated.model_validate(entry["payload"]).activation_token


async def activate(service: AuthService, token: str, password: str = PASSWORD) -> auth.TokenPair:
    request = auth.ActivateRequest(token=token, password=password)
    return await call_in_memory(service.runtime.broker, auth.ACTIVATE, request)


async def log_in(service: AuthService, email: str, password: str = PASSWORD) -> auth.TokenPair:
    request = auth.LoginRequest(email=email, password=password)
    return await call_in_memory(service.runtime.broker, auth.LOG_IN, request)


async def look_up(service: AuthService, token: str) -> auth.InvitationPreview:
    request = auth.InvitationLookupRequest(token=token)
    return await call_in_memory(service.runtime.broker, auth.LOOK_UP_INVITATION, request)


# --- invitation and activation ----------------------------------------------------------------

async def test_an_invited_client_activates_through_the_link_and_can_log_in(
    service: AuthService,
) -> None:
    invitation, token = await invite(service, email="Jan.Peeters@Example.be")
    assert invitation.email == "jan.peeters@example.be"
    assert invitation.expires_at - utc_now() > timedelta(days=6, hours=23)

    preview = await look_up(service, token)
    assert (preview.email, preview.display_name, preview.language) == (
        "jan.peeters@example.be", "Jan Peeters", "nl")

    pair = await activate(service, token)
    claims = claims_of(service, pair)
    assert (claims.sub, claims.role, claims.dossiers) == (invitation.user_id, Role.CLIENT, ["D1"])
    assert pair.expires_in == claims.exp - claims.iat == 300

    again = await log_in(service, "jan.peeters@example.be")
    assert claims_of(service, again).sub == invitation.user_id


async def test_the_activation_token_is_stored_only_as_its_hash(service: AuthService) -> None:
    invitation, token = await invite(service)
    doc = await service.runtime.database[INVITATIONS].find_one({"_id": invitation.invitation_id})
    assert doc is not None
    assert doc["token_hash"] == hash_token(token)
    assert token not in repr({k: v for k, v in doc.items() if k != OUTBOX_FIELD})


async def test_an_unknown_activation_link_is_not_found(service: AuthService) -> None:
    with pytest.raises(NotFound):
        await look_up(service, "no-such-token")


async def test_an_expired_invitation_is_gone(service: AuthService) -> None:
    invitation, token = await invite(service)
    await service.runtime.database[INVITATIONS].update_one(
        {"_id": invitation.invitation_id},
        {"$set": {"expires_at": utc_now() - timedelta(minutes=1)}})
    with pytest.raises(Gone):
        await look_up(service, token)
    with pytest.raises(Gone):
        await activate(service, token)


async def test_an_invitation_works_only_once(service: AuthService) -> None:
    _, token = await invite(service)
    await activate(service, token)
    with pytest.raises(Gone):
        await look_up(service, token)
    with pytest.raises(Gone):
        await activate(service, token, password="another long password")


async def test_a_too_short_password_is_refused_and_the_link_still_works(
    service: AuthService,
) -> None:
    _, token = await invite(service)
    with pytest.raises(Invalid) as refused:
        await activate(service, token, password="short")
    assert refused.value.fields == {"password": "The password must have at least 12 characters."}
    assert (await look_up(service, token)).email == "jan.peeters@example.be"


async def test_inviting_again_keeps_the_account_and_only_the_newest_link_works(
    service: AuthService,
) -> None:
    first, old_token = await invite(service, dossier_ids=("D1",))
    second, new_token = await invite(service, dossier_ids=("D2",))
    assert second.user_id == first.user_id
    with pytest.raises(Gone):
        await look_up(service, old_token)
    pair = await activate(service, new_token)
    assert claims_of(service, pair).dossiers == ["D1", "D2"]


async def test_inviting_the_address_of_an_active_account_is_a_conflict(
    service: AuthService,
) -> None:
    _, token = await invite(service)
    await activate(service, token)
    with pytest.raises(Conflict):
        await invite(service, email="JAN.PEETERS@example.be")


async def test_a_client_cannot_invite(service: AuthService) -> None:
    client = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1"])
    request = auth.InviteClientRequest(caller=client, email="x@example.be", display_name="X")
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, auth.INVITE_CLIENT, request)


# --- login ------------------------------------------------------------------------------------

async def test_a_wrong_password_and_an_unknown_email_give_the_same_error(
    service: AuthService,
) -> None:
    _, token = await invite(service)
    await activate(service, token)
    with pytest.raises(Unauthenticated) as wrong_password:
        await log_in(service, "jan.peeters@example.be", "not the right password")
    with pytest.raises(Unauthenticated) as unknown_email:
        await log_in(service, "nobody@example.be")
    assert wrong_password.value.detail == unknown_email.value.detail == (
        "E-mail address or password is wrong.")


async def test_an_invited_client_cannot_log_in_before_activation(service: AuthService) -> None:
    await invite(service)
    with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
        await log_in(service, "jan.peeters@example.be")


async def test_a_disabled_account_cannot_log_in_even_with_its_password(
    service: AuthService,
) -> None:
    invitation, token = await invite(service)
    await activate(service, token)
    await service.runtime.database[USERS].update_one(
        {"_id": invitation.user_id}, {"$set": {"status": "disabled"}})
    with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
        await log_in(service, "jan.peeters@example.be")


# --- staff accounts and the first admin -------------------------------------------------------

async def test_the_office_admin_adds_an_agent_who_can_log_in(service: AuthService) -> None:
    request = auth.CreateStaffRequest(caller=ADMIN, email="Els@Office.be", display_name="Els",
                                      role=Role.AGENT, password=PASSWORD)
    agent = await call_in_memory(service.runtime.broker, auth.CREATE_STAFF, request)
    assert (agent.email, agent.role, agent.status) == ("els@office.be", Role.AGENT, "active")
    claims = claims_of(service, await log_in(service, "els@office.be"))
    assert claims.role == Role.AGENT
    with pytest.raises(Conflict):
        await call_in_memory(service.runtime.broker, auth.CREATE_STAFF, request)


async def test_an_agent_cannot_add_staff(service: AuthService) -> None:
    request = auth.CreateStaffRequest(caller=AGENT, email="new@office.be", display_name="New",
                                      role=Role.ADMIN, password=PASSWORD)
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, auth.CREATE_STAFF, request)


async def test_the_first_admin_is_created_once_at_start(
    mongo_url: str, database_name: str
) -> None:
    first = build(settings(mongo_url, database_name, bootstrap_admin_email="Admin@Office.be",
                           bootstrap_admin_password=PASSWORD), rpc=DossierStandIn())
    await first.prepare_database()
    await first.prepare_database()
    restarted = build(settings(mongo_url, database_name,
                               bootstrap_admin_email="other-admin@office.be",
                               bootstrap_admin_password=PASSWORD), rpc=DossierStandIn())
    await restarted.prepare_database()
    admins = await first.runtime.database[USERS].find({"role": "admin"}).to_list()
    assert [admin["email"] for admin in admins] == ["admin@office.be"]
    async with TestRabbitBroker(first.runtime.broker):
        assert claims_of(first, await log_in(first, "admin@office.be")).role == Role.ADMIN
    await first.runtime.database.client.drop_database(database_name)


# --- dossier grants and user look-up ----------------------------------------------------------

async def grant(service: AuthService, method: Any, caller: Caller, user_id: str,
                dossier_id: str) -> auth.UserPublic:
    request = auth.GrantRequest(caller=caller, user_id=user_id, dossier_id=dossier_id)
    reply: auth.UserPublic = await call_in_memory(service.runtime.broker, method, request)
    return reply


async def test_staff_grant_and_revoke_dossiers_of_a_client(service: AuthService) -> None:
    invitation, _ = await invite(service, dossier_ids=("D1",))
    user = await grant(service, auth.GRANT_DOSSIER, AGENT, invitation.user_id, "D2")
    assert user.dossier_ids == ["D1", "D2"]
    user = await grant(service, auth.GRANT_DOSSIER, AGENT, invitation.user_id, "D2")
    assert user.dossier_ids == ["D1", "D2"]
    user = await grant(service, auth.REVOKE_DOSSIER, AGENT, invitation.user_id, "D1")
    assert user.dossier_ids == ["D2"]


async def test_a_client_cannot_grant_a_dossier(service: AuthService) -> None:
    invitation, _ = await invite(service, dossier_ids=("D1",))
    client = Caller(user_id=invitation.user_id, role=Role.CLIENT, dossier_ids=["D1"])
    with pytest.raises(Forbidden):
        await grant(service, auth.GRANT_DOSSIER, client, invitation.user_id, "D9")


async def test_granting_to_an_unknown_user_is_not_found(service: AuthService) -> None:
    with pytest.raises(NotFound):
        await grant(service, auth.GRANT_DOSSIER, AGENT, "no-such-user", "D1")


async def test_a_client_sees_their_own_account_but_not_another_one(
    service: AuthService,
) -> None:
    jan, _ = await invite(service, email="jan@example.be")
    els, _ = await invite(service, email="els@example.be")
    client = Caller(user_id=jan.user_id, role=Role.CLIENT, dossier_ids=["D1"])
    own = await call_in_memory(service.runtime.broker, auth.GET_USER,
                               auth.UserLookupRequest(caller=client, user_id=jan.user_id))
    assert (own.email, own.status, own.dossier_ids) == ("jan@example.be", "invited", ["D1"])
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, auth.GET_USER,
                             auth.UserLookupRequest(caller=client, user_id=els.user_id))
    seen_by_staff = await call_in_memory(service.runtime.broker, auth.GET_USER,
                                         auth.UserLookupRequest(caller=AGENT, user_id=els.user_id))
    assert seen_by_staff.email == "els@example.be"


async def test_staff_find_an_account_by_its_e_mail_address_and_clients_cannot(
    service: AuthService,
) -> None:
    jan, _ = await invite(service, email="jan@example.be")
    found = await call_in_memory(service.runtime.broker, auth.FIND_USER, auth.FindUserRequest(
        caller=AGENT, email="Jan@Example.be"))
    assert (found.user_id, found.status) == (jan.user_id, "invited")
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, auth.FIND_USER, auth.FindUserRequest(
            caller=AGENT, email="nobody@example.be"))
    client = Caller(user_id=jan.user_id, role=Role.CLIENT, dossier_ids=["D1"])
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, auth.FIND_USER, auth.FindUserRequest(
            caller=client, email="jan@example.be"))
