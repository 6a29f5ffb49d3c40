"""Throttling of failed logins (ASVS 6.3.1, NIST 800-63B 5.2.2): the attempts, not the owner.

Four kinds of key count failures:
- `account:` the typed e-mail address, known or not (so the back-off tells nothing about which
  accounts exist), for devices the account has not logged in from;
- `device:` one device the account logged in from before (its device cookie): such a device
  passes the address's lockout, and its own failures count on its own key;
- `session:` a signed-in session asking to change its password (a stranger's lockout of the
  address does not stop the signed-in owner);
- `ip:` the client IP address, whatever the account.
Account, device and session keys back off after `failure_limit` consecutive failures: wait
`first_wait`, doubled at each further failure up to `longest_wait`; their owner's success resets
them. An IP key allows `limit` failures within a sliding `window`; a success does not reset it
(an attacker would log in to an account of their own between guesses), they only age out.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class FailureWindow:
    """At most `limit` failures within the last `window`; then wait until the oldest ages out."""

    limit: int
    window: timedelta

    def blocked_until(self, failure_times: Sequence[datetime], now: datetime) -> datetime | None:
        """Until when a key with these failures must wait, or None."""
        recent = sorted(moment for moment in failure_times if moment > now - self.window)
        if len(recent) < self.limit:
            return None
        # One more attempt is allowed once fewer than `limit` failures remain in the window.
        return recent[len(recent) - self.limit] + self.window


def account_key(normalized_email: str) -> str:
    """The throttle key of an e-mail address (hashed: typed addresses are not kept readable)."""
    return "account:" + hash_token(normalized_email)


def device_key(user_id: str, device_hash: str) -> str:
    """The throttle key of one device the account logged in from before."""
    return "device:" + hash_token(f"{user_id}:{device_hash}")


def session_key(session_id: str) -> str:
    """The throttle key of a signed-in session (guessing the current password to change it)."""
    return "session:" + session_id


def ip_key(client_ip: str) -> str:
    """The throttle key of a client IP address."""
    return "ip:" + client_ip


@dataclass(frozen=True)
class AttemptKeys:
    """Which keys a login attempt is checked against, charged to, and resets."""

    checked: list[str]  # any of them blocked: refused before the password is looked at
    charged: list[str]  # a failure counts on each
    cleared: list[str] = field(default_factory=list)  # a success resets these (never an IP)


def attempt_keys(
    normalized_email: str, client_ip: str | None, trusted_device: str | None
) -> AttemptKeys:
    """The keys of a login: a trusted device's own key, else the address's and the IP's."""
    by_ip = [ip_key(client_ip)] if client_ip else []
    if trusted_device is not None:
        # The owner's device passes the lockout that strangers caused; its guesses still count
        # on itself (a stolen device cookie gives no unlimited guessing) and on the IP.
        return AttemptKeys(checked=[trusted_device], charged=[trusted_device, *by_ip],
                           cleared=[trusted_device])
    address = account_key(normalized_email)
    return AttemptKeys(checked=[address, *by_ip], charged=[address, *by_ip], cleared=[address])


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
    """A key's failures as stored: the count since its last reset and the latest moments."""

    key: str
    failures: int
    last_failure_at: datetime
    recent_failures: tuple[datetime, ...] = ()


class ThrottleStore(Protocol):
    """What the throttle needs of the database (store.ThrottleRecords has it)."""

    async def find_throttles(self, keys: Sequence[str]) -> list[ThrottleState]:
        """The stored states of `keys` (keys without failures are absent)."""
        ...

    async def record_failure(self, key: str, now: datetime, keep_recent: int) -> ThrottleState:
        """Count one more failure of `key` and remember its moment (the newest `keep_recent`)."""
        ...

    async def clear_throttles(self, keys: Sequence[str]) -> None:
        """Forget the failures of `keys` (after a success)."""
        ...


@dataclass(frozen=True)
class Counted:
    """What a counted failure changed."""

    blocked_until: datetime | None  # the attempts now wait until then, if they do
    newly_locked: frozenset[str] = frozenset()  # keys this very failure took to their limit


class LoginThrottle:
    """Checks, counts and clears failed logins for account, device and IP keys."""

    def __init__(
        self, store: ThrottleStore, *, account: BackOffPolicy, client_ip: FailureWindow,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._account = account
        self._client_ip = client_ip
        self._clock = clock

    @staticmethod
    def _is_ip(key: str) -> bool:
        return key.startswith("ip:")

    def _blocked_until(self, state: ThrottleState, now: datetime) -> datetime | None:
        if self._is_ip(state.key):
            return self._client_ip.blocked_until(state.recent_failures, now)
        return self._account.blocked_until(state.failures, state.last_failure_at)

    def _latest_block(self, states: Sequence[ThrottleState], now: datetime) -> datetime | None:
        moments = [moment for state in states
                   if (moment := self._blocked_until(state, now)) is not None and moment > now]
        return max(moments) if moments else None

    def _newly_locked(self, state: ThrottleState) -> bool:
        # A consecutive count only grows until its reset: exactly one failure reaches the limit.
        return not self._is_ip(state.key) and state.failures == self._account.failure_limit

    async def check(self, keys: Sequence[str]) -> None:
        """Raise RateLimited while any of `keys` has to wait."""
        now = self._clock()
        blocked_until = self._latest_block(await self._store.find_throttles(keys), now)
        if blocked_until is not None:
            raise too_many_attempts(blocked_until, now)

    async def failed(self, keys: Sequence[str]) -> Counted:
        """Count a failure for every key; until when the attempts are now blocked, if they are."""
        now = self._clock()
        states = [await self._store.record_failure(key, now, self._client_ip.limit)
                  for key in keys]
        return Counted(
            blocked_until=self._latest_block(states, now),
            newly_locked=frozenset(state.key for state in states if self._newly_locked(state)),
        )

    async def succeeded(self, keys: Sequence[str]) -> None:
        """A success resets the back-off of `keys`; an IP's failures are never reset."""
        await self._store.clear_throttles([key for key in keys if not self._is_ip(key)])
