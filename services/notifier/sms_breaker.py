"""A circuit breaker for the SMS provider: after repeated failures, refuse at once for a while.

Closed: calls pass; `failure_limit` consecutive failures open it. Open: calls are refused without
touching the network until `reset_after` has passed. Half-open: one trial call passes (others are
refused); its success closes the breaker, its failure opens it again. Per process: each replica
learns the provider's health from its own calls, which needs no shared state.
"""

import math
from collections.abc import Callable
from enum import StrEnum

from prometheus_client import Gauge

breaker_state = Gauge(
    "mybroker_notifier_sms_breaker_open", "1 while the SMS provider's circuit breaker is open")


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The provider failed too often lately: refused without calling it."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"the SMS provider is failing; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class CircuitBreaker:
    """Counts consecutive failures of one dependency; `clock` returns monotonic seconds."""

    def __init__(self, *, failure_limit: int, reset_after: float,
                 clock: Callable[[], float]) -> None:
        self._failure_limit = failure_limit
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        """Closed, open, or half-open (the open period is over: a trial may pass)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._reset_after:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def retry_after_seconds(self) -> int:
        """Seconds until a call may pass again (0 when one may pass now)."""
        if self._opened_at is None or self.state is BreakerState.HALF_OPEN:
            return 0
        return max(1, math.ceil(self._opened_at + self._reset_after - self._clock()))

    def accepting(self) -> bool:
        """True when a call would pass now (checked before spending a caller's rate limit)."""
        state = self.state
        return state is BreakerState.CLOSED or (
            state is BreakerState.HALF_OPEN and not self._trial_running)

    def before_call(self) -> None:
        """Let one call pass or raise CircuitOpen; in half-open only one trial at a time."""
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._trial_running):
            raise CircuitOpen(max(1, self.retry_after_seconds()))
        if state is BreakerState.HALF_OPEN:
            self._trial_running = True

    def succeeded(self) -> None:
        """The call worked: close the breaker and forget the failures."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False
        breaker_state.set(0)

    def failed(self) -> None:
        """The call failed: open the breaker at the limit, or again after a failed trial."""
        self._failures += 1
        if self._trial_running or self._failures >= self._failure_limit:
            self._opened_at = self._clock()
            breaker_state.set(1)
        self._trial_running = False

    def released(self) -> None:
        """A call that passed ended without telling anything of the provider's health."""
        self._trial_running = False
