"""The SMS provider's circuit breaker: closed, open after repeated failures, half-open trial."""

import pytest

from services.notifier.sms_breaker import BreakerState, CircuitBreaker, CircuitOpen


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh (mypy would keep the state narrowed by an earlier assert)."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_limit=3, reset_after=30.0, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.failed()


def test_failures_below_the_limit_keep_it_closed_and_a_success_forgets_them(
    breaker: CircuitBreaker
) -> None:
    fail(breaker, 2)
    breaker.before_call()
    breaker.succeeded()
    fail(breaker, 2)
    assert state_of(breaker) is BreakerState.CLOSED and breaker.accepting()


def test_the_limit_of_consecutive_failures_opens_it_and_calls_are_refused_with_a_wait(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    assert state_of(breaker) is BreakerState.OPEN and not breaker.accepting()
    clock.now += 10
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after_seconds == 20


def test_after_the_wait_one_trial_passes_alone_and_its_success_closes_it(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    clock.now += 30
    assert state_of(breaker) is BreakerState.HALF_OPEN and breaker.accepting()
    breaker.before_call()  # the trial
    assert not breaker.accepting()
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # a second call while the trial runs
    breaker.succeeded()
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.before_call()


def test_a_failed_trial_opens_it_again_for_a_full_wait(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    clock.now += 30
    breaker.before_call()
    breaker.failed()
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.retry_after_seconds() == 30


def test_a_cancelled_trial_frees_the_half_open_slot(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 30
    breaker.before_call()
    breaker.released()
    assert breaker.accepting()
