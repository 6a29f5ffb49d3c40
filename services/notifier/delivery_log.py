"""The dossier's delivery log for staff: every mail the notifier sent, failed to send, held for a
client's digest or gave up on, from the `mails` records; and the resend of a logged mail as a
NEW mail (its own Message-ID), recorded as a resend of the original.

Which mails can be resent: an office digest always (rebuilt from its items); any other mail
only while its body is kept, i.e. until it left (uncertain or dead-lettered). A sent event
mail's body is not kept (it may hold a link that logs in), so it is not resendable; a mail
still failing is being retried by the notifier itself; a held one goes in the client's digest.
"""

from email import message_from_string, policy
from email.message import EmailMessage

from prometheus_client import Counter

from libs.contracts.envelope import new_id, utc_now
from libs.contracts.notifier import (
    DossierMailLog,
    DossierMailsQuery,
    LoggedMail,
    ResendLoggedMailRequest,
)
from libs.servicekit.errors import Conflict, Forbidden, NotFound, Unavailable
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from services.notifier.config import NotifierSettings
from services.notifier.deliveries import MailState
from services.notifier.delivery import HandOff, MailDelivery
from services.notifier.office_digest import digest_mail
from services.notifier.store import DIGEST_KIND, MailStore

log = get_logger(__name__)
resent_as_new = Counter("mybroker_notifier_mails_resent_as_new_total",
                        "Logged mails staff sent again as a new mail")
RESENDABLE_WHILE_KEPT = (MailState.UNCERTAIN, MailState.DEAD_LETTERED)


def resendable(mail: Document) -> bool:
    """Whether the mail's content can be rebuilt for a resend (see the module's doc)."""
    state = mail.get("state")
    if mail.get("kind") == DIGEST_KIND:
        return state not in (MailState.COLLECTING, MailState.SENDING, MailState.FAILED) \
            and bool(mail.get("items"))
    return state in RESENDABLE_WHILE_KEPT and bool(mail.get("message"))


def logged(mail: Document) -> LoggedMail:
    """A `mails` record as the log shows it."""
    sent_at = mail.get("sent_at")
    return LoggedMail(
        mail_id=mail["_id"], kind=mail.get("kind", ""), recipient=mail.get("recipient", ""),
        subject=mail.get("subject", ""), language=mail.get("language"),
        result=mail.get("state", MailState.SENDING.value), attempts=int(mail.get("attempt", 0)),
        created_at=stored_utc(mail["created_at"]),
        sent_at=stored_utc(sent_at) if sent_at is not None else None,
        last_error=mail.get("last_error"), resend_of=mail.get("resend_of"),
        resent_as=list(mail.get("resent_as", [])), resent_by=mail.get("resent_by"),
        digest_id=mail.get("digest_id"), resendable=resendable(mail))


def _staff_only(caller_is_staff: bool) -> None:
    if not caller_is_staff:
        raise Forbidden("Only the broker's staff may see or resend mails.")


class DeliveryLog:
    """The RPCs of the per-dossier delivery log."""

    def __init__(self, store: MailStore, delivery: MailDelivery,
                 settings: NotifierSettings) -> None:
        self._store = store
        self._delivery = delivery
        self._settings = settings

    async def list_dossier_mails(self, query: DossierMailsQuery) -> DossierMailLog:
        """The dossier's mails, the latest first, a page at a time."""
        _staff_only(query.caller.is_staff)
        before = int(query.before) if query.before else None
        found = await self._store.dossier_mails(query.dossier_id, before, query.limit + 1)
        more = len(found) > query.limit
        page = found[:query.limit]
        next_before = str(page[-1]["created_ms"]) if more and page else None
        if more and page and found[query.limit]["created_ms"] == page[-1]["created_ms"]:
            # Mails of the same millisecond on both sides of the cut: the next page starts
            # with all of them (the cursor is a moment).
            cut = page[-1]["created_ms"]
            kept = [mail for mail in page if mail["created_ms"] != cut]
            if kept:
                page, next_before = kept, str(cut + 1)
        return DossierMailLog(mails=[logged(mail) for mail in page], next_before=next_before)

    async def resend_logged_mail(self, request: ResendLoggedMailRequest) -> LoggedMail:
        """Send a logged mail again as a new mail with its own Message-ID, noting the
        original (409 when its content cannot be rebuilt)."""
        _staff_only(request.caller.is_staff)
        original = await self._store.find(request.mail_id)
        if original is None or original.get("dossier_id") != request.dossier_id:
            raise NotFound("This dossier has no mail with this id.")
        if not resendable(original):
            raise Conflict(f"This mail ({original.get('kind')}, {original.get('state')}) "
                           "cannot be rebuilt: it is not resent.")
        kind = original["kind"]
        resend_id = f"{new_id()}.{kind}"
        message = self._rebuilt(original)
        del message["Message-ID"]
        message["Message-ID"] = f"<{resend_id}@mybroker>"
        now = utc_now()
        by = request.caller.user_id
        await self._store.claim_new({
            "_id": resend_id, "kind": kind, "recipient": str(message["To"]),
            "subject": str(message["Subject"]), "dossier_id": original.get("dossier_id"),
            "event_id": original.get("event_id"), "language": original.get("language"),
            "resend_of": original["_id"], "resent_by": by, "message": message.as_string()},
            now)
        await self._store.note_resend(original["_id"], resend_id)
        outcome = await self._delivery.hand_over(resend_id, 1, message)
        if outcome == HandOff.REFUSED:
            raise Unavailable("The mail server did not take the mail; try again later.")
        resent_as_new.inc()
        log.warning("mail resent by staff as a new mail", mail_id=resend_id,
                    resend_of=original["_id"], resent_by=by, outcome=str(outcome))
        record = await self._store.find(resend_id)
        assert record is not None  # just claimed
        return logged(record)

    def _rebuilt(self, mail: Document) -> EmailMessage:
        if mail["kind"] == DIGEST_KIND:
            settings = self._settings
            return digest_mail(mail["_id"], mail["dossier_id"], mail["items"],
                               sender=settings.from_email, office=mail["recipient"],
                               public_url=settings.public_url, language=settings.office_language)
        message = message_from_string(mail["message"], policy=policy.default)
        assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
        return message
