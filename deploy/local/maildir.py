"""Reading the mails the local SMTP sink stored, as a person reading their inbox would."""

import email
import email.policy
import mailbox
import re
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

ACTIVATION_LINK = re.compile(r"https?://[^\s\"'<>]+/activate\?token=([A-Za-z0-9_\-]+)")


@dataclass(frozen=True)
class ReceivedMail:
    """One stored mail: its recipients, subject, Message-ID and readable text (all parts)."""

    key: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    text: str


def _text_of(message: EmailMessage) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def read_mails(maildir: Path) -> list[ReceivedMail]:
    """Every mail in `maildir` (empty when the sink has not created it yet)."""
    if not (maildir / "new").is_dir():
        return []
    box = mailbox.Maildir(maildir, factory=None, create=False)
    mails = []
    for key in box.iterkeys():
        message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
        recipients = tuple(address.lower() for _, address in
                           getaddresses(message.get_all("To", []) + message.get_all("Cc", [])))
        mails.append(ReceivedMail(key=key, recipients=recipients,
                                  # A long subject folded onto its own line keeps the fold's space.
                                  subject=str(message.get("Subject", "")).strip(),
                                  message_id=str(message.get("Message-ID", "")),
                                  text=_text_of(message)))
    return mails


def mails_to(maildir: Path, recipient: str) -> list[ReceivedMail]:
    """The mails addressed to `recipient`."""
    return [mail for mail in read_mails(maildir) if recipient.lower() in mail.recipients]


def wait_for_mail(
    maildir: Path, recipient: str, *, containing: str = "", timeout: float = 30.0
) -> ReceivedMail:
    """Wait for a mail to `recipient` whose subject or text has `containing`."""
    deadline = time.monotonic() + timeout
    while True:
        found = [mail for mail in mails_to(maildir, recipient)
                 if containing in mail.text or containing in mail.subject]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no mail to {recipient} containing {containing!r} after "
                               f"{timeout:.0f} s in {maildir}")
        time.sleep(0.2)


def activation_token(mail: ReceivedMail) -> str:
    """The token of the activation link in an invitation mail."""
    match = ACTIVATION_LINK.search(mail.text)
    if match is None:
        raise ValueError(f"no activation link in the mail {mail.subject!r}:\n{mail.text}")
    return match.group(1)
