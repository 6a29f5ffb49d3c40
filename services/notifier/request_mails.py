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
from email.utils import format_datetime
from urllib.parse import quote

from services.notifier.domain import MailText, mail_language, one_line, shown_time

# The request kinds as the NL pages name them (manual 3.2, 4.1-4.5, 6).
KIND_LABELS = {
    "nl": {"message": "Bericht", "personal_data": "Persoonlijke gegevens wijzigen",
           "address": "Adres wijzigen", "family_member": "Een familielid toevoegen",
           "claim": "Schade aangifte", "client_sheet": "Klantenfiche"},
    "fr": {"message": "Message", "personal_data": "Modifier les données personnelles",
           "address": "Changer d'adresse", "family_member": "Ajouter un membre de la famille",
           "claim": "Déclaration de sinistre", "client_sheet": "Fiche client"},
    "en": {"message": "Message", "personal_data": "Change personal data",
           "address": "Change address", "family_member": "Add a family member",
           "claim": "Claim declaration", "client_sheet": "Client sheet"},
}
OTHER_KIND = {"nl": "Aanvraag", "fr": "Demande", "en": "Request"}

STATUS_LABELS = {
    "nl": {"pending": "in afwachting", "in_progress": "in behandeling", "accepted": "aanvaard",
           "refused": "geweigerd", "closed": "afgesloten"},
    "fr": {"pending": "en attente", "in_progress": "en traitement", "accepted": "acceptée",
           "refused": "refusée", "closed": "clôturée"},
    "en": {"pending": "pending", "in_progress": "in progress", "accepted": "accepted",
           "refused": "refused", "closed": "closed"},
}


def kind_label(kind: str, language: str) -> str:
    """The request kind's name in `language` (a kind this notifier does not know: "request")."""
    code = mail_language(language)
    return KIND_LABELS[code].get(kind, OTHER_KIND[code])


def status_label(status: str, language: str) -> str:
    """The status as the pages write it."""
    code = mail_language(language)
    return STATUS_LABELS[code].get(status, status)


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

UPDATE_TEXTS = {
    "nl": MailText(
        subject="Nieuws over uw aanvraag: {title}",
        body=(
            "Beste {name},\n\n"
            "Er is nieuws over uw aanvraag bij uw verzekeringsmakelaar:\n\n"
            "{kind}: {title}\n{sent}\n\n"
            "{news}\n\n"
            "U leest alles in MyBroker, onder \"Mijn aanvragen\" (na het aanmelden):\n"
            "{link}\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Du nouveau sur votre demande : {title}",
        body=(
            "Bonjour {name},\n\n"
            "Il y a du nouveau sur votre demande auprès de votre courtier en assurances :\n\n"
            "{kind} : {title}\n{sent}\n\n"
            "{news}\n\n"
            "Vous lirez tout dans MyBroker, sous « Mes demandes » (après connexion) :\n"
            "{link}\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="News about your request: {title}",
        body=(
            "Dear {name},\n\n"
            "There is news about your request to your insurance broker:\n\n"
            "{kind}: {title}\n{sent}\n\n"
            "{news}\n\n"
            "Read everything in MyBroker, under \"My requests\" (after logging in):\n"
            "{link}\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}

NEWS_TEXTS = {
    "nl": {"sent": "Verstuurd op {date}", "answer": "Uw makelaar heeft u geantwoord.",
           "answers": "Uw makelaar heeft u {count} keer geantwoord.",
           "status": "De status van uw aanvraag is nu: {status}.",
           "refused": "De reden leest u in MyBroker."},
    "fr": {"sent": "Envoyée le {date}", "answer": "Votre courtier vous a répondu.",
           "answers": "Votre courtier vous a répondu {count} fois.",
           "status": "Le statut de votre demande est maintenant : {status}.",
           "refused": "Vous en lirez la raison dans MyBroker."},
    "en": {"sent": "Sent on {date}", "answer": "Your broker answered you.",
           "answers": "Your broker answered you {count} times.",
           "status": "The status of your request is now: {status}.",
           "refused": "You can read the reason in MyBroker."},
}


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
    sender: str, public_url: str, at: datetime,
) -> EmailMessage:
    """The client's mail about one request's window: what changed, and the link to it."""
    code = mail_language(recipient.language)
    text = UPDATE_TEXTS[code]
    news_texts = NEWS_TEXTS[code]
    kind = kind_label(facts.kind, code)
    title = one_line(facts.subject) or kind
    news = []
    if update.answers == 1:
        news.append(news_texts["answer"])
    elif update.answers > 1:
        news.append(news_texts["answers"].format(count=update.answers))
    if update.status is not None:
        news.append(news_texts["status"].format(status=status_label(update.status, code)))
        if update.status == "refused":
            news.append(news_texts["refused"])
    sent = (news_texts["sent"].format(date=shown_time(facts.sent_at)[:10])
            if facts.sent_at is not None else "")
    name = one_line(recipient.display_name)
    body = text.body.format(name=name, kind=kind, title=title, sent=sent, news=" ".join(news),
                            link=request_link(public_url, facts.request_id, facts.dossier_id))
    return _mail(mail_id, sender, Address(display_name=name, addr_spec=recipient.email),
                 text.subject.format(title=title), body.replace("\n\n\n", "\n\n"), at)


# --- the client sheet's reminder -------------------------------------------------------------

CLIENT_SHEET_TEXTS = {
    "nl": MailText(
        subject="Uw klantenfiche bij uw verzekeringsmakelaar",
        body=(
            "Beste {name},\n\n"
            "Om u goed te adviseren vraagt uw verzekeringsmakelaar u uw klantenfiche van "
            "dossier {dossier} na te kijken, aan te vullen en te bevestigen. Dat duurt maar "
            "enkele minuten:\n{link}\n\n"
            "Met vriendelijke groeten,\nUw verzekeringsmakelaar\n"
        ),
    ),
    "fr": MailText(
        subject="Votre fiche client chez votre courtier en assurances",
        body=(
            "Bonjour {name},\n\n"
            "Pour bien vous conseiller, votre courtier en assurances vous demande de vérifier, "
            "compléter et confirmer votre fiche client du dossier {dossier}. Cela ne prend que "
            "quelques minutes :\n{link}\n\n"
            "Meilleures salutations,\nVotre courtier en assurances\n"
        ),
    ),
    "en": MailText(
        subject="Your client sheet with your insurance broker",
        body=(
            "Dear {name},\n\n"
            "To advise you well, your insurance broker asks you to review, complete and "
            "confirm the client sheet of dossier {dossier}. It only takes a few minutes:\n"
            "{link}\n\n"
            "Kind regards,\nYour insurance broker\n"
        ),
    ),
}


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
    at: datetime,
) -> EmailMessage:
    """The reminder to confirm the dossier's client sheet, in the client's language."""
    text = CLIENT_SHEET_TEXTS[mail_language(recipient.language)]
    name = one_line(recipient.display_name)
    body = text.body.format(name=name, dossier=one_line(dossier_id),
                            link=client_sheet_link(public_url, dossier_id))
    return _mail(mail_id, sender, Address(display_name=name, addr_spec=recipient.email),
                 text.subject, body, at)


def _mail(mail_id: str, sender: str, recipient: Address, subject: str, body: str,
          at: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = f"<{mail_id}@mybroker>"
    message["Date"] = format_datetime(at)
    message["From"] = sender
    message["To"] = str(recipient)
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(body)
    return message
