"""Use cases of the notifier: one mail per event, never two, never none."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
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
from libs.contracts.envelope import Event
from libs.contracts.lockout import LoginLockedOut
from libs.contracts.requests import RequestSubmitted
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.inbox import Inbox
from libs.servicekit.logs import get_logger
from services.notifier.account_mails import (
    login_locked_mail,
    password_changed_mail,
    password_reset_mail,
)
from services.notifier.config import NotifierSettings
from services.notifier.document_mails import documents_published_mail
from services.notifier.domain import invitation_mail, new_request_mail
from services.notifier.mailer import SmtpMailer
from services.notifier.registration_mails import (
    eid_link_refused_mail,
    eid_linked_mail,
    registration_confirmation_mail,
    registration_decision_mail,
)

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
        self, inbox: Inbox, mailer: SmtpMailer, settings: NotifierSettings, *,
        rpc: RpcCalling, recipient_inbox: Callable[[str], Inbox],
    ) -> None:
        self._inbox = inbox
        self._rpc = rpc
        self._recipient_inbox = recipient_inbox
        self._mailer = mailer
        self._settings = settings
        # event id -> (lock, holders): the same event delivered twice at once is sent once.
        self._in_flight: dict[str, tuple[asyncio.Lock, int]] = {}

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

    async def send_new_request_mail(self, event: RequestSubmitted) -> None:
        """Tell the office a client sent a message or request."""
        mail = new_request_mail(
            event,
            sender=self._settings.from_email,
            office=self._settings.office_email,
            public_url=self._settings.public_url,
            language=self._settings.office_language,
        )
        await self._send_once(event, mail)

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
            await self._send_once(event, mail, inbox=self._recipient_inbox(member.user_id),
                                  lock_key=f"{event.event_id}:{member.user_id}")

    async def _send_once(
        self, event: Event, mail: EmailMessage, *, inbox: Inbox | None = None,
        lock_key: str | None = None,
    ) -> None:
        """Send unless the inbox has the event; record it after sending.

        A crash between sending and recording resends the same Message-ID, which the SMTP side
        can drop; an SMTP failure raises so the event is redelivered (and dead-lettered at last).
        """
        inbox = inbox or self._inbox
        async with self._exclusive(lock_key or event.event_id):
            if await inbox.already_processed(event):
                log.info("mail already sent", event_id=event.event_id)
                return
            await self._mailer.send(mail)
            await inbox.record(
                event, {"recipient": str(mail["To"]), "message_id": str(mail["Message-ID"])}
            )
            log.info("mail sent", event_id=event.event_id, message_id=mail["Message-ID"])

    @contextlib.asynccontextmanager
    async def _exclusive(self, event_id: str) -> AsyncIterator[None]:
        lock, holders = self._in_flight.get(event_id, (asyncio.Lock(), 0))
        self._in_flight[event_id] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._in_flight[event_id]
            if holders == 1:
                del self._in_flight[event_id]
            else:
                self._in_flight[event_id] = (lock, holders - 1)
