"""The SMS port's use case: check the caller, the number and the limits, then send exactly once.

Order matters: a replayed key is answered before any limit is spent; an open breaker refuses
before the caller's rate limits are spent (an outage must not lock people out for an hour); the
intent (`sending`) is stored before the provider is called and the outcome after.
"""

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from libs.contracts.sms import SendSmsRequest, SmsReceipt, SmsStatus
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Forbidden, Invalid, RateLimited, Unavailable
from libs.servicekit.logs import get_logger
from services.notifier.config import NotifierSettings
from services.notifier.sms_providers import OutgoingSms, SmsProvider
from services.notifier.sms_rules import (
    InvalidPhoneNumber,
    InvalidSmsParameters,
    RateLimit,
    masked_phone_number,
    normalise_phone_number,
    render_sms,
    request_fingerprint,
)
from services.notifier.sms_store import SmsRecord, SmsStore

log = get_logger(__name__)
RETRY_AFTER_FIELD = "retry_after"  # seconds; the gateway turns it into a Retry-After header

sms_outcomes = Counter(
    "mybroker_notifier_sms_total",
    "SMS handed to the provider, by outcome (sent, failed, uncertain)", ["outcome"])
sms_refused = Counter(
    "mybroker_notifier_sms_refused_total",
    "SMS requests refused before any sending, by reason", ["reason"])


class SmsHandlers:
    """The SMS port (RPC `notifier.rpc.send_sms`)."""

    def __init__(self, store: SmsStore, provider: SmsProvider, settings: NotifierSettings, *,
                 clock: Callable[[], datetime]) -> None:
        self._store = store
        self._provider = provider
        self._region = settings.sms_region
        self._per_number = RateLimit(settings.sms_per_number_per_hour, timedelta(hours=1))
        self._per_account = RateLimit(settings.sms_per_account_per_day, timedelta(days=1))
        self._clock = clock
        # The longest a send can take (every attempt timing out, every back-off at its longest):
        # a `sending` record younger than this is in flight, not left by a crash.
        self._longest_send = timedelta(seconds=settings.sms_timeout_seconds * settings.sms_attempts
                                       + settings.sms_backoff_seconds * 2 ** settings.sms_attempts
                                       + 5)

    async def send_sms(self, request: SendSmsRequest) -> SmsReceipt:
        """Send the templated SMS of `request` once; a replay gets the first receipt."""
        try:
            require_staff(request.caller)  # services call with a staff role; clients never
        except Forbidden:
            sms_refused.labels("forbidden").inc()
            raise
        try:
            number = normalise_phone_number(request.phone_number, self._region)
            text, kept_text = render_sms(request.purpose, request.language, request.parameters)
        except InvalidPhoneNumber as error:
            sms_refused.labels("invalid_number").inc()
            raise Invalid(str(error), fields={"phone_number": str(error)}) from None
        except InvalidSmsParameters as error:
            sms_refused.labels("invalid_parameters").inc()
            raise Invalid("The SMS parameters are not valid.",
                          fields={"parameters": str(error)}) from None
        fingerprint = request_fingerprint(request.purpose, number, request.account_id,
                                          request.language, request.parameters)
        sms_id = request.idempotency_key
        existing = await self._store.find(sms_id)
        if existing is not None:
            replay = await self._replay(existing, fingerprint)
            if replay is not None:
                return replay
        now = self._clock()
        if not self._provider.accepting():
            sms_refused.labels("provider_unavailable").inc()
            raise _unavailable(self._provider.retry_after_seconds())
        await self._reserve(f"account:{request.account_id}", self._per_account, now)
        await self._reserve(f"number:{number}", self._per_number, now)
        if existing is None:
            claimed = await self._store.claim(sms_id, {
                "fingerprint": fingerprint, "phone_number": number, "purpose": request.purpose,
                "account_id": request.account_id, "language": request.language,
                "text": kept_text, "requested_at": now, "caller": request.caller.user_id})
        else:
            claimed = await self._store.claim_again(sms_id, now)
        if not claimed:  # a concurrent request with the same key won: answer as a replay
            raced = await self._store.find(sms_id)
            assert raced is not None
            return await self._replay(raced, fingerprint) or raced.receipt()
        return await self._deliver(OutgoingSms(sms_id, number, text))

    async def _replay(self, existing: SmsRecord, fingerprint: str) -> SmsReceipt | None:
        """The answer to a key seen before, or None when a failed SMS may be tried again."""
        if existing.fingerprint != fingerprint:
            sms_refused.labels("key_reused").inc()
            raise Conflict("This idempotency key was used for another SMS.")
        if existing.status is SmsStatus.FAILED:
            return None
        if existing.status is SmsStatus.SENDING:
            now = self._clock()
            in_flight_until = existing.requested_at + self._longest_send
            if now < in_flight_until:
                wait = max(1, math.ceil((in_flight_until - now).total_seconds()))
                raise Conflict("This SMS is being sent; ask again in a moment.",
                               fields={RETRY_AFTER_FIELD: str(wait)})
            marked = await self._store.mark_uncertain(existing.sms_id, now)
            log.warning("sms found sending on a retry; marked uncertain", sms_id=existing.sms_id)
            return (marked or existing).receipt()
        log.info("sms already handled", sms_id=existing.sms_id, status=existing.status)
        return existing.receipt()

    async def _reserve(self, key: str, rule: RateLimit, now: datetime) -> None:
        decision = await self._store.reserve(key, rule, now)
        if not decision.allowed:
            sms_refused.labels("rate_limited").inc()
            kind = "number" if key.startswith("number:") else "account"
            raise RateLimited(
                f"Too many SMS for this {kind}: at most {rule.limit} per "
                f"{_window_words(rule.window)}. Try again in "
                f"{_minutes(decision.retry_after_seconds)}.",
                fields={RETRY_AFTER_FIELD: str(decision.retry_after_seconds)})

    async def _deliver(self, sms: OutgoingSms) -> SmsReceipt:
        result = await self._provider.send(sms)
        record = await self._store.finish(sms.reference, result.status, self._clock(), {
            "detail": result.detail, "attempts": result.attempts,
            "provider_id": result.provider_id})
        sms_outcomes.labels(result.status.value).inc()
        log.info("sms handed to the provider", sms_id=sms.reference, status=result.status,
                 to=masked_phone_number(sms.to), attempts=result.attempts, detail=result.detail)
        if result.status is SmsStatus.FAILED:
            raise _unavailable(result.retry_after_seconds or 60)
        return record.receipt()


def _unavailable(retry_after: int) -> Unavailable:
    return Unavailable("The SMS provider cannot be reached at the moment; try again later.",
                       fields={RETRY_AFTER_FIELD: str(max(1, retry_after))})


def _window_words(window: timedelta) -> str:
    return "day" if window >= timedelta(days=1) else "hour"


def _minutes(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
