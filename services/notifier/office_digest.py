"""The office's mail about what clients sent in one dossier within a minute (pure, no I/O).

A burst of messages in one dossier makes one mail listing them, not one mail each. A digest of a
single message reads exactly like the single "new message" mail (domain.NEW_REQUEST_TEXTS).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from libs.contracts.requests import RequestSubmitted
from services.notifier.domain import (
    NEW_REQUEST_TEXTS,
    REQUEST_HEADLINES,
    MailText,
    admin_link,
    mail_language,
    one_line,
    shown_time,
)

DIGEST_TEXTS = {
    "nl": MailText(
        subject="{headline} in dossier {dossier}",
        body=("{headline} in dossier {dossier}:\n\n{lines}\n\n"
              "Behandel ze in de beheeromgeving:\n{link}\n"),
    ),
    "fr": MailText(
        subject="{headline} dans le dossier {dossier}",
        body=("{headline} dans le dossier {dossier} :\n\n{lines}\n\n"
              "Traitez-les dans l'espace de gestion :\n{link}\n"),
    ),
    "en": MailText(
        subject="{headline} in dossier {dossier}",
        body=("{headline} in dossier {dossier}:\n\n{lines}\n\n"
              "Handle them in the admin area:\n{link}\n"),
    ),
}

# "{count} new messages" per kind; "mixed" when a digest holds messages and requests.
PLURAL_HEADLINES = {
    "nl": {"message": "{count} nieuwe berichten", "request": "{count} nieuwe aanvragen",
           "mixed": "{count} nieuwe berichten en aanvragen"},
    "fr": {"message": "{count} nouveaux messages", "request": "{count} nouvelles demandes",
           "mixed": "{count} nouveaux messages et demandes"},
    "en": {"message": "{count} new messages", "request": "{count} new requests",
           "mixed": "{count} new messages and requests"},
}


@dataclass(frozen=True)
class DigestItem:
    """One message of the digest, as the office reads it."""

    event_id: str
    kind: str
    subject: str
    sent_at: datetime


def digest_item(event: RequestSubmitted) -> str:
    """The message as one JSON line: the same event always gives the same line, so a
    redelivered event is recognised in the digest it already joined."""
    return json.dumps({"event_id": event.event_id, "kind": event.kind,
                       "subject": one_line(event.subject),
                       "sent_at": event.occurred_at.isoformat()}, sort_keys=True)


def read_items(lines: list[str]) -> list[DigestItem]:
    """The digest's messages in the order they were sent."""
    items = []
    for line in lines:
        value = json.loads(line)
        items.append(DigestItem(event_id=value["event_id"], kind=value["kind"],
                                subject=value["subject"],
                                sent_at=datetime.fromisoformat(value["sent_at"])))
    return sorted(items, key=lambda item: (item.sent_at, item.event_id))


def digest_mail(
    digest_id: str, dossier_id: str, lines: list[str], *, sender: str, office: str,
    public_url: str, language: str,
) -> EmailMessage:
    """The office mail of one digest: the single-message mail for one, a list for several."""
    code = mail_language(language)
    items = read_items(lines)
    dossier = one_line(dossier_id)
    if len(items) == 1:
        [item] = items
        text = NEW_REQUEST_TEXTS[code]
        headlines = REQUEST_HEADLINES[code]
        values = {"headline": headlines.get(item.kind, headlines["request"]),
                  "dossier": dossier, "subject": item.subject,
                  "sent_at": shown_time(item.sent_at), "link": admin_link(public_url)}
    else:
        text = DIGEST_TEXTS[code]
        kinds = {item.kind for item in items}
        plural = PLURAL_HEADLINES[code]
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        values = {"headline": plural.get(kind, plural["mixed"]).format(count=len(items)),
                  "dossier": dossier, "link": admin_link(public_url),
                  "lines": "\n".join(f"- {shown_time(item.sent_at)} · {item.subject}"
                                     for item in items)}
    message = EmailMessage()
    message["Message-ID"] = f"<{digest_id}@mybroker>"
    message["Date"] = format_datetime(items[-1].sent_at)
    message["From"] = sender
    message["To"] = office
    message["Subject"] = text.subject.format(**values)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(text.body.format(**values))
    return message
