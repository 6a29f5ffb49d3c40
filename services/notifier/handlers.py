"""Use cases of the notifier: one mail per event, never two, never none; the office's mails
about client messages mailed at once, what follows within the minute gathered per dossier and
address; a request's news for its client coalesced per request."""

import asyncio
import dataclasses
from collections import defaultdict
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

from pydantic import BaseModel

from libs.contracts import auth
from libs.contracts.auth import (
    EidLinked,
    EidLinkRefused,
    EidLinkRequested,
    InvitationCreated,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationConfirmationRequested,
    RegistrationDecided,
    RegistrationPending,
)
from libs.contracts.caller import Caller, Role
from libs.contracts.client_sheet import ClientSheetDue
from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.envelope import Event, utc_now
from libs.contracts.lockout import LoginLockedOut
from libs.contracts.requests import (
    EntryAuthor,
    RequestReplied,
    RequestStatusChanged,
    RequestSubmitted,
)
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.contracts.signing import (
    SignatureCancelled,
    SignatureCompleted,
    SignatureRefused,
    SignerInvited,
    SignerRecipient,
)
from libs.servicekit.errors import ServiceError
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from services.notifier.account_mails import (
    login_locked_mail,
    password_changed_mail,
    password_reset_mail,
)
from services.notifier.client_digest import HeldItem, client_digest_id, client_digest_mail
from services.notifier.config import NotifierSettings, digest_clock
from services.notifier.deliveries import MailState, mail_id_of
from services.notifier.delivery import MailDelivery
from services.notifier.document_mails import documents_published_mail
from services.notifier.domain import MailKind, invitation_mail, mail_language
from services.notifier.mail_templates import OfficeBrandingSource
from services.notifier.office_digest import digest_item, digest_mail, reply_item
from services.notifier.preferences import Category, Preferences, digest_due, held_back
from services.notifier.registration_mails import (
    eid_link_refused_mail,
    eid_link_requested_mail,
    eid_linked_mail,
    registration_confirmation_mail,
    registration_decision_mail,
    registration_pending_mail,
)
from services.notifier.request_mails import (
    Recipient,
    RequestFacts,
    answer_item,
    client_sheet_mail,
    client_sheet_mail_key,
    client_update,
    request_update_mail,
    status_item,
)
from services.notifier.signing_mails import (
    office_completed_mail,
    office_refused_mail,
    signature_cancelled_mail,
    signature_completed_mail,
    signer_invited_mail,
)
from services.notifier.store import (
    CLIENT_DIGEST_KIND,
    DIGEST_KIND,
    MailStore,
    open_slot,
    update_slot,
)

log = get_logger(__name__)
# The notifier asks auth who the clients of a dossier are on the office's behalf.
NOTIFIER_CALLER = Caller(user_id="service:notifier", role=Role.AGENT)


def _parsed(message: str) -> EmailMessage:
    """A stored mail, as it was handed over."""
    parsed = message_from_string(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # the default policy builds EmailMessage
    return parsed


class RpcCalling(Protocol):
    """What the notifier needs of servicekit's RpcClient (tests pass a fake)."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        """Send `request` to `method` and return its typed reply (or raise its error)."""
        ...


class NotifierHandlers:
    """One method per event consumed."""

    def __init__(
        self, store: MailStore, delivery: MailDelivery, settings: NotifierSettings, *,
        rpc: RpcCalling, preferences: Preferences, office: OfficeBrandingSource | None = None,
    ) -> None:
        self._preferences = preferences
        # One at-once decision per dossier and office address at a time in this process: a
        # burst handled in parallel sends one mail at once, the rest goes to the digest.
        self._quiet_locks: dict[str, asyncio.Lock] = {}
        self._store = store
        # The office's name, colours, logo and footer in every mail (see OfficeBrandingSource).
        self._office = office or OfficeBrandingSource()
        self._delivery = delivery
        self._rpc = rpc
        self._settings = settings

    async def send_invitation_mail(self, event: InvitationCreated) -> None:
        """Mail the invited client the activation link, in the client's language."""
        mail = invitation_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_password_reset_mail(self, event: PasswordResetRequested) -> None:
        """Mail the client the link to choose a new password."""
        mail = password_reset_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_password_changed_mail(self, event: PasswordChanged) -> None:
        """Warn the client that their password changed (so a stranger's change is noticed)."""
        mail = password_changed_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_login_locked_mail(self, event: LoginLockedOut) -> None:
        """Tell the owner failed logins locked their address, with the link to sign in anyway."""
        mail = login_locked_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_registration_confirmation_mail(
        self, event: RegistrationConfirmationRequested
    ) -> None:
        """Mail the registered person the link to confirm the address."""
        mail = registration_confirmation_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_registration_decision_mail(self, event: RegistrationDecided) -> None:
        """Tell the person the broker approved or refused the registration."""
        mail = registration_decision_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def send_eid_linked_mail(self, event: EidLinked) -> None:
        """Tell the client their eID now logs them in."""
        mail = eid_linked_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding(),
        )
        await self._send_once(event, mail)

    async def tell_office_of_registration(self, event: RegistrationPending) -> None:
        """A confirmed registration waits for approval: the office's registrations address."""
        settings = self._settings
        await self._send_once(event, registration_pending_mail(
            event, sender=settings.from_email,
            office=self._office.office_address("registrations", settings.office_email),
            language=settings.office_language, public_url=settings.public_url,
            branding=self._office.branding()), language=settings.office_language)

    async def tell_office_of_eid_link(self, event: EidLinkRequested) -> None:
        """An eID link waits for the office's decision: its registrations address."""
        settings = self._settings
        await self._send_once(event, eid_link_requested_mail(
            event, sender=settings.from_email,
            office=self._office.office_address("registrations", settings.office_email),
            language=settings.office_language, public_url=settings.public_url,
            branding=self._office.branding()), language=settings.office_language)

    async def send_eid_link_refused_mail(self, event: EidLinkRefused) -> None:
        """Tell the card holder the broker refused the eID link, and why."""
        await self._send_once(event, eid_link_refused_mail(
            event, sender=self._settings.from_email, public_url=self._settings.public_url,
            branding=self._office.branding()))

    async def tell_office_of_submission(self, event: RequestSubmitted) -> None:
        """A client sent a message or request: mailed at once to the office address of its
        kind when the dossier was quiet there, else gathered into the dossier's digest."""
        await self._tell_office(event, event.kind, digest_item(event), MailKind.NEW_REQUEST)
        await self._store.remember_request(event.request_id, {
            "dossier_id": event.dossier_id, "sent_by": event.sent_by, "kind": event.kind,
            "subject": event.subject, "sent_at": event.occurred_at}, utc_now())

    async def handle_reply(self, event: RequestReplied) -> None:
        """An entry in a thread: the client's reply goes to the office like a new message,
        the office's answer becomes news for the client."""
        if event.author == EntryAuthor.CLIENT:
            item = reply_item(event.event_id, event.kind, event.subject, event.occurred_at,
                              request_id=event.request_id, author_name=event.author_name)
            await self._tell_office(event, event.kind, item, MailKind.CLIENT_REPLY)
        else:
            await self._add_client_news(event, event.request_id, event.sent_by,
                                        answer_item(event.event_id, event.occurred_at))

    async def handle_status_change(self, event: RequestStatusChanged) -> None:
        """The office moved a request: news for the client, coalesced per request."""
        await self._add_client_news(event, event.request_id, event.sent_by, status_item(
            event.event_id, event.occurred_at, event.old_status, event.new_status))

    async def _tell_office(self, event: Event, kind: str, item: str, mail_kind: MailKind) -> None:
        """Mail the office at once unless the dossier's mails to this address had one within
        the window; else the item joins the dossier's digest for the address."""
        settings = self._settings
        address = settings.office_address(kind)
        dossier_id = event.dossier_id or "?"
        slot = open_slot(dossier_id, address)
        mail_id = f"{event.event_id}.{mail_kind.value}"
        now = utc_now()
        window = timedelta(seconds=settings.office_digest_window_seconds)
        lock = self._quiet_locks.setdefault(slot, asyncio.Lock())
        async with lock:
            await self._tell_office_once(event, item, slot, mail_id, now, window, address)
        if not lock.locked() and self._quiet_locks.get(slot) is lock:
            del self._quiet_locks[slot]

    async def _tell_office_once(self, event: Event, item: str, slot: str, mail_id: str,
                                now: datetime, window: timedelta, address: str) -> None:
        settings = self._settings
        dossier_id = event.dossier_id or "?"
        at_once = window.total_seconds() <= 0 or await self._store.find(mail_id) is not None
        if not at_once:  # (a redelivered event whose mail went at once goes at once again)
            if await self._store.in_a_window(item):
                return  # redelivered: already in a digest
            # Two first ones at the same moment may both go at once: never one twice.
            at_once = not await self._store.mailed_since(slot, now - window)
        if not at_once:
            await self._store.add_to_window(
                slot, DIGEST_KIND, item, now, window, window,
                {"dossier_id": dossier_id, "recipient": address})
            log.info("added to the office digest", event_id=event.event_id,
                     dossier_id=event.dossier_id)
            return
        mail = digest_mail(mail_id, dossier_id, [item], sender=settings.from_email,
                           office=address, public_url=settings.public_url,
                           language=settings.office_language,
                           branding=self._office.branding())
        await self._delivery.deliver(event, mail, {"quiet_key": slot})

    async def _add_client_news(self, event: RequestReplied | RequestStatusChanged,
                               request_id: str, sent_by: str, item: str) -> None:
        settings = self._settings
        await self._store.add_to_window(
            update_slot(request_id), MailKind.REQUEST_UPDATE.value, item, utc_now(),
            timedelta(seconds=settings.client_update_delay_seconds),
            timedelta(seconds=settings.client_update_longest_seconds),
            {"dossier_id": event.dossier_id, "request_id": request_id, "sent_by": sent_by,
             "request_kind": event.kind, "request_subject": event.subject,
             "event_id": event.event_id,
             "routing_key": event.routing_key})
        log.info("request news waits for its mail", event_id=event.event_id,
                 request_id=request_id)

    async def send_due_office_digests(self) -> None:
        """Mail every office digest whose minute is over, and retry those SMTP refused (an
        empty one, left by an earlier version, ends without a mail)."""
        settings = self._settings
        for digest_id in await self._store.due_digests(utc_now()):
            now = utc_now()
            claimed = (await self._store.close_window(digest_id, now)
                       or await self._store.claim_again(digest_id, MailState.FAILED, now))
            if claimed is None:
                continue  # another replica took it
            if not claimed.get("items"):
                await self._store.forget(digest_id, claimed["attempt"])
                continue
            mail = digest_mail(digest_id, claimed["dossier_id"], claimed["items"],
                               sender=settings.from_email, office=claimed["recipient"],
                               public_url=settings.public_url,
                               language=settings.office_language,
                               branding=self._office.branding())
            await self._store.describe(digest_id, {"subject": str(mail["Subject"])})
            await self._delivery.hand_over_window(digest_id, claimed["attempt"], mail)

    async def send_due_client_updates(self) -> None:
        """Mail each request's news whose window is over (the latest state, once), to the
        client who sent the request, in their language."""
        for update_id in await self._store.due_windows(MailKind.REQUEST_UPDATE.value,
                                                       utc_now()):
            now = utc_now()
            claimed = (await self._store.close_window(update_id, now)
                       or await self._store.claim_again(update_id, MailState.FAILED, now))
            if claimed is None:
                continue
            try:
                mail = await self._client_update_mail(update_id, claimed, now)
            except ServiceError as error:  # auth unreachable: the window is tried again
                await self._store.mark_failed(update_id, claimed["attempt"], str(error))
                log.warning("request news not mailed yet", mail_id=update_id, error=str(error))
                continue
            if mail is None:
                await self._store.forget(update_id, claimed["attempt"])
                continue
            user_id = claimed.get("sent_by", "")
            if held_back(await self._preferences.of(user_id), Category.REQUESTS):
                await self._store.hold_claimed(update_id, claimed["attempt"], {
                    "subject": str(mail["Subject"]), "recipient": str(mail["To"]),
                    "user_id": user_id, "category": Category.REQUESTS.value,
                    "language": claimed.get("language")},
                    digest_due(now, self._settings.client_digest_at))
                continue
            # Kept until it left: staff can resend exactly this mail if its fate is unknown.
            await self._store.describe(update_id, {
                "subject": str(mail["Subject"]), "recipient": str(mail["To"]),
                "message": mail.as_string(), "language": claimed.get("language"),
                "user_id": user_id})
            await self._delivery.hand_over_window(update_id, claimed["attempt"], mail)

    async def _client_update_mail(
        self, update_id: str, window: Document, now: datetime,
    ) -> EmailMessage | None:
        update = client_update(window["items"])
        request_id = window["request_id"]
        if not update.worth_a_mail:
            log.info("request status came back: nothing to tell", request_id=request_id)
            return None
        dossier_id = window.get("dossier_id") or ""
        known = await self._store.request_facts(request_id) or {}
        sent_by = window.get("sent_by") or known.get("sent_by", "")
        recipient = await self._member(dossier_id, sent_by)
        if recipient is not None:
            recipient = await self._in_chosen_language(recipient)
            window["language"] = mail_language(recipient.language)
        if recipient is None:
            log.info("the request's sender no longer has the dossier: no mail",
                     request_id=request_id, dossier_id=dossier_id)
            return None
        sent_at = known.get("sent_at")
        facts = RequestFacts(
            request_id=request_id, dossier_id=dossier_id,
            kind=window.get("request_kind") or known.get("kind", ""),
            subject=window.get("request_subject") or known.get("subject", ""),
            sent_at=stored_utc(sent_at) if sent_at is not None else None)
        return request_update_mail(update_id, facts, update, recipient,
                                   sender=self._settings.from_email,
                                   public_url=self._settings.public_url, at=now,
                                   branding=self._office.branding())

    async def _members(self, dossier_id: str) -> list[Recipient]:
        reply = await self._rpc.call(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembersRequest(
            caller=NOTIFIER_CALLER, dossier_id=dossier_id))
        return [Recipient(user_id=member.user_id, email=str(member.email),
                          display_name=member.display_name, language=member.language)
                for member in reply.members]

    async def _member(self, dossier_id: str, user_id: str) -> Recipient | None:
        """The request's sender, if still a client of the dossier (auth knows their address
        and language as of now)."""
        if not dossier_id or not user_id:
            return None
        return next((member for member in await self._members(dossier_id)
                     if member.user_id == user_id), None)

    async def send_client_sheet_reminders(self, event: ClientSheetDue) -> None:
        """Remind every client of the dossier to confirm the client sheet: once per client and
        period, however often the event comes."""
        if event.dossier_id is None:
            log.warning("client sheet due without dossier; nobody to tell",
                        event_id=event.event_id)
            return
        for member in await self._members(event.dossier_id):
            member = await self._in_chosen_language(member)
            mail_id = client_sheet_mail_key(event.dossier_id, event.period, member.user_id)
            mail = client_sheet_mail(mail_id, event.dossier_id, member,
                                     sender=self._settings.from_email,
                                     public_url=self._settings.public_url,
                                     at=event.occurred_at,
                                     branding=self._office.branding())
            await self._to_client(event, mail, member.user_id, member.language,
                                  Category.REQUESTS)

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
            chosen = await self._preferences.of(member.user_id)
            if chosen.language:
                member = member.model_copy(update={"language": chosen.language})
            mail = documents_published_mail(
                event, member, sender=self._settings.from_email,
                public_url=self._settings.public_url, branding=self._office.branding())
            await self._to_client(event, mail, member.user_id, member.language,
                                  Category.DOCUMENTS)

    async def send_signer_invited_mails(self, event: SignerInvited) -> None:
        """Ask each account of a signer to sign (or remind them): see signing_mails."""
        for recipient in event.recipients:  # legally required: always at once
            recipient = await self._signer_in_chosen_language(recipient)
            await self._send_once(event, signer_invited_mail(
                event, recipient, sender=self._settings.from_email,
                public_url=self._settings.public_url, branding=self._office.branding()),
                language=recipient.language)

    async def send_signature_completed_mails(self, event: SignatureCompleted) -> None:
        """Tell every signer and the office that the document is signed by everyone."""
        for recipient in event.recipients:
            recipient = await self._signer_in_chosen_language(recipient)
            await self._to_client(event, signature_completed_mail(
                event, recipient, sender=self._settings.from_email,
                public_url=self._settings.public_url, branding=self._office.branding()),
                recipient.user_id, recipient.language, Category.SIGNATURES)
        await self._send_once(event, office_completed_mail(
            event, sender=self._settings.from_email, office=self._settings.office_email,
            language=self._settings.office_language, public_url=self._settings.public_url,
            branding=self._office.branding()), language=self._settings.office_language)

    async def send_signature_refused_mail(self, event: SignatureRefused) -> None:
        """Tell the office who refused to sign which document (not why)."""
        await self._send_once(event, office_refused_mail(
            event, sender=self._settings.from_email, office=self._settings.office_email,
            language=self._settings.office_language, public_url=self._settings.public_url,
            branding=self._office.branding()))

    async def send_signature_cancelled_mails(self, event: SignatureCancelled) -> None:
        """Tell each account of a signer who had not signed that the request was cancelled."""
        for user_id in dict.fromkeys(recipient.user_id for recipient in event.recipients):
            recipient = next(r for r in event.recipients if r.user_id == user_id)
            await self._send_once(event, signature_cancelled_mail(
                event, recipient, sender=self._settings.from_email,
                public_url=self._settings.public_url, branding=self._office.branding()))

    async def _send_once(self, event: Event, mail: EmailMessage, *,
                         language: str | None = None) -> None:
        """Send the mail `event` caused, once: claimed before the hand-off, recorded after
        (see delivery.MailDelivery). Its language is noted in the delivery log."""
        language = language or getattr(event, "language", None)
        await self._delivery.deliver(event, mail, {
            "language": mail_language(language) if language else None})

    async def _to_client(self, event: Event, mail: EmailMessage, user_id: str, language: str,
                         category: Category) -> None:
        """A client's news mail: at once, or held for their daily digest when they chose so."""
        if not held_back(await self._preferences.of(user_id), category):
            await self._delivery.deliver(event, mail, {
                "language": mail_language(language), "user_id": user_id})
            return
        now = utc_now()
        mail_id = mail_id_of(str(mail["Message-ID"]))
        if await self._store.hold({
            "_id": mail_id, "kind": mail_id.split(".")[1], "recipient": str(mail["To"]),
            "subject": str(mail["Subject"]), "dossier_id": event.dossier_id,
            "event_id": event.event_id, "routing_key": event.routing_key,
            "language": mail_language(language), "user_id": user_id,
            "category": category.value}, digest_due(now, self._settings.client_digest_at), now):
            log.info("mail held for the client's daily digest", mail_id=mail_id,
                     category=category.value)

    async def _in_chosen_language(self, member: Recipient) -> Recipient:
        chosen = await self._preferences.of(member.user_id)
        return dataclasses.replace(member, language=chosen.language) if chosen.language \
            else member

    async def _signer_in_chosen_language(self, recipient: SignerRecipient) -> SignerRecipient:
        chosen = await self._preferences.of(recipient.user_id)
        return recipient.model_copy(update={"language": chosen.language}) if chosen.language \
            else recipient

    async def send_due_client_digests(self) -> None:
        """Mail each client one digest of the mails their preferences held back, once the
        office's digest time of the day passed; retry the digests SMTP refused."""
        now = utc_now()
        by_client: dict[str, list[Document]] = defaultdict(list)
        for held in await self._store.held_due(now):
            by_client[held.get("user_id", "")].append(held)
        for user_id, items in by_client.items():
            await self._send_client_digest(user_id, items, now)
        for failed in await self._store.failed_of_kind(CLIENT_DIGEST_KIND, utc_now()):
            claimed = await self._store.claim_again(failed["_id"], MailState.FAILED, utc_now())
            if claimed is not None and claimed.get("message"):
                await self._delivery.hand_over_window(
                    claimed["_id"], claimed["attempt"], _parsed(claimed["message"]))

    async def _send_client_digest(self, user_id: str, items: list[Document],
                                  now: datetime) -> None:
        settings = self._settings
        zone = digest_clock(settings.client_digest_at)[1]
        day = datetime.fromtimestamp(items[0]["held_due_ms"] / 1000, tz=zone).date()
        digest_id = client_digest_id(day, user_id)
        latest = items[-1]
        name, address = parseaddr(latest.get("recipient", ""))
        chosen = await self._preferences.of(user_id)
        language = chosen.language or latest.get("language") or "nl"
        mail = client_digest_mail(
            digest_id, [HeldItem(subject=item.get("subject", ""),
                                 dossier_id=item.get("dossier_id")) for item in items],
            name=name, email=address, language=language, day=day, sender=settings.from_email,
            public_url=settings.public_url, at=now, branding=self._office.branding())
        ids = [item["_id"] for item in items]
        claimed = await self._store.claim_new({
            "_id": digest_id, "kind": CLIENT_DIGEST_KIND, "recipient": str(mail["To"]),
            "subject": str(mail["Subject"]), "dossier_id": None, "user_id": user_id,
            "language": mail_language(language), "items": ids,
            "message": mail.as_string()}, now)
        if not claimed:
            # An earlier round claimed this day's digest and stopped before noting its items;
            # what it did not hold waits for the next digest.
            found = await self._store.find(digest_id) or {}
            told = [item for item in ids if item in found.get("items", [])]
            await self._store.put_in_digest(told, digest_id)
            await self._store.postpone([item for item in ids if item not in told],
                                       digest_due(now, settings.client_digest_at))
            return
        await self._store.put_in_digest(ids, digest_id)
        log.info("client digest due", mail_id=digest_id, items=len(ids))
        await self._delivery.hand_over_window(digest_id, 1, mail)
