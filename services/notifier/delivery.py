"""Hands mails to SMTP through the explicit window of deliveries.py: claimed (`sending`) before,
settled (`sent`, `failed`) after; a mail found still `sending` is never repeated but made
`uncertain`, counted, and left to staff. A refused hand-off is tried again in-process with
exponential back-off and jitter up to the retry limit; then the mail is dead-lettered (shown to
staff) and so is its event."""

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum

from prometheus_client import Counter, Gauge

from libs.contracts.envelope import Event, utc_now
from libs.servicekit.bus import DeadLetter
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from services.notifier.config import NotifierSettings
from services.notifier.deliveries import (
    MailState,
    OnClaimed,
    mail_id_of,
    on_claimed,
    retry_pause,
    stalled_before,
)
from services.notifier.mailer import NoAnswer, NotHandedOver, SmtpMailer
from services.notifier.store import MailStore

log = get_logger(__name__)
uncertain_mails = Counter(
    "mybroker_notifier_mails_uncertain_total",
    "Mails whose hand-off to SMTP never recorded an outcome, made uncertain for staff (not "
    "sent again), by reason", ["reason"])
dead_lettered_mails = Counter(
    "mybroker_notifier_mails_dead_lettered_total",
    "Mails SMTP refused up to the retry limit, left to staff (the event is dead-lettered)")
smtp_retries = Counter(
    "mybroker_notifier_smtp_retries_total",
    "Refused hand-offs tried again after a back-off pause")
mails_awaiting_decision = Gauge(
    "mybroker_notifier_mails_awaiting_decision",
    "Uncertain mails staff have not resent yet (as of the last periodic check)")


class HandOff(StrEnum):
    """How one attempt ended."""

    SENT = "sent"
    REFUSED = "refused"  # surely not sent: may be tried again
    UNKNOWN = "unknown"  # the data went out, no answer came: made uncertain


class MailDelivery:
    """Sends each mail at most once by itself; what it cannot be sure of goes to staff."""

    def __init__(self, store: MailStore, mailer: SmtpMailer, settings: NotifierSettings, *,
                 clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._store = store
        self._sleep = sleep
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        # mail id -> (lock, holders): the same event delivered twice at once is sent once.
        self._in_flight: dict[str, tuple[asyncio.Lock, int]] = {}
        # mail id -> the delivery under way, which outlives the handler that started it.
        self._running: dict[str, asyncio.Future[None]] = {}

    async def deliver(self, event: Event, mail: EmailMessage,
                      fields: Document | None = None) -> None:
        """`_deliver`, carried to its end even when the caller is cancelled: the broker going
        away cancels the handlers of its deliveries, and a hand-off cut off after its claim
        would be left `sending` and made uncertain by the event's redelivery, the mail never
        sent. A redelivery arriving meanwhile waits for the running one and shares its end."""
        mail_id = mail_id_of(str(mail["Message-ID"]))
        running = self._running.get(mail_id)
        if running is None:
            running = asyncio.ensure_future(self._deliver(event, mail, fields))
            self._running[mail_id] = running
            running.add_done_callback(lambda done: self._finished(mail_id, done))
        await asyncio.shield(running)

    def _finished(self, mail_id: str, done: asyncio.Future[None]) -> None:
        if self._running.get(mail_id) is done:
            del self._running[mail_id]
        if not done.cancelled() and done.exception() is not None:
            log.info("delivery ended with an error", mail_id=mail_id,
                     error=repr(done.exception()))  # also retrieved when nobody waits any more

    async def _deliver(self, event: Event, mail: EmailMessage,
                       fields: Document | None = None) -> None:
        """Send the mail `event` caused, unless it was claimed before: a sent, uncertain or
        held mail is left alone, one still `sending` becomes uncertain, a failed or
        dead-lettered one (its event replayed) is tried again. A refusal is tried again here
        after a pause growing each time (with jitter) until the retry limit; then the mail is
        dead-lettered for staff and DeadLetter raised, so the event goes to the dead-letter
        queue.
        `fields` are kept on the mail's record (what later mails look up, its language)."""
        mail_id = mail_id_of(str(mail["Message-ID"]))
        async with self._exclusive(mail_id):
            now = self._clock()
            attempt = 1
            flat = mail.as_string()  # stored, and sent as is (see SmtpMailer.send)
            if not await self._store.claim_new({
                "_id": mail_id, "kind": mail_id.split(".")[1], "recipient": str(mail["To"]),
                "subject": str(mail["Subject"]), "dossier_id": event.dossier_id,
                "event_id": event.event_id, "routing_key": event.routing_key,
                "message": flat, **(fields or {})}, now):
                found = await self._store.find(mail_id)
                if found is None:  # forgotten between the two calls (TTL): redeliver later
                    raise NotHandedOver(f"mail {mail_id} vanished while claiming it")
                decision = on_claimed(MailState(found["state"]))
                if decision == OnClaimed.SKIP:
                    log.info("mail already handled", mail_id=mail_id, state=found["state"],
                             event_id=event.event_id)
                    return
                if decision == OnClaimed.MARK_UNCERTAIN:
                    await self.make_uncertain(mail_id, found["attempt"],
                                              "redelivered_while_sending")
                    return
                claimed = await self._store.claim_again(mail_id, MailState(found["state"]), now)
                if claimed is None:
                    return  # another delivery took the retry meanwhile
                attempt = claimed["attempt"]
            tries = 1
            while await self.hand_over(mail_id, attempt, mail, flat) == HandOff.REFUSED:
                if tries >= self._settings.smtp_retry_attempts:
                    await self.give_up(mail_id, attempt)
                    raise DeadLetter(f"SMTP refused mail {mail_id} {tries} times")
                await self._sleep(retry_pause(tries, self._settings.smtp_retry_base_seconds,
                                              self._settings.smtp_retry_max_seconds))
                smtp_retries.inc()
                claimed = await self._store.claim_again(mail_id, MailState.FAILED, self._clock())
                if claimed is None:
                    return  # another delivery (a redelivered event) took the retry
                attempt = claimed["attempt"]
                tries += 1

    async def give_up(self, mail_id: str, attempt: int) -> None:
        """The retry limit is reached: the mail is dead-lettered, counted, shown to staff."""
        found = await self._store.find(mail_id)
        error = (found or {}).get("last_error", "")
        if await self._store.mark_dead(mail_id, attempt, error, self._clock()):
            dead_lettered_mails.inc()
            log.error("mail dead-lettered: SMTP refused it up to the retry limit; staff decide",
                      mail_id=mail_id, attempt=attempt, error=error)

    async def hand_over_window(self, mail_id: str, attempt: int, mail: EmailMessage) -> HandOff:
        """One attempt at a claimed window (office digest, request news, client digest): a
        refusal is tried again by a mail check after a growing pause, until the retry limit
        dead-letters it."""
        outcome = await self.hand_over(mail_id, attempt, mail)
        if outcome == HandOff.REFUSED:
            settings = self._settings
            if attempt >= settings.smtp_retry_attempts:
                await self.give_up(mail_id, attempt)
            else:  # the same growing pause as an event's mail, between two mail checks
                pause = retry_pause(attempt, settings.smtp_retry_base_seconds,
                                    settings.smtp_retry_max_seconds)
                await self._store.retry_after(mail_id, attempt,
                                              self._clock() + timedelta(seconds=pause))
        return outcome

    async def hand_over(self, mail_id: str, attempt: int, mail: EmailMessage,
                        flat: str | None = None) -> HandOff:
        """One attempt at a claimed mail, settled in the store whatever its outcome. `flat`:
        the mail's `as_string()`, when the caller has it (not flattened twice)."""
        try:
            if flat is not None and isinstance(self._mailer, SmtpMailer):
                await self._mailer.send(mail, flat=flat)
            else:
                await self._mailer.send(mail)
        except NotHandedOver as refused:
            await self._store.mark_failed(mail_id, attempt, str(refused))
            log.warning("mail not handed over; tried again", mail_id=mail_id, error=str(refused))
            return HandOff.REFUSED
        except NoAnswer as lost:
            log.warning("smtp gave no answer after the data", mail_id=mail_id, error=str(lost))
            await self.make_uncertain(mail_id, attempt, "no_smtp_answer")
            return HandOff.UNKNOWN
        self._fault_kill_after_smtp(mail)
        await self._store.mark_sent(mail_id, attempt, self._clock())
        log.info("mail sent", mail_id=mail_id, attempt=attempt)
        return HandOff.SENT

    async def make_uncertain(self, mail_id: str, attempt: int, reason: str) -> None:
        """Record that nobody knows whether the attempt left; counted, and shown to staff."""
        if await self._store.mark_uncertain(mail_id, attempt, reason, self._clock()):
            uncertain_mails.labels(reason).inc()
            log.warning("mail uncertain: it may or may not have left; staff decide",
                        mail_id=mail_id, attempt=attempt, reason=reason)

    async def settle_stalled(self) -> None:
        """Hand-offs cut off by a crash, with no redelivery to find them (office digests,
        resends) become uncertain; then refresh the gauge of mails awaiting staff."""
        stalled_after = timedelta(seconds=self._settings.sending_stalled_after_seconds)
        for mail in await self._store.stalled(stalled_before(self._clock(), stalled_after)):
            await self.make_uncertain(mail["_id"], mail["attempt"], "stalled_while_sending")
        mails_awaiting_decision.set(await self._store.count_uncertain())

    def _fault_kill_after_smtp(self, mail: EmailMessage) -> None:
        """The crash tests' fault-injection hook (off unless configured; refused in prod):
        die at the worst moment, SMTP having accepted the mail and nothing recorded yet."""
        target = self._settings.fault_kill_after_smtp_to
        if target and target in str(mail["To"]):
            log.warning("fault injection: killed after the SMTP hand-off", to=str(mail["To"]))
            os.kill(os.getpid(), signal.SIGKILL)

    @contextlib.asynccontextmanager
    async def _exclusive(self, key: str) -> AsyncIterator[None]:
        lock, holders = self._in_flight.get(key, (asyncio.Lock(), 0))
        self._in_flight[key] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._in_flight[key]
            if holders == 1:
                del self._in_flight[key]
            else:
                self._in_flight[key] = (lock, holders - 1)
