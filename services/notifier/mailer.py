"""Sends mails over SMTP (aiosmtplib). A failure raises: the event is then redelivered."""

from email.message import EmailMessage

import aiosmtplib
from prometheus_client import Counter

from services.notifier.config import NotifierSettings

mails = Counter(
    "mybroker_notifier_mails_total", "Mails handed to SMTP, by outcome (sent or failed)",
    ["outcome"],
)


class SmtpMailer:
    """Hands mails to the office's SMTP relay (a local sink in dev)."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its `To` recipients or raise (aiosmtplib.SMTPException, OSError)."""
        settings = self._settings
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except Exception:
            mails.labels("failed").inc()
            raise
        mails.labels("sent").inc()
