"""Throttle rules after failed logins (ASVS 6.3.1, NIST 800-63B): the attempts, not the owner."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from libs.servicekit.errors import RateLimited
from services.auth.sessions.lockout.domain import (
    RETRY_AFTER_FIELD,
    BackOffPolicy,
    FailureWindow,
    LoginThrottle,
    ThrottleState,
    account_key,
    attempt_keys,
    device_key,
    ip_key,
    too_many_attempts,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
POLICY = BackOffPolicy(failure_limit=10, first_wait=timedelta(minutes=1),
                       longest_wait=timedelta(hours=1))


def test_nine_failures_in_a_row_do_not_make_anyone_wait() -> None:
    assert POLICY.blocked_until(9, NOW) is None


def test_the_tenth_failure_makes_the_key_wait_the_first_wait() -> None:
    assert POLICY.blocked_until(10, NOW) == NOW + timedelta(minutes=1)


def test_each_further_failure_doubles_the_wait_up_to_the_longest() -> None:
    assert POLICY.blocked_until(11, NOW) == NOW + timedelta(minutes=2)
    assert POLICY.blocked_until(13, NOW) == NOW + timedelta(minutes=8)
    assert POLICY.blocked_until(17, NOW) == NOW + timedelta(hours=1)
    assert POLICY.blocked_until(10_000, NOW) == NOW + timedelta(hours=1)


def test_the_refusal_says_when_to_retry_in_words_and_in_seconds() -> None:
    error = too_many_attempts(NOW + timedelta(seconds=150), NOW)
    assert error.detail == ("Too many failed sign-in attempts. Try again in 3 minutes "
                            "(after 09:02:30 UTC).")
    assert error.fields == {RETRY_AFTER_FIELD: "150"}
    assert too_many_attempts(NOW + timedelta(seconds=45), NOW).detail.startswith(
        "Too many failed sign-in attempts. Try again in 45 seconds")


def test_an_account_key_hides_the_address_and_ignores_nothing_else() -> None:
    key = account_key("jan.peeters@example.be")
    assert "jan" not in key
    assert key == account_key("jan.peeters@example.be") != account_key("an@example.be")
    assert ip_key("198.51.100.7") != key


# --- per client IP: a sliding window no success resets ------------------------------------------

WINDOW = FailureWindow(limit=3, window=timedelta(hours=1))


def test_an_address_may_fail_up_to_the_limit_within_the_window() -> None:
    assert WINDOW.blocked_until([NOW - timedelta(minutes=5)] * 2, NOW) is None


def test_at_the_limit_the_address_waits_until_its_oldest_failure_ages_out() -> None:
    failures = [NOW - timedelta(minutes=50), NOW - timedelta(minutes=20), NOW]
    assert WINDOW.blocked_until(failures, NOW) == NOW + timedelta(minutes=10)


def test_failures_older_than_the_window_no_longer_count() -> None:
    failures = [NOW - timedelta(minutes=70), NOW - timedelta(minutes=61), NOW]
    assert WINDOW.blocked_until(failures, NOW) is None


# --- which keys an attempt meets ----------------------------------------------------------------

def test_an_unknown_device_meets_the_address_and_the_ip_and_a_success_resets_only_the_address(
) -> None:
    keys = attempt_keys("an@example.be", "198.51.100.7", trusted_device=None)
    assert keys.checked == keys.charged == [account_key("an@example.be"), ip_key("198.51.100.7")]
    assert keys.cleared == [account_key("an@example.be")]


def test_a_known_device_passes_the_address_lockout_but_its_failures_still_count() -> None:
    device = device_key("u1", "device-hash")
    keys = attempt_keys("an@example.be", "198.51.100.7", trusted_device=device)
    assert keys.checked == [device]  # neither the locked address nor the IP stop the owner
    assert keys.charged == [device, ip_key("198.51.100.7")]
    assert keys.cleared == [device]


def test_a_device_key_belongs_to_one_account() -> None:
    assert device_key("u1", "d") != device_key("u2", "d") != device_key("u1", "e")


# --- the throttle on a store ----------------------------------------------------------------------


class MemoryStore:
    """The throttle's store, in memory."""

    def __init__(self) -> None:
        self.states: dict[str, ThrottleState] = {}

    async def find_throttles(self, keys: Sequence[str]) -> list[ThrottleState]:
        return [self.states[key] for key in keys if key in self.states]

    async def record_failure(self, key: str, now: datetime, keep_recent: int) -> ThrottleState:
        old = self.states.get(key)
        recent = (*(old.recent_failures if old else ()), now)[-keep_recent:]
        self.states[key] = ThrottleState(key, (old.failures if old else 0) + 1, now, recent)
        return self.states[key]

    async def clear_throttles(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.states.pop(key, None)


def throttle(store: MemoryStore, clock: list[datetime]) -> LoginThrottle:
    return LoginThrottle(store, account=POLICY, client_ip=WINDOW, clock=lambda: clock[0])


async def test_a_success_does_not_reset_the_failures_of_the_ip() -> None:
    store, clock = MemoryStore(), [NOW]
    ip_throttle = throttle(store, clock)
    sprayer = ip_key("203.0.113.9")
    for _ in range(2):
        await ip_throttle.failed([account_key("victim@example.be"), sprayer])
    await ip_throttle.succeeded([account_key("own@example.be"), sprayer])  # their own account
    counted = await ip_throttle.failed([account_key("other@example.be"), sprayer])
    assert counted.blocked_until == NOW + timedelta(hours=1)
    with pytest.raises(RateLimited):
        await ip_throttle.check([sprayer])
    clock[0] = NOW + timedelta(hours=1, seconds=1)  # the failures age out: the address may try
    await ip_throttle.check([sprayer])


async def test_only_the_failure_that_reaches_the_limit_reports_the_lockout() -> None:
    store, clock = MemoryStore(), [NOW]
    address_throttle = throttle(store, clock)
    address = account_key("an@example.be")
    reports = []
    for _ in range(12):
        counted = await address_throttle.failed([address, ip_key("203.0.113.9")])
        reports.append(address in counted.newly_locked)
        clock[0] += timedelta(hours=2)  # the stranger waits each time: the count goes on
    assert reports == [False] * 9 + [True] + [False] * 2
    await address_throttle.succeeded([address])  # the owner signs in: a new lockout, a new mail
    assert not (await address_throttle.failed([address])).newly_locked
