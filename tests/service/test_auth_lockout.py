"""The lockout of an address stops strangers, not its owner: devices the account logged in from
pass it, the owner is mailed a single-use unlock link, and an IP's failures outlive successes."""

from collections.abc import AsyncIterator

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import auth, lockout
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Gone, NotFound, RateLimited, Unauthenticated
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.accounts.store import USERS
from services.auth.main import AuthService
from services.auth.sessions.lockout.store import UNLOCKS
from tests.service.conftest import call_in_memory
from tests.service.test_auth import PASSWORD, claims_of
from tests.service.test_auth_login_security import (
    EMAIL,
    WRONG,
    active_client,
    built_service,
    fail_times,
)

LAPTOP = "laptop-device-token-0000000000000000000000000"
PHONE = "phone-device-token-00000000000000000000000000"


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[AuthService]:
    built = await built_service(mongo_url, database_name, trusted_devices_per_account=2)
    async with TestRabbitBroker(built.runtime.broker):
        await active_client(built)
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def log_in(service: AuthService, device: str | None = None, password: str = PASSWORD,
                 email: str = EMAIL, client_ip: str | None = "198.51.100.7") -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, auth.LOG_IN, auth.LoginRequest(
        email=email, password=password, client_ip=client_ip, device_token=device))


async def lock_out(service: AuthService, email: str = EMAIL) -> None:
    """A stranger at another address types ten wrong passwords."""
    assert await fail_times(service, 10, email=email, client_ip="203.0.113.66") == [
        "Unauthenticated"] * 9 + ["RateLimited"]
    await service.background.settle()


async def unlock_tokens(service: AuthService) -> list[str]:
    """The tokens of the unlock mails waiting in the outbox."""
    tokens = []
    async for doc in service.runtime.database[UNLOCKS].find({}):
        for entry in doc[OUTBOX_FIELD].values():
            tokens.append(lockout.LoginLockedOut.model_validate(entry["payload"]).unlock_token)
    return tokens


async def unlock(service: AuthService, token: str, password: str = PASSWORD,
                 device: str | None = None) -> auth.TokenPair:
    return await call_in_memory(service.runtime.broker, lockout.UNLOCK_LOG_IN,
                                lockout.UnlockLoginRequest(token=token, password=password,
                                                           device_token=device))


# --- known devices ------------------------------------------------------------------------------

async def test_a_device_that_logged_in_before_passes_the_lockout(service: AuthService) -> None:
    await log_in(service, LAPTOP)
    await lock_out(service)
    await log_in(service, LAPTOP)
    with pytest.raises(RateLimited):
        await log_in(service, PHONE)  # never logged in from: it waits like the stranger


async def test_a_known_devices_own_wrong_passwords_are_throttled(service: AuthService) -> None:
    """A stolen device cookie is no ticket for endless guessing."""
    await log_in(service, LAPTOP)
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            await log_in(service, LAPTOP, password=WRONG)
    with pytest.raises(RateLimited):
        await log_in(service, LAPTOP, password=WRONG)
    with pytest.raises(RateLimited):
        await log_in(service, LAPTOP)
    await log_in(service, PHONE)  # the address itself is not locked by the device's failures


async def test_only_the_latest_devices_stay_trusted_and_only_as_hashes(
    service: AuthService,
) -> None:
    for device in (LAPTOP, PHONE, "tablet-device-token-000000000000000000000000"):
        await log_in(service, device)
    user = await service.runtime.database[USERS].find_one({"email": EMAIL})
    assert user is not None and len(user["trusted_devices"]) == 2  # the setting's bound
    assert PHONE not in repr(user)
    await lock_out(service)
    await log_in(service, PHONE)
    with pytest.raises(RateLimited):
        await log_in(service, LAPTOP)  # the least recently used one was forgotten


# --- the unlock mail ----------------------------------------------------------------------------

async def test_one_unlock_link_per_lockout_and_none_for_an_unknown_address(
    service: AuthService,
) -> None:
    await lock_out(service, email="nobody@example.be")
    assert await service.runtime.database[UNLOCKS].count_documents({}) == 0
    await lock_out(service)
    assert await fail_times(service, 3, client_ip="203.0.113.66") == ["RateLimited"] * 3
    await service.background.settle()
    assert len(await unlock_tokens(service)) == 1


async def test_the_unlock_link_and_the_password_sign_in_once_and_end_the_lockout(
    service: AuthService,
) -> None:
    await lock_out(service)
    [token] = await unlock_tokens(service)
    preview = await call_in_memory(service.runtime.broker, lockout.LOOK_UP_UNLOCK,
                                   lockout.UnlockLookupRequest(token=token))
    assert preview.email == EMAIL
    with pytest.raises(Unauthenticated):
        await unlock(service, token, password=WRONG)  # the link alone is not enough
    await unlock(service, token, device=PHONE)
    with pytest.raises(Gone):
        await unlock(service, token)
    await log_in(service)  # the address's lockout is over
    with pytest.raises(NotFound):
        await unlock(service, "made-up-token")


async def test_an_unlock_link_ends_after_five_wrong_passwords(service: AuthService) -> None:
    await lock_out(service)
    [token] = await unlock_tokens(service)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            await unlock(service, token, password=WRONG)
    with pytest.raises(Gone):
        await unlock(service, token)


# --- per client IP ------------------------------------------------------------------------------

async def test_a_success_from_an_address_does_not_reset_its_failures(
    mongo_url: str, database_name: str,
) -> None:
    service = await built_service(mongo_url, database_name, ip_failure_limit=5)
    async with TestRabbitBroker(service.runtime.broker):
        await active_client(service)
        sprayer = "203.0.113.9"
        for number in range(4):
            await fail_times(service, 1, email=f"guess{number}@example.be", client_ip=sprayer)
            await log_in(service, client_ip=sprayer)  # a good login between the guesses
        with pytest.raises(RateLimited):
            await log_in(service, email="guess5@example.be", password=WRONG, client_ip=sprayer)
    await service.runtime.database.client.drop_database(database_name)


async def test_the_signed_in_owner_changes_the_password_while_a_stranger_locked_the_address(
    service: AuthService,
) -> None:
    session = await log_in(service, LAPTOP)
    await lock_out(service)
    claims = claims_of(service, session)
    await call_in_memory(service.runtime.broker, auth.CHANGE_PASSWORD, auth.ChangePasswordRequest(
        caller=Caller(user_id=claims.sub, role=Role.CLIENT), session_id=claims.sid,
        current_password=PASSWORD, new_password="a brand new passphrase for an"))
