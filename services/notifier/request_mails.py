"""The client's mails about their requests and the client-sheet reminder (pure, no I/O).

A request's news (the office answered, the status changed) is gathered per request for a
minute after the last change (at most five): one mail tells the latest state, and a status
that went back to what the client already knew tells nothing. The baseline is the status
before the window's first change: the one the client was last told of (the confirmation
page says "pending"; each mail tells the status of its moment).

The mail names the request (kind, subject, date) and what changed, never the office's answer
or a refusal's reason: a mail crosses relays unencrypted, is forwarded and sits in shared
inboxes, and answers about claims or personal data may hold health, bank or national-register
data. One link leads to the request in the portal, behind the client's login.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import quote

from services.notifier.domain import mail_language, one_line
from services.notifier.mail_templates import (
    DEFAULT_BRANDING,
    Branding,
    Envelope,
    _mark,
    render_mail,
    renderer,
)

# The request kinds as the pages name them (manual 3.2, 4.1-4.5, 6).
KIND_NAMES = {"message": _mark("Message"), "personal_data": _mark("Change personal data"),
              "address": _mark("Change address"), "family_member": _mark("Add a family member"),
              "claim": _mark("Claim declaration"), "client_sheet": _mark("Client sheet")}
OTHER_KIND = _mark("Request")


def kind_label(kind: str, language: str) -> str:
    """The request kind's name in `language` (a kind this notifier does not know: "request")."""
    translations = renderer().gettext(mail_language(language))
    return translations.gettext(KIND_NAMES.get(kind, OTHER_KIND))


# --- what a request's window of changes tells the client ------------------------------------


@dataclass(frozen=True)
class Change:
    """One event of a request's window: an office answer or a status change."""

    event_id: str
    at: datetime
    what: str  # answer | status
    old_status: str = ""
    new_status: str = ""


@dataclass(frozen=True)
class ClientUpdate:
    """What one mail tells: how many answers arrived, and the new status if it differs from
    the one the client knew (None: unchanged)."""

    answers: int
    status: str | None

    @property
    def worth_a_mail(self) -> bool:
        """Nothing to tell (a status that flipped back, no answer): no mail."""
        return self.answers > 0 or self.status is not None


def status_item(event_id: str, at: datetime, old_status: str, new_status: str) -> str:
    """A status change as one JSON line (the same event, the same line: a redelivery is found)."""
    return json.dumps({"event_id": event_id, "at": at.isoformat(), "what": "status",
                       "old": old_status, "new": new_status}, sort_keys=True)


def answer_item(event_id: str, at: datetime) -> str:
    """An office answer as one JSON line."""
    return json.dumps({"event_id": event_id, "at": at.isoformat(), "what": "answer"},
                      sort_keys=True)


def read_changes(lines: list[str]) -> list[Change]:
    """The window's changes in the order they happened."""
    changes = []
    for line in lines:
        value = json.loads(line)
        changes.append(Change(event_id=value["event_id"], at=datetime.fromisoformat(value["at"]),
                              what=value["what"], old_status=value.get("old", ""),
                              new_status=value.get("new", "")))
    return sorted(changes, key=lambda change: (change.at, change.event_id))


def in_status_order(statuses: list[Change]) -> list[Change]:
    """Status changes in the order they happened: by time, and changes of the same
    millisecond chained (each one leaves the status the previous one reached)."""
    remaining = sorted(statuses, key=lambda change: (change.at, change.event_id))
    ordered: list[Change] = []
    while remaining:
        same = [change for change in remaining if change.at == remaining[0].at]
        reached = ordered[-1].new_status if ordered else None
        follows = [change for change in same if change.old_status == reached]
        reached_by_others = {change.new_status for change in same}
        starts = [change for change in same if change.old_status not in reached_by_others]
        pick = (follows or starts or same)[0]
        ordered.append(pick)
        remaining.remove(pick)
    return ordered


def client_update(lines: list[str]) -> ClientUpdate:
    """Coalesce a window: the latest status, unless it is back where the window started."""
    changes = read_changes(lines)
    statuses = in_status_order([change for change in changes if change.what == "status"])
    status = None
    if statuses and statuses[-1].new_status != statuses[0].old_status:
        status = statuses[-1].new_status
    return ClientUpdate(answers=sum(change.what == "answer" for change in changes),
                        status=status)


# --- the client's mail -----------------------------------------------------------------------

def request_link(public_url: str, request_id: str, dossier_id: str) -> str:
    """The request's page in the portal, in the dossier it belongs to (a client of several
    dossiers lands in the right one)."""
    return (f"{public_url.rstrip('/')}/requests/{quote(request_id, safe='')}"
            f"?dossier={quote(dossier_id, safe='')}")


@dataclass(frozen=True)
class Recipient:
    """Whom a mail goes to, in which language."""

    user_id: str
    email: str
    display_name: str
    language: str


@dataclass(frozen=True)
class RequestFacts:
    """What the mail names the request by."""

    request_id: str
    dossier_id: str
    kind: str
    subject: str
    sent_at: datetime | None


def request_update_mail(
    mail_id: str, facts: RequestFacts, update: ClientUpdate, recipient: Recipient, *,
    sender: str, public_url: str, at: datetime, branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The client's mail about one request's window: what changed, and the link to it."""
    language = mail_language(recipient.language, branding.default_language, mail_id=mail_id)
    kind = kind_label(facts.kind, language)
    name = one_line(recipient.display_name)
    return render_mail(
        "request_update", _envelope(mail_id, sender, name, recipient.email, at),
        language=language, branding=branding, portal_url=public_url, name=name, kind=kind,
        title=one_line(facts.subject) or kind, sent_at=facts.sent_at,
        answers=update.answers, status=update.status,
        link=request_link(public_url, facts.request_id, facts.dossier_id))


# --- the client sheet's reminder -------------------------------------------------------------

def client_sheet_link(public_url: str, dossier_id: str) -> str:
    """The client sheet's page of the dossier."""
    return f"{public_url.rstrip('/')}/client-sheet?dossier={quote(dossier_id, safe='')}"


def client_sheet_mail_key(dossier_id: str, period: date, user_id: str) -> str:
    """The reminder's mail id: one per dossier, period and client, whatever the events (a
    second event for the same period finds the first one's mail). Hashed: a dossier number
    may hold dots, which the mail id uses as separators."""
    digest = hashlib.sha256(f"{dossier_id}\x1f{period.isoformat()}\x1f{user_id}".encode())
    return f"{digest.hexdigest()[:32]}.client-sheet-due"


def client_sheet_mail(
    mail_id: str, dossier_id: str, recipient: Recipient, *, sender: str, public_url: str,
    at: datetime, branding: Branding = DEFAULT_BRANDING,
) -> EmailMessage:
    """The reminder to confirm the dossier's client sheet, in the client's language."""
    name = one_line(recipient.display_name)
    return render_mail(
        "client_sheet_due", _envelope(mail_id, sender, name, recipient.email, at),
        language=mail_language(recipient.language, branding.default_language, mail_id=mail_id),
        branding=branding, portal_url=public_url, name=name, dossier=one_line(dossier_id),
        link=client_sheet_link(public_url, dossier_id))


def _envelope(mail_id: str, sender: str, name: str, email: str, at: datetime) -> Envelope:
    return Envelope(message_id=f"<{mail_id}@mybroker>", date=at, sender=sender,
                    recipient=str(Address(display_name=name, addr_spec=email)))
