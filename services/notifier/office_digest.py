"""The office's mails about what clients sent in one dossier (pure, no I/O).

A client's new request, message or reply is mailed to the office at once when the dossier was
quiet (to the address of the request's kind: claims to the claims desk...); what the same
dossier sends to the same address within the following minute is gathered into one digest,
mailed when the minute is over: a burst makes two mails, not one mail each. A digest of a
single item reads exactly like the single mail.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

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
from services.notifier.request_mails import kind_label

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

# "{count} new messages" per kind; "mixed" when a digest holds several kinds.
PLURAL_HEADLINES = {
    "nl": {"message": "{count} nieuwe berichten", "request": "{count} nieuwe aanvragen",
           "reply": "{count} nieuwe antwoorden van klanten",
           "mixed": "{count} nieuwe berichten en aanvragen"},
    "fr": {"message": "{count} nouveaux messages", "request": "{count} nouvelles demandes",
           "reply": "{count} nouvelles réponses de clients",
           "mixed": "{count} nouveaux messages et demandes"},
    "en": {"message": "{count} new messages", "request": "{count} new requests",
           "reply": "{count} new replies from clients",
           "mixed": "{count} new messages and requests"},
}

# The single mail's extra lines: what kind of request, who sent it.
DETAIL_TEXTS = {
    "nl": {"kind": "Soort: {kind}", "sender": "Van: {sender}", "reply": "(antwoord)"},
    "fr": {"kind": "Type : {kind}", "sender": "De : {sender}", "reply": "(réponse)"},
    "en": {"kind": "Kind: {kind}", "sender": "From: {sender}", "reply": "(reply)"},
}


@dataclass(frozen=True)
class DigestItem:
    """One client submission or reply, as the office reads it."""

    event_id: str
    kind: str
    subject: str
    sent_at: datetime
    what: str = "new"  # new (a request or message) | reply (the client answered in a thread)
    request_id: str = ""
    sender: str = ""

    @property
    def category(self) -> str:
        """message | request | reply: what the headline calls it."""
        if self.what == "reply":
            return "reply"
        return "message" if self.kind == "message" else "request"


def _line(event_id: str, kind: str, subject: str, sent_at: datetime, *, what: str,
          request_id: str, sender: str) -> str:
    return json.dumps({"event_id": event_id, "kind": kind, "subject": one_line(subject),
                       "sent_at": sent_at.isoformat(), "what": what, "request_id": request_id,
                       "sender": one_line(sender)}, sort_keys=True)


def digest_item(event: RequestSubmitted) -> str:
    """The submission as one JSON line: the same event always gives the same line, so a
    redelivered event is recognised in the digest it already joined."""
    return _line(event.event_id, event.kind, event.subject, event.occurred_at, what="new",
                 request_id=event.request_id,
                 sender=event.sent_by_name)


def reply_item(event_id: str, kind: str, subject: str, sent_at: datetime, *, request_id: str,
               author_name: str) -> str:
    """A client's reply in a thread as one JSON line (deterministic like digest_item)."""
    return _line(event_id, kind, subject, sent_at, what="reply", request_id=request_id,
                 sender=author_name)


def read_items(lines: list[str]) -> list[DigestItem]:
    """The digest's items in the order they were sent (lines of older versions included)."""
    items = []
    for line in lines:
        value = json.loads(line)
        items.append(DigestItem(event_id=value["event_id"], kind=value["kind"],
                                subject=value["subject"],
                                sent_at=datetime.fromisoformat(value["sent_at"]),
                                what=value.get("what", "new"),
                                request_id=value.get("request_id", ""),
                                sender=value.get("sender", "")))
    return sorted(items, key=lambda item: (item.sent_at, item.event_id))


def desk_link(public_url: str, request_id: str = "", dossier_id: str = "") -> str:
    """The office's request desk: one request's page, or the desk filtered on a dossier."""
    base = admin_link(public_url)
    if request_id:
        return f"{base}/desk/{quote(request_id, safe='')}"
    if dossier_id:
        return f"{base}/desk?dossier_id={quote(dossier_id, safe='')}"
    return f"{base}/desk"


def _shown_subject(item: DigestItem, code: str) -> str:
    return item.subject or kind_label(item.kind, code)


def digest_mail(
    digest_id: str, dossier_id: str, lines: list[str], *, sender: str, office: str,
    public_url: str, language: str,
) -> EmailMessage:
    """The office mail of one digest (or of one item mailed at once, `digest_id` then being
    `<event id>.<mail kind>`): the single-item mail for one, a list for several."""
    code = mail_language(language)
    items = read_items(lines)
    dossier = one_line(dossier_id)
    if len(items) == 1:
        [item] = items
        text = NEW_REQUEST_TEXTS[code]
        headlines = REQUEST_HEADLINES[code]
        details = DETAIL_TEXTS[code]
        extra = [] if item.kind == "message" else [
            details["kind"].format(kind=kind_label(item.kind, code))]
        if item.sender:
            extra.append(details["sender"].format(sender=item.sender))
        values = {"headline": headlines.get(item.category, headlines["request"]),
                  "dossier": dossier, "subject": _shown_subject(item, code),
                  "sent_at": shown_time(item.sent_at),
                  "link": desk_link(public_url, item.request_id)}
        body = text.body.format(**values)
        if extra:  # after the headline's paragraph
            head, _, rest = body.partition("\n\n")
            body = f"{head}\n\n" + "\n".join(extra) + f"\n{rest}"
    else:
        text = DIGEST_TEXTS[code]
        categories = {item.category for item in items}
        plural = PLURAL_HEADLINES[code]
        category = categories.pop() if len(categories) == 1 else "mixed"
        reply = DETAIL_TEXTS[code]["reply"]

        def line(item: DigestItem) -> str:
            label = "" if item.kind == "message" else f"{kind_label(item.kind, code)}: "
            marker = f" {reply}" if item.what == "reply" else ""
            who = f" · {item.sender}" if item.sender else ""
            link = f"\n  {desk_link(public_url, item.request_id)}" if item.request_id else ""
            return (f"- {shown_time(item.sent_at)} · {label}{_shown_subject(item, code)}"
                    f"{marker}{who}{link}")

        values = {"headline": plural.get(category, plural["mixed"]).format(count=len(items)),
                  "dossier": dossier, "link": desk_link(public_url, dossier_id=dossier_id),
                  "lines": "\n".join(line(item) for item in items)}
        body = text.body.format(**values)
    message = EmailMessage()
    message["Message-ID"] = f"<{digest_id}@mybroker>"
    message["Date"] = format_datetime(items[-1].sent_at)
    message["From"] = sender
    message["To"] = office
    message["Subject"] = text.subject.format(**values)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(body)
    return message
