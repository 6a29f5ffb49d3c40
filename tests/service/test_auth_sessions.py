"""Sessions: refresh-token rotation, reuse detection, logout and the gateways' deny-list."""

from datetime import timedelta

import pytest
from faststream.rabbit import RabbitQueue, TestRabbitBroker

from libs.contracts import auth
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Invalid, Unauthenticated
from libs.servicekit.outbox import OUTBOX_FIELD, PENDING_COUNT_FIELD
from services.auth.accounts.store import USERS
from services.auth.main import AuthService, build
from services.auth.sessions.store import SESSIONS
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import AGENT, PASSWORD, activate, claims_of, invite


async def logged_in_client(service: AuthService) -> tuple[str, auth.TokenPair]:
    """An activated client (dossier D1) and the token pair of their first session."""
    invitation, token = await invite(service, dossier_ids=("D1",))
    return invitation.user_id, await activate(service, token)


async def refresh(service: AuthService, refresh_token: str) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.REFRESH,
                                auth.RefreshRequest(refresh_token=refresh_token))


async def log_out(service: AuthService, **by: str) -> None:
    await call_in_memory(service.runtime.broker, auth.LOG_OUT, auth.LogoutRequest(**by))


async def revoked_since(service: AuthService, since_seconds_ago: int = 60) -> list[str]:
    request = auth.RevokedSessionsRequest(since=utc_now() - timedelta(seconds=since_seconds_ago))
    reply = await call_in_memory(service.runtime.broker, auth.LIST_REVOKED_SESSIONS, request)
    return reply.session_ids


async def revocation_events(service: AuthService, session_id: str) -> list[auth.SessionRevoked]:
    doc = await service.runtime.database[SESSIONS].find_one({"_id": session_id})
    assert doc is not None
    return [auth.SessionRevoked.model_validate(entry["payload"])
            for entry in (doc.get(OUTBOX_FIELD) or {}).values()
            if entry["routing_key"] == auth.SessionRevoked.routing_key]


async def test_a_refresh_gives_a_new_pair_for_the_same_session(service: AuthService) -> None:
    _, first = await logged_in_client(service)
    second = await refresh(service, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert claims_of(service, second).sid == claims_of(service, first).sid
    third = await refresh(service, second.refresh_token)
    assert claims_of(service, third).sid == claims_of(service, first).sid


async def test_reusing_a_rotated_refresh_token_ends_the_session(service: AuthService) -> None:
    user_id, first = await logged_in_client(service)
    session_id = claims_of(service, first).sid
    second = await refresh(service, first.refresh_token)

    with pytest.raises(Unauthenticated):
        await refresh(service, first.refresh_token)  # a thief replays the stolen old token
    with pytest.raises(Unauthenticated):
        await refresh(service, second.refresh_token)  # so the legitimate one dies too

    [event] = await revocation_events(service, session_id)
    assert (event.session_id, event.user_id) == (session_id, user_id)
    assert session_id in await revoked_since(service)


async def test_a_refreshed_token_carries_the_current_dossier_grants(service: AuthService) -> None:
    user_id, pair = await logged_in_client(service)
    for method, dossier_id in ((auth.GRANT_DOSSIER, "D2"), (auth.REVOKE_DOSSIER, "D1")):
        await call_in_memory(service.runtime.broker, method, auth.GrantRequest(
            caller=AGENT, user_id=user_id, dossier_id=dossier_id))
    assert claims_of(service, pair).dossiers == ["D1"]
    assert claims_of(service, await refresh(service, pair.refresh_token)).dossiers == ["D2"]


async def test_an_unknown_refresh_token_is_refused(service: AuthService) -> None:
    with pytest.raises(Unauthenticated):
        await refresh(service, "made-up-token")


async def test_a_session_left_idle_too_long_cannot_be_refreshed(service: AuthService) -> None:
    _, pair = await logged_in_client(service)
    long_ago = utc_now() - timedelta(days=15)
    await service.runtime.database[SESSIONS].update_one(
        {"_id": claims_of(service, pair).sid},
        {"$set": {"last_refreshed_at": long_ago, "created_at": long_ago}})
    with pytest.raises(Unauthenticated):
        await refresh(service, pair.refresh_token)


async def test_a_disabled_account_loses_its_session_at_the_next_refresh(
    service: AuthService,
) -> None:
    user_id, pair = await logged_in_client(service)
    await service.runtime.database[USERS].update_one(
        {"_id": user_id}, {"$set": {"status": "disabled"}})
    with pytest.raises(Unauthenticated):
        await refresh(service, pair.refresh_token)
    assert claims_of(service, pair).sid in await revoked_since(service)


async def test_logout_ends_the_session_and_records_session_revoked(service: AuthService) -> None:
    user_id, pair = await logged_in_client(service)
    session_id = claims_of(service, pair).sid
    assert await revoked_since(service) == []

    await log_out(service, refresh_token=pair.refresh_token)

    [event] = await revocation_events(service, session_id)
    assert (event.session_id, event.user_id) == (session_id, user_id)
    assert await revoked_since(service) == [session_id]
    with pytest.raises(Unauthenticated):
        await refresh(service, pair.refresh_token)


async def test_logout_by_session_id_twice_records_one_revocation(service: AuthService) -> None:
    _, pair = await logged_in_client(service)
    session_id = claims_of(service, pair).sid
    await log_out(service, session_id=session_id)
    await log_out(service, session_id=session_id)
    assert len(await revocation_events(service, session_id)) == 1


async def test_sessions_revoked_before_the_given_moment_are_not_listed(
    service: AuthService,
) -> None:
    _, pair = await logged_in_client(service)
    await log_out(service, refresh_token=pair.refresh_token)
    assert await revoked_since(service, since_seconds_ago=-5) == []


async def test_logout_without_token_or_session_is_invalid(service: AuthService) -> None:
    with pytest.raises(Invalid):
        await log_out(service)


async def test_the_relay_publishes_session_revoked_to_the_gateways(
    mongo_url: str, database_name: str
) -> None:
    built = build(settings(mongo_url, database_name), rpc=DossierStandIn())
    await built.prepare_database()
    received: list[auth.SessionRevoked] = []

    @built.runtime.broker.subscriber(
        RabbitQueue("test.auth-revocations", routing_key=auth.SessionRevoked.routing_key), EVENTS)
    async def gateway_deny_list(event: auth.SessionRevoked) -> None:
        received.append(event)

    async with TestRabbitBroker(built.runtime.broker):
        staff = Caller(user_id="admin-1", role=Role.ADMIN)
        await call_in_memory(built.runtime.broker, auth.CREATE_STAFF, auth.CreateStaffRequest(
            caller=staff, email="els@office.be", display_name="Els", role=Role.AGENT,
            password=PASSWORD))
        pair = await call_in_memory(built.runtime.broker, auth.LOG_IN,
                                    auth.LoginRequest(email="els@office.be", password=PASSWORD))
        await log_out(built, refresh_token=pair.refresh_token)
        assert await built.relay.relay_pending() == 1

    session_id = claims_of(built, pair).sid
    assert [event.session_id for event in received] == [session_id]
    doc = await built.runtime.database[SESSIONS].find_one({"_id": session_id})
    assert doc is not None and doc[PENDING_COUNT_FIELD] == 0
    assert await built.relay.relay_pending() == 0
    await built.runtime.database.client.drop_database(database_name)
