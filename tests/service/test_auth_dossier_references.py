"""Auth grants only dossiers that exist (asked to the dossier service) and tells the gateways at
once when it takes one away."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import auth
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Invalid, Unavailable
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.accounts.store import GRANT_REVOCATIONS, USERS
from services.auth.main import AuthService, build
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import AGENT, activate, grant, invite
from tests.service.test_auth_registration import ORIGIN, registered_and_confirmed


@pytest.fixture
def dossiers() -> DossierStandIn:
    return DossierStandIn(dossiers=["DOS-2019-00417", "DOS-2022-01288"])


@pytest.fixture
async def service(mongo_url: str, database_name: str, dossiers: DossierStandIn
                  ) -> AsyncIterator[AuthService]:
    built = build(settings(mongo_url, database_name), rpc=dossiers)
    await built.prepare_database()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def client(service: AuthService, *dossier_ids: str) -> str:
    invitation, token = await invite(service, email="an@example.be", dossier_ids=dossier_ids)
    await activate(service, token)
    return invitation.user_id


async def test_an_invitation_to_a_dossier_that_does_not_exist_is_refused_and_stores_nothing(
    service: AuthService,
) -> None:
    with pytest.raises(Invalid) as refused:
        await invite(service, dossier_ids=("DOS-2019-00417", "DOS-DOES-NOT-EXIST"))
    assert refused.value.fields == {"dossier_ids": "unknown: DOS-DOES-NOT-EXIST"}
    assert "DOS-DOES-NOT-EXIST" in refused.value.detail
    assert await service.runtime.database[USERS].count_documents({}) == 0


async def test_a_grant_of_a_dossier_that_does_not_exist_is_refused(
    service: AuthService,
) -> None:
    user_id = await client(service, "DOS-2019-00417")
    with pytest.raises(Invalid) as refused:
        await grant(service, auth.GRANT_DOSSIER, AGENT, user_id, "DOS-NOPE")
    assert refused.value.fields == {"dossier_id": "unknown: DOS-NOPE"}
    granted = await grant(service, auth.GRANT_DOSSIER, AGENT, user_id, "DOS-2022-01288")
    assert granted.dossier_ids == ["DOS-2019-00417", "DOS-2022-01288"]


async def test_an_approval_granting_a_dossier_that_does_not_exist_is_refused(
    service: AuthService,
) -> None:
    pending = await registered_and_confirmed(service)
    with pytest.raises(Invalid) as refused:
        await call_in_memory(service.runtime.broker, auth.APPROVE_REGISTRATION,
                             auth.ApproveRegistrationRequest(
                                 caller=AGENT, registration_id=pending.registration_id,
                                 dossier_ids=["DOS-GHOST"], origin=ORIGIN))
    assert refused.value.fields == {"dossier_ids": "unknown: DOS-GHOST"}


async def test_when_the_dossier_service_cannot_answer_nothing_is_granted(
    service: AuthService, dossiers: DossierStandIn,
) -> None:
    user_id = await client(service, "DOS-2019-00417")
    dossiers.reachable = False
    with pytest.raises(Unavailable):
        await grant(service, auth.GRANT_DOSSIER, AGENT, user_id, "DOS-2022-01288")
    with pytest.raises(Unavailable):
        await invite(service, email="luc@example.be", dossier_ids=("DOS-2022-01288",))
    account = await service.runtime.database[USERS].find_one({"_id": user_id})
    assert account is not None and account["dossier_ids"] == ["DOS-2019-00417"]


@pytest.mark.parametrize("hostile", ["$where", "D\x001", "x" * 5000, "{\"$gt\": \"\"}", ""])
async def test_the_contract_refuses_a_hostile_dossier_id_before_any_lookup(
    service: AuthService, dossiers: DossierStandIn, hostile: str,
) -> None:
    user_id = await client(service, "DOS-2019-00417")
    asked_before = len(dossiers.asked)
    request = auth.GrantRequest.model_construct(caller=AGENT, user_id=user_id,
                                                dossier_id=hostile, origin=None)
    with pytest.raises(Invalid) as refused:
        await call_in_memory(service.runtime.broker, auth.GRANT_DOSSIER, request)
    assert "dossier_id" in (refused.value.fields or {})
    assert len(dossiers.asked) == asked_before  # refused by the contract, not by a lookup


async def test_taking_a_dossier_away_tells_the_gateways_and_is_listed_for_a_starting_one(
    service: AuthService,
) -> None:
    user_id = await client(service, "DOS-2019-00417", "DOS-2022-01288")
    before = utc_now()
    await grant(service, auth.REVOKE_DOSSIER, AGENT, user_id, "DOS-2022-01288")

    [record] = await service.runtime.database[GRANT_REVOCATIONS].find({}).to_list()
    [entry] = record[OUTBOX_FIELD].values()
    assert entry["routing_key"] == auth.GrantRevoked.routing_key
    event = auth.GrantRevoked.model_validate(entry["payload"])
    assert (event.user_id, event.dossier_id) == (user_id, "DOS-2022-01288")
    # Past the removal: a token refreshed while the grant was being removed (its `iat` in whole
    # seconds) is covered too.
    assert event.revoked_at >= utc_now() + timedelta(seconds=1)

    listed = await call_in_memory(service.runtime.broker, auth.LIST_REVOKED_SESSIONS,
                                  auth.RevokedSessionsRequest(since=before - timedelta(1)))
    assert [(g.user_id, g.dossier_id) for g in listed.grants] == [(user_id, "DOS-2022-01288")]
    later = await call_in_memory(service.runtime.broker, auth.LIST_REVOKED_SESSIONS,
                                 auth.RevokedSessionsRequest(since=utc_now() + timedelta(1)))
    assert later.grants == []
