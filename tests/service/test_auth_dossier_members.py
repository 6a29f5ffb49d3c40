"""Who hears news of a dossier: auth lists the active clients granted it (for the notifier)."""

import pytest

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Forbidden
from services.auth.main import AuthService
from tests.service.conftest import call_in_memory
from tests.service.test_auth import AGENT, activate, grant, invite


async def members(service: AuthService, dossier_id: str, caller: Caller = AGENT) -> list[str]:
    request = auth.DossierMembersRequest(caller=caller, dossier_id=dossier_id)
    reply = await call_in_memory(service.runtime.broker, auth.LIST_DOSSIER_MEMBERS, request)
    return [member.email for member in reply.members]


async def client(service: AuthService, email: str, *dossier_ids: str) -> str:
    invitation, token = await invite(service, email=email, dossier_ids=dossier_ids)
    await activate(service, token)
    return invitation.user_id


async def test_the_active_clients_granted_a_dossier_are_its_members(
    service: AuthService,
) -> None:
    await client(service, "an@example.be", "D1")
    await client(service, "luc@example.be", "D1", "D2")
    await client(service, "mia@example.be", "D2")
    await invite(service, email="els@example.be", dossier_ids=("D1",))  # not activated yet

    assert await members(service, "D1") == ["an@example.be", "luc@example.be"]
    assert await members(service, "D2") == ["luc@example.be", "mia@example.be"]
    assert await members(service, "D3") == []


async def test_members_carry_what_a_mail_needs(service: AuthService) -> None:
    user_id = await client(service, "an@example.be", "D1")
    request = auth.DossierMembersRequest(caller=AGENT, dossier_id="D1")
    reply = await call_in_memory(service.runtime.broker, auth.LIST_DOSSIER_MEMBERS, request)
    assert reply.members == [auth.DossierMember(
        user_id=user_id, email="an@example.be", display_name="Jan Peeters", language="nl")]


async def test_a_grant_or_revocation_changes_the_members_at_once(service: AuthService) -> None:
    an = await client(service, "an@example.be", "D1")
    mia = await client(service, "mia@example.be", "D2")
    await grant(service, auth.GRANT_DOSSIER, AGENT, mia, "D1")
    await grant(service, auth.REVOKE_DOSSIER, AGENT, an, "D1")
    assert await members(service, "D1") == ["mia@example.be"]


async def test_a_disabled_client_is_no_longer_a_member(service: AuthService) -> None:
    an = await client(service, "an@example.be", "D1")
    await client(service, "luc@example.be", "D1")
    request = auth.AccountActionRequest(caller=AGENT, user_id=an)
    await call_in_memory(service.runtime.broker, auth.DISABLE_USER, request)
    assert await members(service, "D1") == ["luc@example.be"]


async def test_a_client_cannot_list_the_members_of_a_dossier(service: AuthService) -> None:
    await client(service, "an@example.be", "D1")
    with pytest.raises(Forbidden):
        await members(service, "D1", caller=Caller(user_id="u1", role=Role.CLIENT,
                                                   dossier_ids=["D1"]))
