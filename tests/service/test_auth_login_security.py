"""Login security (ASVS 6.3): back-off per account and per IP, no enumeration, quick logout."""

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import auth
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Invalid, RateLimited, Unauthenticated
from services.auth.domain import COMMON_PASSWORD, WRONG_CREDENTIALS
from services.auth.main import AuthService, build
from services.auth.sessions.lockout.domain import RETRY_AFTER_FIELD
from services.auth.sessions.lockout.store import THROTTLES
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import PASSWORD, activate, invite

EMAIL = "jan.peeters@example.be"
WRONG = "not the right password"


async def built_service(mongo_url: str, database_name: str, **changes: Any) -> AuthService:
    service = build(settings(mongo_url, database_name, **changes), rpc=DossierStandIn())
    await service.prepare_database()
    return service


async def log_in(service: AuthService, email: str = EMAIL, password: str = PASSWORD,
                 client_ip: str | None = "198.51.100.7") -> auth.TokenPair:
    request = auth.LoginRequest(email=email, password=password, client_ip=client_ip)
    return await call_in_memory(service.runtime.broker, auth.LOG_IN, request)


async def active_client(service: AuthService, email: str = EMAIL) -> None:
    _, token = await invite(service, email=email)
    await activate(service, token)


async def fail_times(service: AuthService, times: int, email: str = EMAIL,
                     client_ip: str | None = "198.51.100.7") -> list[str]:
    """Log in `times` times with a wrong password; what each attempt answered."""
    answers = []
    for _ in range(times):
        try:
            await log_in(service, email, WRONG, client_ip)
        except (Unauthenticated, RateLimited) as error:
            answers.append(type(error).__name__)
    return answers


async def let_the_wait_pass(service: AuthService) -> None:
    """Move every recorded failure two hours back, as if the client waited."""
    collection = service.runtime.database[THROTTLES]
    async for doc in collection.find({}):
        await collection.update_one({"_id": doc["_id"]}, {"$set": {"last": {
            "failure_at": time_ago(hours=2), "forget_at": time_ago(hours=-22)}}})


def time_ago(**delta: float) -> datetime:
    return utc_now() - timedelta(**delta)


# --- back-off per account ---------------------------------------------------------------------

async def test_the_tenth_failure_in_a_row_makes_the_account_wait_and_says_until_when(
    service: AuthService,
) -> None:
    await active_client(service)
    assert await fail_times(service, 9) == ["Unauthenticated"] * 9
    with pytest.raises(RateLimited) as tenth:
        await log_in(service, password=WRONG)
    assert "Try again in 60 seconds" in tenth.value.detail
    assert tenth.value.fields == {RETRY_AFTER_FIELD: "60"}

    # Even the right password waits on a device the account does not know: the attacker could
    # otherwise keep guessing (a device it logged in from before passes: test_auth_lockout).
    with pytest.raises(RateLimited) as meanwhile:
        await log_in(service)
    assert 0 < int((meanwhile.value.fields or {})[RETRY_AFTER_FIELD]) <= 60


async def test_after_the_wait_the_right_password_works_and_resets_the_count(
    service: AuthService,
) -> None:
    await active_client(service)
    await fail_times(service, 10)
    await let_the_wait_pass(service)
    await log_in(service)
    assert await fail_times(service, 9) == ["Unauthenticated"] * 9  # counting starts again


async def test_each_failure_after_the_wait_doubles_the_next_wait(service: AuthService) -> None:
    await active_client(service)
    await fail_times(service, 10)
    await let_the_wait_pass(service)
    with pytest.raises(RateLimited) as eleventh:
        await log_in(service, password=WRONG)
    assert (eleventh.value.fields or {})[RETRY_AFTER_FIELD] == "120"


async def test_a_success_resets_the_consecutive_failures(service: AuthService) -> None:
    await active_client(service)
    await fail_times(service, 9)
    await log_in(service)
    assert await fail_times(service, 9) == ["Unauthenticated"] * 9


async def test_an_unknown_address_is_throttled_exactly_like_a_real_account(
    service: AuthService,
) -> None:
    await active_client(service)
    known = await fail_times(service, 11, email=EMAIL, client_ip=None)
    unknown = await fail_times(service, 11, email="nobody@example.be", client_ip=None)
    assert known == unknown == ["Unauthenticated"] * 9 + ["RateLimited"] * 2


async def test_typed_addresses_are_not_kept_readable_in_the_throttle(
    service: AuthService,
) -> None:
    await fail_times(service, 1, email="nobody@example.be", client_ip=None)
    [doc] = await service.runtime.database[THROTTLES].find({}).to_list()
    assert "nobody" not in repr(doc)


# --- per client IP address --------------------------------------------------------------------

async def test_many_failures_from_one_address_block_that_address_only(
    mongo_url: str, database_name: str,
) -> None:
    service = await built_service(mongo_url, database_name, ip_failure_limit=5)
    async with TestRabbitBroker(service.runtime.broker):
        await active_client(service)
        # Five different addresses tried from one IP: each account is far from its own limit.
        for number in range(4):
            await fail_times(service, 1, email=f"guess{number}@example.be", client_ip="203.0.113.9")
        with pytest.raises(RateLimited):
            await log_in(service, email="guess5@example.be", password=WRONG,
                         client_ip="203.0.113.9")
        with pytest.raises(RateLimited):
            await log_in(service, client_ip="203.0.113.9")
        await log_in(service, client_ip="198.51.100.20")  # the client elsewhere is not affected
    await service.runtime.database.client.drop_database(database_name)


# --- passwords --------------------------------------------------------------------------------

async def test_a_common_password_is_refused_when_activating(service: AuthService) -> None:
    _, token = await invite(service)
    with pytest.raises(Invalid) as refused:
        await activate(service, token, password="Welkom123456")
    assert refused.value.fields == {"password": COMMON_PASSWORD}


# --- no account enumeration by timing ---------------------------------------------------------

async def test_login_takes_as_long_for_an_unknown_address_as_for_a_wrong_password(
    mongo_url: str, database_name: str,
) -> None:
    """ASVS 6.3.8: over 200 tries each, the median time difference is under 5 ms.

    Each known-address try runs side by side with an unknown-address try, so both meet the
    same machine load; the median of these paired differences is what an attacker could use.
    """
    service = await built_service(mongo_url, database_name, account_failure_limit=10_000,
                                  ip_failure_limit=10_000)
    tries = 200
    async with TestRabbitBroker(service.runtime.broker):
        await active_client(service)

        async def timed_failure(email: str) -> float:
            started = time.perf_counter()
            with pytest.raises(Unauthenticated, match=WRONG_CREDENTIALS):
                await log_in(service, email=email, password=WRONG)
            return time.perf_counter() - started

        differences: list[float] = []
        known: list[float] = []
        for attempt in range(tries):
            unknown_email = f"nobody{attempt}@example.be"
            if attempt % 2:  # neither side always starts first
                unknown_time, known_time = await asyncio.gather(
                    timed_failure(unknown_email), timed_failure(EMAIL))
            else:
                known_time, unknown_time = await asyncio.gather(
                    timed_failure(EMAIL), timed_failure(unknown_email))
            differences.append(known_time - unknown_time)
            known.append(known_time)
    await service.runtime.database.client.drop_database(database_name)
    difference_ms = abs(statistics.median(differences)) * 1000
    print(f"login: median {statistics.median(known) * 1000:.1f} ms, median paired difference "
          f"known - unknown {statistics.median(differences) * 1000:+.2f} ms over {tries} pairs")
    assert difference_ms < 5


# --- logout -----------------------------------------------------------------------------------

async def test_after_logout_the_refresh_token_is_refused_at_once(
    service: AuthService,
) -> None:
    await active_client(service)
    pair = await log_in(service)
    await call_in_memory(service.runtime.broker, auth.LOG_OUT,
                         auth.LogoutRequest(refresh_token=pair.refresh_token))
    # The very next call is refused: no cache or grace period keeps the session alive.
    with pytest.raises(Unauthenticated):
        await call_in_memory(service.runtime.broker, auth.REFRESH,
                             auth.RefreshRequest(refresh_token=pair.refresh_token))



async def test_a_failed_login_is_forgotten_by_the_database_a_day_later(
    service: AuthService,
) -> None:
    await fail_times(service, 1)
    indexes = await service.runtime.database[THROTTLES].index_information()
    assert any(index["key"] == [("last.forget_at", 1)] and index.get("expireAfterSeconds") == 0
               for index in indexes.values())
    async for doc in service.runtime.database[THROTTLES].find({}):
        forget_at = doc["last"]["forget_at"]
        assert isinstance(forget_at, datetime)  # a date, or the TTL would never fire
        assert timedelta(hours=23) < forget_at.replace(tzinfo=UTC) - utc_now() <= timedelta(
            hours=24)
