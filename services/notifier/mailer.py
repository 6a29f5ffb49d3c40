"""Sends mails over SMTP (aiosmtplib), telling a refusal from a hand-off whose outcome is unknown.

SMTP has no idempotency: once the message data went out, a lost answer leaves it unknown whether
the relay accepted the mail. Before that point (connection, sender, recipients) or on a negative
answer, the mail certainly did not leave and may be tried again.
"""

from email.message import EmailMessage
from typing import Any

import aiosmtplib
from prometheus_client import Counter

from services.notifier.config import NotifierSettings

mails = Counter(
    "mybroker_notifier_mails_total",
    "Mails handed to SMTP, by outcome (sent, failed: refused or unreachable, unknown: no answer "
    "after the data went out)",
    ["outcome"],
)


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
    """Hands mails to the office's SMTP relay (a local sink in dev)."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its `To` recipients; raise NotHandedOver when it certainly did
        not leave, NoAnswer when it may have."""
        settings = self._settings
        smtp = _DataTrackingSmtp(
            hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username or None, password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds)
        try:
            async with smtp:
                await smtp.send_message(message)
        except aiosmtplib.SMTPResponseException as refused:  # a negative answer: not accepted
            mails.labels("failed").inc()
            raise NotHandedOver(str(refused)) from refused
        except (aiosmtplib.SMTPException, OSError) as error:
            if smtp.data_started:
                mails.labels("unknown").inc()
                raise NoAnswer(str(error)) from error
            mails.labels("failed").inc()
            raise NotHandedOver(str(error)) from error
        mails.labels("sent").inc()
