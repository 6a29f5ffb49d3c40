"""Staff's side of uncertain and dead-lettered mails: the list, and the resend they decide (who
and when kept)."""

from email import message_from_string, policy
from email.message import EmailMessage

from prometheus_client import Counter

from libs.contracts.caller import Caller
from libs.contracts.envelope import utc_now
from libs.contracts.notifier import (
    MailProblem,
    MailProblemList,
    MailProblemsQuery,
    MailResent,
    ResendMailRequest,
)
from libs.servicekit.errors import Conflict, Forbidden, NotFound, Unavailable
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from services.notifier.config import NotifierSettings
from services.notifier.deliveries import MailState, may_resend
from services.notifier.delivery import HandOff, MailDelivery
from services.notifier.office_digest import digest_mail
from services.notifier.store import DIGEST_KIND, MailStore

log = get_logger(__name__)
resent_mails = Counter("mybroker_notifier_mails_resent_total",
                       "Uncertain mails staff decided to send again")


def _staff_only(caller: Caller) -> None:
    if not caller.is_staff:
        raise Forbidden("Only the broker's staff may see or resend mails.")


def _problem(mail: Document) -> MailProblem:
    dead = mail["state"] == MailState.DEAD_LETTERED
    return MailProblem(
        mail_id=mail["_id"], kind=mail["kind"], recipient=mail.get("recipient", ""),
        subject=mail.get("subject", ""), dossier_id=mail.get("dossier_id"),
        event_id=mail.get("event_id"),
        reason="dead_lettered" if dead else mail["uncertain_reason"],
        claimed_at=stored_utc(mail["claimed_at"]),
        uncertain_at=stored_utc(mail["dead_at"] if dead else mail["uncertain_at"]),
        last_error=mail.get("last_error") if dead else None)


class MailProblems:
    """The staff's list of uncertain mails and their resend."""

    def __init__(self, store: MailStore, delivery: MailDelivery,
                 settings: NotifierSettings) -> None:
        self._store = store
        self._delivery = delivery
        self._settings = settings

    async def list_mail_problems(self, query: MailProblemsQuery) -> MailProblemList:
        """Mails that may or may not have left, and those SMTP refused up to the retry limit,
        the latest first."""
        _staff_only(query.caller)
        found = await self._store.uncertain(query.limit) + await self._store.dead_lettered(
            query.limit)
        problems = sorted((_problem(mail) for mail in found),
                          key=lambda problem: problem.uncertain_at, reverse=True)
        return MailProblemList(problems=problems[:query.limit])

    async def resend_mail(self, request: ResendMailRequest) -> MailResent:
        """Send an uncertain or dead-lettered mail again, once, because a staff member decided
        so."""
        _staff_only(request.caller)
        found = await self._store.find(request.mail_id)
        if found is None or found["state"] == MailState.COLLECTING:
            raise NotFound("No mail has this id.")
        if not may_resend(MailState(found["state"])):
            raise Conflict(f"This mail is {found['state']}, not uncertain: it is not resent.")
        now = utc_now()
        by = request.caller.user_id
        was = MailState(found["state"])
        claimed = await self._store.claim_again(
            request.mail_id, was, now, {"resent_by": by, "resent_at": now},
            note={"resends": f"{now.isoformat()} {by}"})
        if claimed is None:
            raise Conflict("Someone resent this mail meanwhile.")
        outcome = await self._delivery.hand_over(request.mail_id, claimed["attempt"],
                                                 self._message(claimed))
        if outcome == HandOff.REFUSED:
            # This attempt surely did not leave, the first one still may have: as it was.
            if was == MailState.DEAD_LETTERED:
                await self._store.mark_dead(request.mail_id, claimed["attempt"],
                                            found.get("last_error", ""), now)
            else:
                await self._store.mark_uncertain(request.mail_id, claimed["attempt"],
                                                 found["uncertain_reason"], now,
                                                 MailState.FAILED)
            raise Unavailable("The mail server did not take the mail; try again later.")
        resent_mails.inc()
        log.warning("uncertain mail resent by staff", mail_id=request.mail_id, resent_by=by,
                    outcome=str(outcome))
        return MailResent(mail_id=request.mail_id, recipient=claimed.get("recipient", ""),
                          resent_by=by, resent_at=now)

    def _message(self, mail: Document) -> EmailMessage:
        """The very mail that was handed over: stored for event mails, rebuilt for digests."""
        if mail["kind"] == DIGEST_KIND:
            settings = self._settings
            return digest_mail(mail["_id"], mail["dossier_id"], mail["items"],
                               sender=settings.from_email, office=mail["recipient"],
                               public_url=settings.public_url, language=settings.office_language)
        message = message_from_string(mail["message"], policy=policy.default)
        assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
        return message
