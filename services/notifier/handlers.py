"""Use cases of the notifier: one mail per event, never two, never none; the office's mails
about client messages gathered per dossier and minute."""

from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from pydantic import BaseModel

from libs.contracts import auth
from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    InvitationCreated,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
)
from libs.contracts.caller import Caller, Role
from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.envelope import Event, utc_now
from libs.contracts.lockout import LoginLockedOut
from libs.contracts.requests import RequestSubmitted
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.contracts.signing import SignatureCompleted, SignerInvited
from libs.servicekit.logs import get_logger
from services.notifier.account_mails import (
    login_locked_mail,
    password_changed_mail,
    password_reset_mail,
)
from services.notifier.config import NotifierSettings
from services.notifier.deliveries import MailState
from services.notifier.delivery import MailDelivery
from services.notifier.document_mails import documents_published_mail
from services.notifier.domain import invitation_mail
from services.notifier.office_digest import digest_item, digest_mail
from services.notifier.registration_mails import (
    eid_link_refused_mail,
    eid_linked_mail,
    registration_confirmation_mail,
    registration_decision_mail,
)
from services.notifier.signing_mails import (
    office_completed_mail,
    signature_completed_mail,
    signer_invited_mail,
)
from services.notifier.store import MailStore

log = get_logger(__name__)
# The notifier asks auth who the clients of a dossier are on the office's behalf.
NOTIFIER_CALLER = Caller(user_id="service:notifier", role=Role.AGENT)


class RpcCalling(Protocol):
    """What the notifier needs of servicekit's RpcClient (tests pass a fake)."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        """Send `request` to `method` and return its typed reply (or raise its error)."""
        ...


class NotifierHandlers:
    """One method per event consumed."""

    def __init__(
        self, store: MailStore, delivery: MailDelivery, settings: NotifierSettings, *,
        rpc: RpcCalling,
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._rpc = rpc
        self._settings = settings

    async def send_invitation_mail(self, event: InvitationCreated) -> None:
        """Mail the invited client the activation link, in the client's language."""
        mail = invitation_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_password_reset_mail(self, event: PasswordResetRequested) -> None:
        """Mail the client the link to choose a new password."""
        mail = password_reset_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_password_changed_mail(self, event: PasswordChanged) -> None:
        """Warn the client that their password changed (so a stranger's change is noticed)."""
        mail = password_changed_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_login_locked_mail(self, event: LoginLockedOut) -> None:
        """Tell the owner failed logins locked their address, with the link to sign in anyway."""
        mail = login_locked_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_registration_confirmation_mail(
        self, event: RegistrationConfirmationRequested
    ) -> None:
        """Mail the registered person the link to confirm the address."""
        mail = registration_confirmation_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_registration_decision_mail(self, event: RegistrationDecided) -> None:
        """Tell the person the broker approved or refused the registration."""
        mail = registration_decision_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_eid_linked_mail(self, event: EidLinked) -> None:
        """Tell the client their eID now logs them in."""
        mail = eid_linked_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url
        )
        await self._send_once(event, mail)

    async def send_eid_link_refused_mail(self, event: EidLinkRefused) -> None:
        """Tell the card holder the broker refused the eID link, and why."""
        await self._send_once(event, eid_link_refused_mail(
            event, sender=self._settings.from_email))

    async def add_to_office_digest(self, event: RequestSubmitted) -> None:
        """A client sent a message or request: it joins the dossier's office digest, mailed
        once the dossier's minute is over (one mail for a burst, not one each)."""
        now = utc_now()
        due = now + timedelta(seconds=self._settings.office_digest_window_seconds)
        await self._store.add_to_digest(event.dossier_id or "?", digest_item(event), now, due,
                                        {"recipient": self._settings.office_email})
        log.info("message added to the office digest", event_id=event.event_id,
                 dossier_id=event.dossier_id)

    async def send_due_office_digests(self) -> None:
        """Mail every office digest whose minute is over, and retry those SMTP refused."""
        settings = self._settings
        for digest_id in await self._store.due_digests(utc_now()):
            now = utc_now()
            claimed = (await self._store.close_digest(digest_id, now)
                       or await self._store.claim_again(digest_id, MailState.FAILED, now))
            if claimed is None:
                continue  # another replica took it
            mail = digest_mail(digest_id, claimed["dossier_id"], claimed["items"],
                               sender=settings.from_email, office=claimed["recipient"],
                               public_url=settings.public_url,
                               language=settings.office_language)
            await self._store.describe(digest_id, {"subject": str(mail["Subject"])})
            await self._delivery.hand_over(digest_id, claimed["attempt"], mail)

    async def send_documents_published_mails(self, event: DocumentsBatchPublished) -> None:
        """Tell every client of the dossier, once per batch, which documents the office
        published (a failure for one client redelivers the event; the others are not mailed
        twice)."""
        if event.dossier_id is None:
            log.warning("batch without dossier; nobody to tell", event_id=event.event_id)
            return
        reply = await self._rpc.call(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembersRequest(
            caller=NOTIFIER_CALLER, dossier_id=event.dossier_id))
        if not reply.members:
            log.info("no client to tell of new documents", dossier_id=event.dossier_id)
        for member in reply.members:
            mail = documents_published_mail(
                event, member, sender=self._settings.from_email,
                public_url=self._settings.public_url)
            await self._send_once(event, mail)

    async def send_signer_invited_mails(self, event: SignerInvited) -> None:
        """Ask each account of a signer to sign (or remind them): see signing_mails."""
        for recipient in event.recipients:
            await self._send_once(event, signer_invited_mail(
                event, recipient, sender=self._settings.from_email,
                public_url=self._settings.public_url))

    async def send_signature_completed_mails(self, event: SignatureCompleted) -> None:
        """Tell every signer and the office that the document is signed by everyone."""
        for recipient in event.recipients:
            await self._send_once(event, signature_completed_mail(
                event, recipient, sender=self._settings.from_email,
                public_url=self._settings.public_url))
        await self._send_once(event, office_completed_mail(
            event, sender=self._settings.from_email, office=self._settings.office_email,
            language=self._settings.office_language, public_url=self._settings.public_url))

    async def _send_once(self, event: Event, mail: EmailMessage) -> None:
        """Send the mail `event` caused, once: claimed before the hand-off, recorded after
        (see delivery.MailDelivery)."""
        await self._delivery.deliver(event, mail)
