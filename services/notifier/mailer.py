"""Sends mails over SMTP (aiosmtplib), telling a refusal from a hand-off whose outcome is unknown.

SMTP has no idempotency: once the message data went out, a lost answer leaves it unknown whether
the relay accepted the mail. Before that point (connection, sender, recipients) or on a negative
answer, the mail certainly did not leave and may be tried again.
"""

import contextlib
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender
from prometheus_client import Counter

from services.notifier.config import NotifierSettings

mails = Counter(
    "mybroker_notifier_mails_total",
    "Mails handed to SMTP, by outcome (sent, failed: refused or unreachable, unknown: no answer "
    "after the data went out)",
    ["outcome"],
)


SERVICE_CLOSING = 421  # the relay ends the session (idle timeout, shutting down)
MAX_IDLE_CONNECTIONS = 8  # as many as mails are handed over at once, about


class NotHandedOver(Exception):
    """SMTP refused the mail or could not be reached: it did not leave; trying again is safe."""


class NoAnswer(Exception):
    """The data went out but the relay's answer never came: the mail may or may not have left."""


class _DataTrackingSmtp(aiosmtplib.SMTP):
    """aiosmtplib's client, noting when the message data starts to go out."""

    data_started = False

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(*args, **kwargs)


class SmtpMailer:
    """Hands mails to the office's SMTP relay (a local sink in dev), keeping a few connections
    open between mails: a new connection per mail (connect, EHLO, QUIT) cost as much as the
    mail itself."""

    def __init__(self, settings: NotifierSettings, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._idle: list[tuple[_DataTrackingSmtp, float]] = []  # (connection, idle since)

    async def send(self, message: EmailMessage, *, flat: str | None = None) -> None:
        """Deliver `message` to its `To` recipients; raise NotHandedOver when it certainly did
        not leave, NoAnswer when it may have. `flat`: the message as `as_string()` gave it
        (the caller stored it), sent as is when it is plain ASCII instead of flattening the
        message once more."""
        smtp = self._take_idle()
        wire = wire_form(message, flat)
        if smtp is not None:
            try:
                await self._send_on(smtp, message, wire, reused=True)
                return
            except _Stale:
                pass  # the relay closed it meanwhile; nothing went out: a fresh one
        smtp = self._new_connection()
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            mails.labels("failed").inc()
            raise NotHandedOver(str(error)) from error
        await self._send_on(smtp, message, wire, reused=False)

    async def _send_on(self, smtp: "_DataTrackingSmtp", message: EmailMessage,
                       wire: "tuple[str, list[str], bytes] | None", *, reused: bool) -> None:
        smtp.data_started = False
        try:
            if wire is None:
                await smtp.send_message(message)
            else:
                await smtp.sendmail(*wire)
        except aiosmtplib.SMTPResponseException as refused:  # a negative answer: not accepted
            self._discard(smtp)
            if reused and refused.code == SERVICE_CLOSING and not smtp.data_started:
                raise _Stale from refused
            mails.labels("failed").inc()
            raise NotHandedOver(str(refused)) from refused
        except (aiosmtplib.SMTPException, OSError) as error:
            self._discard(smtp)
            if smtp.data_started:
                mails.labels("unknown").inc()
                raise NoAnswer(str(error)) from error
            if reused:
                raise _Stale from error
            mails.labels("failed").inc()
            raise NotHandedOver(str(error)) from error
        mails.labels("sent").inc()
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append((smtp, self._clock()))
        else:
            self._discard(smtp)

    def _take_idle(self) -> "_DataTrackingSmtp | None":
        """The most recently used open connection, closing those idle too long (a relay drops
        them after its own timeout)."""
        keep = self._settings.smtp_keep_alive_seconds
        now = self._clock()
        while self._idle:
            smtp, since = self._idle.pop()
            if keep > 0 and now - since <= keep and smtp.is_connected:
                return smtp
            self._discard(smtp)
        return None

    def _new_connection(self) -> "_DataTrackingSmtp":
        settings = self._settings
        return _DataTrackingSmtp(
            hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username or None, password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls, use_tls=settings.smtp_implicit_tls,
            timeout=settings.smtp_timeout_seconds)

    @staticmethod
    def _discard(smtp: "_DataTrackingSmtp") -> None:
        if smtp.is_connected:
            smtp.close()

    async def close(self) -> None:
        """Say goodbye on the open connections (the service stops)."""
        while self._idle:
            smtp, _ = self._idle.pop()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
            self._discard(smtp)


def wire_form(message: EmailMessage,
              flat: str | None) -> tuple[str, list[str], bytes] | None:
    """Sender, recipients and the bytes aiosmtplib's send_message would send for `message`,
    taken from `flat` (its `as_string()`): the same text with CRLF line ends when all of it
    is ASCII, no part is 8-bit, no address needs SMTPUTF8 and no Bcc is to be removed; else
    None (send_message flattens it)."""
    if flat is None or not flat.isascii() or "\r" in flat:
        return None
    if any(name in message for name in ("Bcc", "Resent-Bcc", "Resent-Date")):
        return None
    if any(str(part.get("Content-Transfer-Encoding", "")).lower() in ("8bit", "binary")
           for part in message.walk()):
        return None  # as_string() wrote that body in base64; SMTP sends it as it is
    sender, recipients = extract_sender(message), extract_recipients(message)
    if sender is None or not recipients or not sender.isascii() \
            or not all(recipient.isascii() for recipient in recipients):
        return None
    return sender, recipients, flat.replace("\n", "\r\n").encode("ascii")


class _Stale(Exception):
    """A kept connection the relay had closed: nothing was sent on it."""
