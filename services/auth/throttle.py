"""Back-off after failed logins, per account and per client IP address (ASVS 6.3.1).

After `failure_limit` consecutive failures the key must wait `first_wait`, doubled at each further
failure up to `longest_wait`. A success resets the count. The account key is the hash of the
typed e-mail address, known or not: an unknown address is throttled exactly like a real one, so
the back-off tells nothing about which accounts exist.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from libs.servicekit.errors import RateLimited
from services.auth.domain import hash_token

RETRY_AFTER_FIELD = "retry_after"  # seconds, carried in the error's fields to the gateway


@dataclass(frozen=True)
class BackOffPolicy:
    """How many consecutive failures a key may have, and how long it waits after that."""

    failure_limit: int
    first_wait: timedelta
    longest_wait: timedelta

    def blocked_until(self, failures: int, last_failure_at: datetime) -> datetime | None:
        """Until when a key with `failures` consecutive failures must wait, or None."""
        if failures < self.failure_limit:
            return None
        doublings = min(failures - self.failure_limit, 32)  # bounded: no huge powers of two
        wait = min(self.first_wait * (1 << doublings), self.longest_wait)
        return last_failure_at + wait


def account_key(normalized_email: str) -> str:
    """The throttle key of an e-mail address (hashed: typed addresses are not kept readable)."""
    return "account:" + hash_token(normalized_email)


def ip_key(client_ip: str) -> str:
    """The throttle key of a client IP address."""
    return "ip:" + client_ip


def too_many_attempts(blocked_until: datetime, now: datetime) -> RateLimited:
    """The error a blocked login gets: says when to try again, in words and in seconds."""
    seconds = max(1, math.ceil((blocked_until - now).total_seconds()))
    when = blocked_until.strftime("%H:%M:%S UTC")
    return RateLimited(
        f"Too many failed sign-in attempts. Try again in {_duration(seconds)} (after {when}).",
        fields={RETRY_AFTER_FIELD: str(seconds)},
    )


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class ThrottleState:
    """A key's consecutive failures as stored."""

    key: str
    failures: int
    last_failure_at: datetime


class ThrottleStore(Protocol):
    """What the throttle needs of the database (AuthStore has it)."""

    async def find_throttles(self, keys: Sequence[str]) -> list[ThrottleState]:
        """The stored states of `keys` (keys without failures are absent)."""
        ...

    async def record_failure(self, key: str, now: datetime) -> ThrottleState:
        """Count one more failure of `key`, atomically."""
        ...

    async def clear_throttles(self, keys: Sequence[str]) -> None:
        """Forget the failures of `keys` (after a success)."""
        ...


class LoginThrottle:
    """Checks, counts and clears failed logins for an account key and an IP key."""

    def __init__(
        self, store: ThrottleStore, *, account: BackOffPolicy, client_ip: BackOffPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._policies = {"account": account, "ip": client_ip}
        self._clock = clock

    def _policy(self, key: str) -> BackOffPolicy:
        return self._policies[key.split(":", 1)[0]]

    def _blocked_until(self, states: Sequence[ThrottleState]) -> datetime | None:
        moments = [
            moment for state in states
            if (moment := self._policy(state.key).blocked_until(
                state.failures, state.last_failure_at)) is not None
        ]
        return max(moments) if moments else None

    async def check(self, keys: Sequence[str]) -> None:
        """Raise RateLimited while any of `keys` has to wait."""
        now = self._clock()
        blocked_until = self._blocked_until(await self._store.find_throttles(keys))
        if blocked_until is not None and blocked_until > now:
            raise too_many_attempts(blocked_until, now)

    async def failed(self, keys: Sequence[str]) -> datetime | None:
        """Count a failure for every key; until when the attempts are now blocked, if they are."""
        now = self._clock()
        states = [await self._store.record_failure(key, now) for key in keys]
        blocked_until = self._blocked_until(states)
        return blocked_until if blocked_until is not None and blocked_until > now else None

    async def succeeded(self, keys: Sequence[str]) -> None:
        """A success resets the back-off of every key."""
        await self._store.clear_throttles(keys)
