"""The SMS provider adapter against a provider on 127.0.0.1: what is retried, what is never
retried, and the circuit breaker (open after failures, refusing fast, half-open recovery)."""

import time

import httpx
import pytest

from libs.contracts.sms import SmsStatus
from services.notifier.config import SMS_API_FIELDS
from services.notifier.sms_breaker import BreakerState, CircuitBreaker
from services.notifier.sms_providers import HttpApi, HttpSmsProvider, OutgoingSms
from tests.service.sms_support import BROKEN, BUSY, HANG, OK, REFUSED, fake_provider

SMS = OutgoingSms(reference="enrol-1:code-1", to="+32470123456", text="Uw code is 123456.")


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh (mypy would keep the state narrowed by an earlier assert)."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the back-off waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def adapter(url: str, *, clock: Clock | None = None, sleeps: Sleeps | None = None,
            timeout: float = 2.0, transport: httpx.AsyncBaseTransport | None = None,
            fields: dict[str, str] | None = None, constants: dict[str, str] | None = None,
            headers: dict[str, str] | None = None,
            ) -> tuple[HttpSmsProvider, CircuitBreaker]:
    api = HttpApi(url=url, headers=headers or {"Authorization": "Bearer t0ken"},
                  sender="MyBroker", fields=fields or SMS_API_FIELDS, constants=constants or {},
                  timeout_seconds=timeout, attempts=3, backoff_seconds=1.0)
    breaker = CircuitBreaker(failure_limit=3, reset_after=30.0, clock=clock or Clock())
    return HttpSmsProvider(api, breaker, transport=transport, sleep=sleeps or Sleeps()), breaker


async def test_an_sms_is_posted_in_the_providers_field_names_with_its_headers_and_key() -> None:
    async with fake_provider(OK) as server:
        provider, _ = adapter(
            server.url, headers={"X-Client-Id": "id-1", "X-Client-Secret": "s3cret"},
            fields={"to": "recipients[]", "sender": "originator", "text": "body",
                    "reference": "reference", "id": "id"},
            constants={"route": "business", "encoding": "auto"})
        result = await provider.send(SMS)
        await provider.close()
    assert result.status is SmsStatus.SENT and result.provider_id == "prov-1"
    assert server.requests == [{"recipients": ["+32470123456"], "originator": "MyBroker",
                                "body": "Uw code is 123456.", "reference": "enrol-1:code-1",
                                "route": "business", "encoding": "auto"}]
    assert server.headers[0]["x-client-id"] == "id-1"
    assert server.headers[0]["x-client-secret"] == "s3cret"
    assert server.headers[0]["idempotency-key"] == "enrol-1:code-1"


async def test_the_default_fields_and_a_bearer_token() -> None:
    async with fake_provider(OK) as server:
        provider, _ = adapter(server.url)
        await provider.send(SMS)
        await provider.close()
    assert server.headers[0]["authorization"] == "Bearer t0ken"
    assert server.requests[0] == {"to": "+32470123456", "from": "MyBroker",
                                  "text": "Uw code is 123456.", "reference": "enrol-1:code-1"}


async def test_busy_answers_are_retried_with_growing_waits_then_the_sms_is_sent() -> None:
    sleeps = Sleeps()
    async with fake_provider(BUSY, BUSY, OK) as server:
        provider, breaker = adapter(server.url, sleeps=sleeps)
        result = await provider.send(SMS)
        await provider.close()
    assert result.status is SmsStatus.SENT and result.attempts == 3
    assert len(server.requests) == 3
    assert 0.5 <= sleeps.waits[0] <= 1.0 and 1.0 <= sleeps.waits[1] <= 2.0, "back-off doubles"
    assert state_of(breaker) is BreakerState.CLOSED, "a success forgets the failures"


@pytest.mark.parametrize("step", [HANG, BROKEN])
async def test_a_timeout_or_a_500_after_the_request_left_is_uncertain_and_never_repeated(
    step: str
) -> None:
    async with fake_provider(step, OK) as server:
        provider, _ = adapter(server.url, timeout=0.3)
        started = time.perf_counter()
        result = await provider.send(SMS)
        elapsed = time.perf_counter() - started
        await provider.close()
    assert result.status is SmsStatus.UNCERTAIN
    assert len(server.requests) == 1, "the phone may have the code: a retry would send a second"
    assert elapsed < 2.0, "the timeout bounds the wait"


async def test_a_refused_sms_fails_at_once_and_does_not_count_against_the_provider() -> None:
    async with fake_provider(REFUSED) as server:
        provider, breaker = adapter(server.url)
        results = [await provider.send(SMS) for _ in range(4)]
        await provider.close()
    assert [r.status for r in results] == [SmsStatus.FAILED] * 4
    assert len(server.requests) == 4 and state_of(breaker) is BreakerState.CLOSED


async def test_failures_open_the_breaker_then_calls_are_refused_fast_then_a_trial_recovers(
) -> None:
    clock = Clock()
    async with fake_provider(BUSY) as server:
        provider, breaker = adapter(server.url, clock=clock)
        first = await provider.send(SMS)
        assert first.status is SmsStatus.FAILED and len(server.requests) == 3
        assert state_of(breaker) is BreakerState.OPEN and not provider.accepting()
        assert first.retry_after_seconds == 30

        started = time.perf_counter()
        refused = await provider.send(SMS)
        assert time.perf_counter() - started < 0.05, "refused without touching the network"
        assert refused.status is SmsStatus.FAILED and refused.attempts == 0
        assert len(server.requests) == 3

        clock.now += 30  # the open period is over: half-open
        server.answer_next(OK)
        assert provider.accepting()
        recovered = await provider.send(SMS)
        await provider.close()
    assert recovered.status is SmsStatus.SENT and len(server.requests) == 4
    assert state_of(breaker) is BreakerState.CLOSED


async def test_a_failed_half_open_trial_opens_the_breaker_again_without_retrying() -> None:
    clock = Clock()
    async with fake_provider(BUSY) as server:
        provider, breaker = adapter(server.url, clock=clock)
        await provider.send(SMS)
        clock.now += 30
        trial = await provider.send(SMS)
        await provider.close()
    assert trial.status is SmsStatus.FAILED and trial.attempts == 1
    assert len(server.requests) == 4 and state_of(breaker) is BreakerState.OPEN


async def test_connect_timeouts_are_retried_and_open_the_breaker() -> None:
    tries: list[httpx.Request] = []

    def unreachable(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        raise httpx.ConnectTimeout("connect timed out", request=request)

    provider, breaker = adapter("http://provider.invalid/v1/messages",
                                transport=httpx.MockTransport(unreachable))
    result = await provider.send(SMS)
    await provider.close()
    assert result.status is SmsStatus.FAILED and "ConnectTimeout" in result.detail
    assert len(tries) == 3 and state_of(breaker) is BreakerState.OPEN


async def test_a_provider_that_is_down_is_retried_then_reported_failed() -> None:
    async with fake_provider(OK) as server:
        url = server.url
    provider, _ = adapter(url)  # nothing listens on that port any more
    result = await provider.send(SMS)
    await provider.close()
    assert result.status is SmsStatus.FAILED and result.attempts == 3
    assert "ConnectError" in result.detail
