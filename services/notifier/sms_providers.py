"""Where SMS go: a provider's HTTP JSON API in production, a directory of JSON files in dev/test.

The HTTP adapter retries only what surely did not reach the provider (no connection, a 429 or
a 502/503/504 answer); a timeout after the request left or a 500 may have been sent, so it is
reported `uncertain` and never repeated (a second code on the phone would confuse; staff decide).
"""

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from libs.contracts.envelope import utc_now
from libs.contracts.sms import SmsStatus
from services.notifier.config import NotifierSettings
from services.notifier.sms_breaker import CircuitBreaker, CircuitOpen

# 429 and these say the provider did not take the message: trying again cannot send it twice.
_NOT_TAKEN = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS handed to a provider; `reference` is the caller's idempotency key."""

    reference: str
    to: str  # E.164
    text: str


@dataclass(frozen=True)
class ProviderResult:
    """What the provider did with one SMS: sent, failed (surely not sent) or uncertain."""

    status: SmsStatus
    detail: str
    attempts: int
    provider_id: str | None = None
    retry_after_seconds: int = 0  # for FAILED: when trying again may work


class SmsProvider(Protocol):
    """A place SMS are handed to."""

    def accepting(self) -> bool:
        """False while the provider is known to fail (refuse before spending rate limits)."""
        ...

    def retry_after_seconds(self) -> int:
        """Seconds until `accepting` may turn True again."""
        ...

    async def send(self, sms: OutgoingSms) -> ProviderResult:
        """Hand `sms` over; never raises for a provider failure (the result says it)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class SinkSmsProvider:
    """Dev/test: one JSON file per SMS in `directory` (the phone a developer reads)."""

    def __init__(self, directory: Path, *, sender: str) -> None:
        self._directory = directory
        self._sender = sender

    def accepting(self) -> bool:
        """A directory is always there."""
        return True

    def retry_after_seconds(self) -> int:
        """Never waits."""
        return 0

    async def send(self, sms: OutgoingSms) -> ProviderResult:
        """Write `sms` as `<time>-<random>.json` (a duplicate send shows as a second file)."""
        record = {"sms_id": sms.reference, "to": sms.to, "sender": self._sender,
                  "text": sms.text, "sent_at": utc_now().isoformat()}
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        await asyncio.to_thread(self._write, name, json.dumps(record, indent=2) + "\n")
        return ProviderResult(SmsStatus.SENT, f"stored as {name}", attempts=1, provider_id=name)

    def _write(self, name: str, content: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        partial = self._directory / f".{name}.partial"  # readers glob *.json: never half a file
        partial.write_text(content)
        os.replace(partial, self._directory / name)

    async def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class HttpApi:
    """A provider's JSON API: where to POST, how to authenticate, how its fields are named.

    `fields` maps our names (to, sender, text, reference, id) to the provider's; a name ending
    in `[]` sends the value as a one-element list (APIs taking several recipients).
    `constants` are sent as they are with every SMS (a route, an encoding).
    """

    url: str
    headers: Mapping[str, str]  # authentication (secret)
    sender: str
    fields: Mapping[str, str]
    constants: Mapping[str, str]
    timeout_seconds: float
    attempts: int
    backoff_seconds: float


class HttpSmsProvider:
    """POSTs each SMS to the provider's API, with timeouts, retries and a circuit breaker."""

    def __init__(
        self, api: HttpApi, breaker: CircuitBreaker, *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api = api
        self._breaker = breaker
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(api.timeout_seconds),
            headers=dict(api.headers), follow_redirects=False)

    def accepting(self) -> bool:
        """False while the breaker is open."""
        return self._breaker.accepting()

    def retry_after_seconds(self) -> int:
        """Seconds until the breaker lets a trial call through."""
        return self._breaker.retry_after_seconds()

    def _payload(self, sms: OutgoingSms) -> dict[str, Any]:
        ours = {"to": sms.to, "sender": self._api.sender, "text": sms.text,
                "reference": sms.reference}
        payload: dict[str, Any] = dict(self._api.constants)
        for name, value in ours.items():
            theirs = self._api.fields.get(name)
            if not theirs:
                continue  # this provider has no such field
            payload[theirs.removesuffix("[]")] = [value] if theirs.endswith("[]") else value
        return payload

    def _provider_id(self, response: httpx.Response) -> str | None:
        field = self._api.fields.get("id")
        try:
            body = response.json()
        except ValueError:
            return None
        value = body.get(field) if field and isinstance(body, dict) else None
        return str(value) if value is not None else None

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter, so replicas retrying together do not hit the provider at once.
        return float(self._api.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))  # noqa: S311

    async def send(self, sms: OutgoingSms) -> ProviderResult:
        """POST `sms`; retry what surely was not taken, report what may have been."""
        last_problem = "not tried"
        for attempt in range(1, self._api.attempts + 1):
            try:
                self._breaker.before_call()
            except CircuitOpen as error:
                return ProviderResult(SmsStatus.FAILED, f"{last_problem}; {error}", attempt - 1,
                                      retry_after_seconds=error.retry_after_seconds)
            outcome = await self._attempt(sms, attempt)
            if isinstance(outcome, ProviderResult):
                return outcome
            last_problem = outcome
            if attempt < self._api.attempts:
                await self._sleep(self._backoff(attempt))
        return ProviderResult(SmsStatus.FAILED, last_problem, self._api.attempts,
                              retry_after_seconds=max(1, self._breaker.retry_after_seconds()))

    async def _attempt(self, sms: OutgoingSms, attempt: int) -> ProviderResult | str:
        """One POST: its result, or why it surely failed (then it may be retried)."""
        try:
            response = await self._client.post(
                self._api.url, json=self._payload(sms), headers={"Idempotency-Key": sms.reference})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            self._breaker.failed()
            return f"provider unreachable ({type(error).__name__})"
        except httpx.TransportError as error:  # the request left: it may have been taken
            self._breaker.failed()
            return ProviderResult(SmsStatus.UNCERTAIN,
                                  f"no answer after sending ({type(error).__name__})", attempt)
        except BaseException:
            self._breaker.released()  # cancelled: do not keep a half-open trial forever
            raise
        status = response.status_code
        if response.is_success:
            self._breaker.succeeded()
            return ProviderResult(SmsStatus.SENT, f"HTTP {status}", attempt,
                                  provider_id=self._provider_id(response))
        if status in _NOT_TAKEN:
            self._breaker.failed()
            return f"provider answered HTTP {status}"
        if status >= 500:
            self._breaker.failed()
            return ProviderResult(SmsStatus.UNCERTAIN, f"provider answered HTTP {status}", attempt)
        self._breaker.succeeded()  # the provider is up; it refused this request (number, account)
        return ProviderResult(SmsStatus.FAILED, f"provider refused the SMS (HTTP {status})",
                              attempt)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()


def provider_from_settings(
    settings: NotifierSettings, *, transport: httpx.AsyncBaseTransport | None = None,
) -> SmsProvider:
    """The provider the settings choose (`transport`: tests put a fake server behind it)."""
    if settings.sms_provider == "sink":
        return SinkSmsProvider(Path(settings.sms_sink_dir), sender=settings.sms_sender)
    api = HttpApi(
        url=settings.sms_api_url, headers=settings.sms_api_headers, sender=settings.sms_sender,
        fields=settings.sms_api_fields, constants=settings.sms_api_constants,
        timeout_seconds=settings.sms_timeout_seconds,
        attempts=settings.sms_attempts, backoff_seconds=settings.sms_backoff_seconds)
    breaker = CircuitBreaker(failure_limit=settings.sms_breaker_failures,
                             reset_after=settings.sms_breaker_reset_seconds, clock=time.monotonic)
    return HttpSmsProvider(api, breaker, transport=transport)
