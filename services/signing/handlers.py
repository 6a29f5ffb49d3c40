"""Use cases of the signing service: requests, signatures, the periodic job, the signed PDF."""

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from asn1crypto import x509 as asn1_x509
from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from libs.contracts import auth, documents, dossier
from libs.contracts.caller import Caller, Role
from libs.contracts.documents import DocumentContext
from libs.contracts.envelope import Event, new_id, office_day, utc_now
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.contracts.signing import (
    AuditKind,
    AuditRecord,
    AuditTrail,
    CancelSignatureRequest,
    CreateSignatureRequest,
    DocumentServed,
    DocumentsToSign,
    DocumentsToSignQuery,
    DocumentToSign,
    ListSignatureRequestsQuery,
    OfferReply,
    PdfCheck,
    RefuseSignatureRequest,
    RequestState,
    SignatureCancelled,
    SignatureCompleted,
    SignatureOffer,
    SignatureRefused,
    SignatureRequestList,
    SignatureRequestPublic,
    SignatureRequestQuery,
    SignedDocumentReply,
    SignedDocumentRequest,
    SignerInvited,
    SignerRecipient,
    SignerState,
    SigningEvidence,
    SignRequest,
    Verification,
)
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import Conflict, Invalid, NotFound, Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from services.signing import domain
from services.signing.bodies import BodyCache, SealNotices
from services.signing.domain import SignatureRequest, Signer, SigningPolicy
from services.signing.sealing import Seal, SealingProblem, check_pdf
from services.signing.sealing_pool import SealingPool
from services.signing.store import SigningStore

log = get_logger(__name__)
# The service reads documents, persons and accounts on the office's behalf.
SIGNING_CALLER = Caller(user_id="service:signing", role=Role.AGENT)
SAVE_ATTEMPTS = 8
SEALS_AT_ONCE = 2
# A signer waiting for a seal made by another replica sees it within this time.
SEAL_RECHECK_SECONDS = 1.0
PDF = "application/pdf"


class RpcCalling(Protocol):
    """What the service needs of servicekit's RpcClient."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        """Send `request` to `method` and return its typed reply (or raise its error)."""
        ...


@dataclass
class Trail:
    """The audit records one change adds, chained after the trail's head (the request keeps
    the last record's number and hash)."""

    request: SignatureRequest
    records: list[AuditRecord] = field(default_factory=list)

    def add(self, kind: AuditKind, actor: str, at: datetime,
            details: dict[str, str] | None = None) -> None:
        request = self.request
        after = (request.audit_seq, request.audit_head) if request.audit_head else None
        record = domain.next_record(
            request_id=request.request_id, previous=None, after=after, kind=kind, at=at,
            actor=actor, details=details or {}, document_sha256=request.document_sha256)
        self.records.append(record)
        request.audit_head, request.audit_seq = record.hash, record.seq


@dataclass
class Sealing:
    """The seal and what verification trusts."""

    seal: Seal
    roots: list[asn1_x509.Certificate]


def evidence_details(evidence: SigningEvidence) -> dict[str, str]:
    return {"client_ip": evidence.client_ip or "unknown",
            "device": evidence.device or evidence.user_agent or "unknown"}


class SigningHandlers:
    """One method per query or command, and the periodic job."""

    def __init__(self, store: SigningStore, *, rpc: RpcCalling, http: httpx.AsyncClient,
                 sealing: Sealing, policy: SigningPolicy, reminder_every: timedelta,
                 max_reminders: int, seal_claim: timedelta,
                 on_events_stored: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._rpc = rpc
        self._http = http
        self._sealing = sealing
        self._policy = policy
        self._reminder_every = reminder_every
        self._max_reminders = max_reminders
        self._seal_claim = seal_claim
        self._on_events_stored = on_events_stored
        self._clock = clock
        self._seal_tasks: set[asyncio.Task[None]] = set()
        # Sealing is CPU work in worker processes, one seal per worker at a time.
        self._sealing_slots = asyncio.Semaphore(SEALS_AT_ONCE)
        self._sealing_pool = SealingPool(SEALS_AT_ONCE)
        self._bodies = BodyCache()
        self._seal_notices = SealNotices()

    # --- client side --------------------------------------------------------------------

    async def list_documents_to_sign(self, query: DocumentsToSignQuery) -> DocumentsToSign:
        """What the caller may sign now in this dossier (staff: every open request)."""
        require_dossier_access(query.caller, query.dossier_id)
        if query.caller.is_staff:
            found = await self._store.list_open_for_dossier(query.dossier_id)
        else:
            found = [request for request in await self._store.list_for_signer(
                query.dossier_id, query.caller.user_id) if self._my_turn(request, query.caller)]
        return DocumentsToSign(documents=[DocumentToSign(
            signature_request_id=r.request_id, dossier_id=r.dossier_id,
            document_id=r.document_id, title=r.title, requested_at=r.requested_at,
            due_date=r.due_date, message=r.message) for r in found])

    @staticmethod
    def _my_turn(request: SignatureRequest, caller: Caller) -> bool:
        signer = request.signer_for(caller.user_id)
        return signer is not None and domain.offer_for(request, signer).may_sign_now

    async def _offered(self, caller: Caller, request_id: str
                       ) -> tuple[SignatureRequest, Signer]:
        """The request and the caller's signer in it; 404 when it is not offered to them."""
        request = await self._store.get(request_id)
        if request is None or not caller.may_see_dossier(request.dossier_id):
            raise domain.not_offered()
        signer = request.signer_for(caller.user_id)
        if signer is None:
            raise domain.not_offered()
        return request, signer

    async def get_offer(self, query: SignatureRequestQuery) -> SignatureOffer:
        """The request as the calling signer sees it; one being sealed, with
        `wait_for_seal_seconds`, once sealed (or when that time ran out)."""
        request, signer = await self._offered(query.caller, query.signature_request_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + query.wait_for_seal_seconds
        while request.state is RequestState.SEALING and (left := deadline - loop.time()) > 0:
            # Sealed here: at once; by another replica: seen at the next look.
            await self._seal_notices.wait(request.request_id, min(left, SEAL_RECHECK_SECONDS))
            found = await self._store.get(request.request_id)
            if found is None:
                raise domain.not_offered()
            request = found
        signer = request.signer_for(query.caller.user_id) or signer
        return domain.offer_for(request, signer)

    async def document_served(self, command: DocumentServed) -> OfferReply:
        """The gateway showed a document to a client: each open request offering it to them
        records "opened" (once); the offer they may act on comes back."""
        caller = command.caller
        if caller.is_staff or not caller.may_see_dossier(command.dossier_id):
            return OfferReply()
        offers: list[SignatureOffer] = []
        for request in await self._store.find_for_document(
                command.dossier_id, command.document_id, caller.user_id):
            def opened(request: SignatureRequest, trail: Trail) -> list[Event]:
                signer = request.signer_for(caller.user_id)
                now = self._clock()
                if signer is not None and domain.mark_opened(request, signer, now):
                    trail.add(AuditKind.OPENED, caller.user_id, now, {
                        "person_id": signer.person_id, **evidence_details(command.evidence)})
                return []
            changed = await self._change(request.request_id, opened)
            signer = changed.signer_for(caller.user_id)
            if signer is not None:
                offers.append(domain.offer_for(changed, signer))
                if domain.last_to_sign(changed, signer):
                    self._read_ahead(changed)
        offers.sort(key=lambda offer: not offer.may_sign_now)
        return OfferReply(offer=offers[0] if offers else None)

    async def sign(self, command: SignRequest) -> SignatureOffer:
        """The caller signs the document offered to them (checkbox: manual 5.2)."""
        caller = command.caller

        def signed(request: SignatureRequest, trail: Trail) -> list[Event]:
            signer = request.signer_for(caller.user_id)
            if signer is None or not caller.may_see_dossier(request.dossier_id):
                raise domain.not_offered()
            now = self._clock()
            domain.sign(request, signer, user_id=caller.user_id, method=command.method,
                        approved=command.approved, authenticated_at=command.authenticated_at,
                        evidence=command.evidence, now=now, policy=self._policy)
            trail.add(AuditKind.SIGNED, caller.user_id, now, {
                "person_id": signer.person_id, "method": command.method.value,
                **signer.evidence})
            return self._invite(request, trail, now)

        request = await self._change(command.signature_request_id, signed,
                                     missing=domain.not_offered)
        if request.state is RequestState.SEALING:
            self._seal_soon(request)
        signer = request.signer_for(caller.user_id)
        assert signer is not None
        return domain.offer_for(request, signer)

    async def refuse(self, command: RefuseSignatureRequest) -> SignatureOffer:
        """The caller refuses to sign, with a reason: the request ends."""
        caller = command.caller
        await self._offered(caller, command.signature_request_id)
        reason = command.reason.strip()
        if not reason:
            raise Invalid("Say why you refuse.", fields={"reason": "required"})

        def refused(request: SignatureRequest, trail: Trail) -> list[Event]:
            signer = request.signer_for(caller.user_id)
            if signer is None or not caller.may_see_dossier(request.dossier_id):
                raise domain.not_offered()
            now = self._clock()
            domain.refuse(request, signer, reason=reason, now=now)
            trail.add(AuditKind.REFUSED, caller.user_id, now, {
                "person_id": signer.person_id, "reason": reason,
                **evidence_details(command.evidence)})
            return [SignatureRefused(
                dossier_id=request.dossier_id, correlation_id=correlation_id.get(),
                signature_request_id=request.request_id, title=request.title,
                person_id=signer.person_id, reason=reason, signer_name=signer.name)]

        request = await self._change(command.signature_request_id, refused,
                                     missing=domain.not_offered)
        signer = request.signer_for(caller.user_id)
        assert signer is not None
        return domain.offer_for(request, signer)

    async def open_signed_document(self, command: SignedDocumentRequest
                                   ) -> SignedDocumentReply:
        """Where the signed PDF is, for a signer or staff; recorded in the trail."""
        caller = command.caller
        if caller.is_staff:
            found = await self._store.get(command.signature_request_id)
            if found is None:
                raise NotFound("This signature request does not exist.")
            request = found
        else:
            request = (await self._offered(caller, command.signature_request_id))[0]
        if request.signed_document_id is None:
            raise NotFound("The signed document is not ready.")

        def downloaded(request: SignatureRequest, trail: Trail) -> list[Event]:
            trail.add(AuditKind.DOWNLOADED, caller.user_id, self._clock(),
                      evidence_details(command.evidence))
            return []

        request = await self._change(request.request_id, downloaded)
        assert request.signed_document_id is not None
        return SignedDocumentReply(dossier_id=request.dossier_id,
                                   document_id=request.signed_document_id)

    # --- office side --------------------------------------------------------------------

    async def create_request(self, command: CreateSignatureRequest) -> SignatureRequestPublic:
        """Staff offer a document of a dossier to persons of that dossier for signature."""
        require_staff(command.caller)
        caller = command.caller
        ticket = await self._rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
            caller=caller, dossier_id=command.dossier_id, document_id=command.document_id,
            variant=documents.BodyVariant.VIEW))
        document = ticket.document
        rendition = document.rendition
        if rendition.state is documents.RenditionState.PENDING:
            raise Invalid("The document is still being prepared; try again in a moment.",
                          fields={"document_id": "being prepared"})
        if (ticket.content_type or document.content_type) != PDF or \
                rendition.state is not documents.RenditionState.READY:
            raise Invalid("Only a document shown as PDF can be signed.",
                          fields={"document_id": "no PDF"})
        persons = await self._rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=caller, dossier_id=command.dossier_id))
        members = await self._rpc.call(auth.LIST_DOSSIER_MEMBERS, auth.DossierMembersRequest(
            caller=caller, dossier_id=command.dossier_id))
        by_id = {person.person_id: person for person in persons.persons}
        accounts = {person_id: [
            SignerRecipient(user_id=m.user_id, email=str(m.email), display_name=m.display_name,
                            language=m.language)
            for m in members.members
            if person.email and str(m.email).casefold() == person.email.strip().casefold()]
            for person_id, person in by_id.items()}
        now = self._clock()
        problems = domain.validate_new_request(
            signer_person_ids=command.signer_person_ids, known_persons=set(by_id),
            persons_without_account={p for p, found in accounts.items() if not found},
            due_date=command.due_date, today=office_day(now))
        if problems:
            raise Invalid("The signature request cannot be made.", fields=problems)
        request = SignatureRequest(
            request_id=new_id(), dossier_id=command.dossier_id,
            document_id=command.document_id, title=document.title, content_type=PDF,
            filename=document.filename, context=document.context,
            document_sha256=ticket.sha256 or document.sha256, original_sha256=document.sha256,
            message=(command.note or "").strip() or None, due_date=command.due_date,
            ordered=command.ordered, requested_by=caller.user_id, requested_at=now,
            signers=[Signer(person_id=person_id, order=index,
                            name=f"{by_id[person_id].first_name} {by_id[person_id].last_name}",
                            recipients=accounts[person_id])
                     for index, person_id in enumerate(command.signer_person_ids, start=1)])
        trail = Trail(request)
        trail.add(AuditKind.REQUESTED, caller.user_id, now, {
            "signers": ",".join(command.signer_person_ids), "ordered": str(command.ordered),
            "due_date": command.due_date.isoformat() if command.due_date else ""})
        events = self._invite(request, trail, now)
        await self._store.insert(request, trail.records, events)
        self._on_events_stored()
        log.info("signature request created", signature_request_id=request.request_id,
                 dossier_id=request.dossier_id, signers=len(request.signers))
        return request.public()

    async def has_request(self, request_id: str) -> bool:
        return await self._store.get(request_id) is not None

    async def offer_for_signature(self, request: SignatureRequest, details: dict[str, str]
                                  ) -> bool:
        """A request the system makes (no staff member): recorded and its signers mailed as
        one staff makes; false when a request with its id exists already (a redelivery)."""
        if await self.has_request(request.request_id):
            return False
        trail = Trail(request)
        trail.add(AuditKind.REQUESTED, request.requested_by, request.requested_at, details)
        events = self._invite(request, trail, request.requested_at)
        try:
            await self._store.insert(request, trail.records, events)
        except DuplicateKeyError:
            return False
        self._on_events_stored()
        log.info("signature request created", signature_request_id=request.request_id,
                 dossier_id=request.dossier_id, signers=len(request.signers),
                 by=request.requested_by)
        return True

    def _invite(self, request: SignatureRequest, trail: Trail, now: datetime) -> list[Event]:
        """Mail each signer whose turn came (recorded as mailed)."""
        events: list[Event] = []
        for signer in domain.to_invite(request):
            signer.mailed_at = now
            trail.add(AuditKind.MAILED, "service:signing", now, {
                "person_id": signer.person_id, "reminder": "0",
                "recipients": str(len(signer.recipients))})
            events.append(self._invitation(request, signer, reminder=0))
        return events

    def _invitation(self, request: SignatureRequest, signer: Signer, *, reminder: int
                    ) -> SignerInvited:
        return SignerInvited(
            dossier_id=request.dossier_id, correlation_id=correlation_id.get(),
            signature_request_id=request.request_id, document_id=request.document_id,
            title=request.title, note=request.message, due_date=request.due_date,
            person_id=signer.person_id, recipients=list(signer.recipients), reminder=reminder)

    async def _staff_request(self, caller: Caller, request_id: str) -> SignatureRequest:
        require_staff(caller)
        found = await self._store.get(request_id, flush=True)
        if found is None:
            raise NotFound("This signature request does not exist.")
        return found

    async def get_request(self, query: SignatureRequestQuery) -> SignatureRequestPublic:
        return (await self._staff_request(query.caller, query.signature_request_id)).public()

    async def list_requests(self, query: ListSignatureRequestsQuery) -> SignatureRequestList:
        require_staff(query.caller)
        found, next_cursor, total = await self._store.page(
            dossier_id=query.dossier_id, state=query.state, cursor=query.cursor,
            page_size=query.page_size, caller=query.caller)
        return SignatureRequestList(requests=[r.public() for r in found], total=total,
                                    page_size=query.page_size, next_cursor=next_cursor)

    async def cancel_request(self, command: CancelSignatureRequest) -> SignatureRequestPublic:
        await self._staff_request(command.caller, command.signature_request_id)

        def cancelled(request: SignatureRequest, trail: Trail) -> list[Event]:
            now = self._clock()
            if not domain.cancel(request, now):
                return []
            trail.add(AuditKind.CANCELLED, command.caller.user_id, now,
                      {"reason": (command.reason or "").strip()})
            return [SignatureCancelled(
                dossier_id=request.dossier_id, correlation_id=correlation_id.get(),
                signature_request_id=request.request_id, title=request.title,
                recipients=[recipient for signer in request.signers
                            if signer.state is not SignerState.SIGNED
                            and signer.mailed_at is not None
                            for recipient in signer.recipients])]

        return (await self._change(command.signature_request_id, cancelled)).public()

    async def get_audit_trail(self, query: SignatureRequestQuery) -> AuditTrail:
        await self._staff_request(query.caller, query.signature_request_id)
        return AuditTrail(records=await self._store.audit_records(query.signature_request_id))

    async def verify(self, query: SignatureRequestQuery) -> Verification:
        """Check the trail's chain and, once sealed, the signed PDF."""
        request = await self._staff_request(query.caller, query.signature_request_id)
        records = await self._store.audit_records(request.request_id)
        chain = domain.check_chain(records, request_id=request.request_id,
                                   document_sha256=request.document_sha256,
                                   head_hash=request.audit_head)
        pdf: PdfCheck | None = None
        if request.signed_document_id is not None:
            body = await self._download(request.dossier_id, request.signed_document_id,
                                        documents.BodyVariant.ORIGINAL)
            pdf = await asyncio.to_thread(check_pdf, body, self._sealing.roots)
            completed = [r for r in records if r.kind is AuditKind.COMPLETED]
            expected = completed[-1].details.get("signed_sha256") if completed else None
            if expected != hashlib.sha256(body).hexdigest():
                chain.problems.append("the signed PDF is not the one the trail recorded")
                chain.intact = False
        return Verification(signature_request_id=request.request_id, chain=chain, pdf=pdf)

    # --- the periodic job and the seal --------------------------------------------------

    async def check_requests(self) -> None:
        """Expire overdue requests, remind signers, and finish seals a crash left behind."""
        now = self._clock()
        for request in await self._store.in_states(RequestState.OPEN):
            try:
                await self._change(request.request_id,
                                   lambda r, trail: self._expire_or_remind(r, trail, now))
            except Conflict:
                log.warning("request changed under the periodic job",
                            signature_request_id=request.request_id)
        for request in await self._store.in_states(RequestState.SEALING):
            await self.seal(request.request_id)

    def _expire_or_remind(self, request: SignatureRequest, trail: Trail, now: datetime
                          ) -> list[Event]:
        if domain.expire(request, office_day(now)):
            trail.add(AuditKind.EXPIRED, "service:signing", now,
                      {"due_date": request.due_date.isoformat() if request.due_date else ""})
            return []
        events: list[Event] = []
        for signer in domain.reminders_due(request, now, self._reminder_every,
                                           self._max_reminders):
            signer.reminders += 1
            trail.add(AuditKind.MAILED, "service:signing", now, {
                "person_id": signer.person_id, "reminder": str(signer.reminders),
                "recipients": str(len(signer.recipients))})
            events.append(self._invitation(request, signer, reminder=signer.reminders))
        return events

    def start_sealing(self) -> None:
        """Start the sealing workers (they load the seal before the first signature)."""
        self._sealing_pool.start(self._sealing.seal)

    def close(self) -> None:
        self._sealing_pool.close()

    def _read_ahead(self, request: SignatureRequest) -> None:
        """The last signer is reading the document: its body is read now, while they read, so
        the seal that follows their signature does not wait for it (kept in the body cache,
        keyed by the sha256 offered: the seal checks it again)."""
        async def read() -> None:
            try:
                await self._body(request)
            except Exception as error:  # noqa: BLE001 - the seal reads it again if need be
                log.info("document not read ahead", signature_request_id=request.request_id,
                         error=str(error))
        task = asyncio.create_task(read(), name=f"read ahead {request.request_id}")
        self._seal_tasks.add(task)
        task.add_done_callback(self._seal_tasks.discard)

    async def _body(self, request: SignatureRequest) -> bytes:
        """The document offered for signature; seals of one document share its download (one
        PDF offered to many)."""
        return await self._bodies.get(
            request.document_id, request.document_sha256,
            lambda: self._download(request.dossier_id, request.document_id,
                                   documents.BodyVariant.VIEW))

    def _seal_soon(self, request: SignatureRequest) -> None:
        self._read_ahead(request)  # while the seal is claimed (when read ahead: at once)
        request_id = request.request_id
        task = asyncio.create_task(self.seal(request_id), name=f"seal {request_id}")
        self._seal_tasks.add(task)
        task.add_done_callback(self._seal_tasks.discard)

    async def seal(self, request_id: str) -> None:
        """Make the signed PDF of a fully signed request (once, whichever replica claims it)."""
        now_ms = int(self._clock().timestamp() * 1000)
        if not await self._store.claim_seal(
                request_id, now_ms, now_ms + int(self._seal_claim.total_seconds() * 1000)):
            return
        try:
            await self._seal_claimed(request_id)
        except (SealingProblem, Unavailable, httpx.HTTPError, NotFound) as error:
            log.warning("signed PDF not made; tried again later",
                        signature_request_id=request_id, error=str(error))
            await self._store.release_seal(request_id, str(error)[:500])
        except Exception as error:
            log.exception("signed PDF failed", signature_request_id=request_id)
            await self._store.release_seal(request_id, str(error)[:500] or "internal error")

    async def _seal_claimed(self, request_id: str) -> None:
        request = await self._store.get(request_id)
        if request is None or request.state is not RequestState.SEALING:
            return
        started = time.perf_counter()
        body = await self._body(request)
        downloaded = time.perf_counter()
        if hashlib.sha256(body).hexdigest() != request.document_sha256:
            raise SealingProblem("the document changed since it was offered for signature")
        sealed_at = self._clock()
        lines = domain.evidence_lines(request, audit_head=request.audit_head or "",
                                      sealed_at=sealed_at)
        async with self._sealing_slots:
            sealing = time.perf_counter()
            signed, seal_times = await self._sealing_pool.seal(body, lines, self._sealing.seal)
        sealed = time.perf_counter()
        steps: dict[str, float] = {}
        stored = await self._upload(request, signed, steps)
        uploaded = time.perf_counter()

        def completed(request: SignatureRequest, trail: Trail) -> list[Event]:
            if request.state is not RequestState.SEALING:
                return []
            now = self._clock()
            request.state = RequestState.AWAITING_BROKER
            request.completed_at = now
            request.signed_document_id = stored.document_id
            request.problem = None
            trail.add(AuditKind.COMPLETED, "service:signing", now, {
                "signed_document_id": stored.document_id,
                "signed_sha256": hashlib.sha256(signed).hexdigest(),
                "timestamped": str(bool(self._sealing.seal.tsa_url))})
            return [SignatureCompleted(
                dossier_id=request.dossier_id, correlation_id=correlation_id.get(),
                signature_request_id=request.request_id, title=request.title,
                signed_document_id=stored.document_id,
                recipients=[recipient for signer in request.signers
                            for recipient in signer.recipients])]

        await self._change(request_id, completed)
        self._seal_notices.sealed(request_id)
        log.info("signed PDF made", signature_request_id=request_id,
                 document_id=stored.document_id, download_s=round(downloaded - started, 3),
                 wait_s=round(sealing - downloaded, 3), seal_s=round(sealed - sealing, 3),
                 upload_s=round(uploaded - sealed, 3),
                 total_s=round(time.perf_counter() - started, 3),
                 seal_cpu_s=round(seal_times.cpu_s, 3),
                 seal_worker_s=round(seal_times.worker_s, 3),
                 seal_tsa_s=round(seal_times.tsa_s, 3),
                 **{f"upload_{step}_s": round(seconds, 3) for step, seconds in steps.items()})

    async def _download(self, dossier_id: str, document_id: str,
                        variant: documents.BodyVariant) -> bytes:
        ticket = await self._rpc.call(documents.OPEN_DOWNLOAD, documents.OpenDownloadRequest(
            caller=SIGNING_CALLER, dossier_id=dossier_id, document_id=document_id,
            variant=variant))
        response = await self._http.get(ticket.download_url)
        response.raise_for_status()
        return response.content

    async def _upload(self, request: SignatureRequest, body: bytes,
                      steps: dict[str, float] | None = None) -> documents.DocumentPublic:
        """The signed PDF becomes a document of the dossier, in the original's context."""
        stem = request.filename.rsplit(".", 1)[0] or "document"
        return await self.store_pdf(
            dossier_id=request.dossier_id, title=f"{request.title} (signed)",
            filename=f"{stem}-signed.pdf", context=request.context, body=body, steps=steps)

    async def store_pdf(self, *, dossier_id: str, title: str, filename: str,
                        context: DocumentContext, body: bytes,
                        steps: dict[str, float] | None = None) -> documents.DocumentPublic:
        """A PDF made here becomes a document of the dossier (`steps`: the seconds of each
        step, for the log)."""
        steps = {} if steps is None else steps
        started = time.perf_counter()
        slot = await self._rpc.call(documents.BEGIN_UPLOAD, documents.BeginUploadRequest(
            caller=SIGNING_CALLER, dossier_id=dossier_id, title=title[:200],
            filename=filename[:255], content_type=PDF, size=len(body), context=context))
        begun = time.perf_counter()
        response = await self._http.put(slot.upload_url, content=body, headers={
            "Content-Length": str(len(body)), "Content-Type": PDF})
        response.raise_for_status()
        put = time.perf_counter()
        stored = await self._rpc.call(documents.COMPLETE_UPLOAD, documents.CompleteUploadRequest(
            caller=SIGNING_CALLER, document_id=slot.document_id, size=len(body),
            sha256=hashlib.sha256(body).hexdigest(), correlation_id=correlation_id.get()))
        steps.update(begin=begun - started, put=put - begun,
                     complete=time.perf_counter() - put)
        return stored

    # --- one change, compare-and-set ------------------------------------------------------

    async def _change(self, request_id: str,
                      change: Callable[[SignatureRequest, Trail], list[Event]], *,
                      missing: Callable[[], NotFound] | None = None) -> SignatureRequest:
        """Apply `change` to the stored request and save it with its audit records and events;
        another writer in between -> read again and apply it again."""
        for _ in range(SAVE_ATTEMPTS):
            found = await self._store.get(request_id, flush=True)
            if found is None:
                raise (missing() if missing else
                       NotFound("This signature request does not exist."))
            trail = Trail(found)
            request = found
            events = change(request, trail)
            if not trail.records and not events:
                return request
            if await self._store.save(request, trail.records, events):
                if events:
                    self._on_events_stored()
                return request
        raise Unavailable("The signature request is busy; please try again.")
