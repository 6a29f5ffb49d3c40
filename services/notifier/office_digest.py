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
from urllib.parse import quote

from libs.contracts.requests import RequestSubmitted
from services.notifier.domain import admin_link, mail_language, one_line
from services.notifier.mail_templates import DEFAULT_BRANDING, Branding, Envelope, render_mail
from services.notifier.request_mails import kind_label


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


def digest_mail(
    digest_id: str, dossier_id: str, lines: list[str], *, sender: str, office: str,
    public_url: str, language: str, branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The office mail of one digest (or of one item mailed at once, `digest_id` then being
    `<event id>.<mail kind>`): the single-item mail for one, a list for several."""
    code = mail_language(language, branding.default_language, mail_id=digest_id)
    items = read_items(lines)
    shown = [_shown(item, code, public_url) for item in items]
    envelope = Envelope(message_id=f"<{digest_id}@mybroker>", date=items[-1].sent_at,
                        sender=sender, recipient=office)
    dossier = one_line(dossier_id)
    if len(items) == 1:
        [item] = items
        return render_mail("office_request", envelope, language=code, branding=branding,
                           portal_url=public_url, dossier=dossier, category=item.category,
                           item=shown[0], link=desk_link(public_url, item.request_id))
    categories = {item.category for item in items}
    return render_mail("office_digest", envelope, language=code, branding=branding,
                       portal_url=public_url, dossier=dossier,
                       category=categories.pop() if len(categories) == 1 else "mixed",
                       items=shown, link=desk_link(public_url, dossier_id=dossier_id))


@dataclass(frozen=True)
class _ShownItem:
    """One item as the office's mail shows it."""

    kind: str
    kind_label: str
    subject: str
    sent_at: datetime
    what: str
    sender: str
    link: str


def _shown(item: DigestItem, language: str, public_url: str) -> _ShownItem:
    label = kind_label(item.kind, language)
    return _ShownItem(kind=item.kind, kind_label=label, subject=item.subject or label,
                      sent_at=item.sent_at, what=item.what, sender=item.sender,
                      link=desk_link(public_url, item.request_id) if item.request_id else "")
