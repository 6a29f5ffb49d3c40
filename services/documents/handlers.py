"""Use cases of the documents service: staff publish documents, clients upload attachments."""

from collections.abc import Callable
from datetime import timedelta

from libs.contracts.caller import Caller, Role
from libs.contracts.documents import (
    OFFICE_ASSET_TYPES,
    OFFICE_ASSETS,
    BatchPublic,
    BeginUploadRequest,
    BodyVariant,
    CompleteUploadRequest,
    ContextKind,
    DocumentList,
    DocumentProblemList,
    DocumentProblemsQuery,
    DocumentPublic,
    DocumentPublished,
    DownloadTicket,
    ListDocumentsQuery,
    OpenDownloadRequest,
    OpenOfficeAssetRequest,
    PublishBatchRequest,
    ReportDamagedRequest,
    ReportVerifiedRequest,
    UploaderKind,
    UploadSlot,
)
from libs.contracts.dossier import DossierObjectRef, ObjectKind
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from libs.servicekit.logs import get_logger
from libs.servicekit.references import DossierReferenceCheck
from services.documents.announcements import BatchAnnouncer
from services.documents.domain import (
    Body,
    DocumentState,
    StoredDocument,
    initial_rendition,
    normalized_content_type,
    object_key,
    stored_body_problem,
    unviewable_problem,
    upload_problems,
)
from services.documents.integrity import BodyVerifier, FoundBy, RangeCheck, record_damage
from services.documents.object_storage import ObjectStorage
from services.documents.sniffing import (
    ARCHIVE_TAIL_BYTES,
    HEAD_BYTES,
    ZIP_SIGNATURE,
    archive_problem,
    sniff,
)
from services.documents.store import DocumentsStore

log = get_logger(__name__)


def _office_asset(request: BeginUploadRequest) -> bool:
    """Whether `request` adds an office asset; only the office admin adds them, only images
    the pages show (PNG, JPEG), only under OFFICE_ASSETS, and nothing else goes there."""
    if request.context.kind != ContextKind.OFFICE and request.dossier_id != OFFICE_ASSETS:
        return False
    if request.caller.role is not Role.ADMIN:
        raise Forbidden("Only the office admin adds the office's logo.")
    if request.context.kind != ContextKind.OFFICE or request.dossier_id != OFFICE_ASSETS:
        raise Invalid("Office assets are kept in the office context only.",
                      fields={"context": "office assets only"})
    if normalized_content_type(request.content_type) not in OFFICE_ASSET_TYPES:
        raise Invalid("The logo must be a PNG or JPEG image.",
                      fields={"content_type": "PNG or JPEG only"})
    return True
# The contexts that are objects of the dossier service (a request's is the requests service's).
DOSSIER_OBJECT_KINDS: dict[ContextKind, ObjectKind] = {
    ContextKind.PERSON: "person", ContextKind.RISK_OBJECT: "risk_object",
    ContextKind.CONTRACT: "contract", ContextKind.CLAIM: "claim",
}


class DocumentsHandlers:
    """One method per query or command."""

    def __init__(
        self,
        store: DocumentsStore,
        storage: ObjectStorage,
        verifier: BodyVerifier,
        announcer: BatchAnnouncer,
        references: DossierReferenceCheck,
        *,
        max_upload_bytes: int,
        client_max_upload_bytes: int,
        dossier_quota_bytes: int,
        link_lifetime: timedelta,
        on_events_stored: Callable[[], None],
    ) -> None:
        self._store = store
        self._storage = storage
        self._verifier = verifier
        self._announcer = announcer
        self._references = references
        self._max_upload_bytes = max_upload_bytes
        self._client_max_upload_bytes = client_max_upload_bytes
        self._dossier_quota_bytes = dossier_quota_bytes
        self._link_lifetime = link_lifetime
        self._on_events_stored = on_events_stored

    def _max_bytes(self, uploader: UploaderKind) -> int:
        if uploader == UploaderKind.STAFF:
            return self._max_upload_bytes
        return self._client_max_upload_bytes

    async def begin_upload(self, request: BeginUploadRequest) -> UploadSlot:
        """Staff publish, or a client attaches, a file in a dossier's context: they get a
        short-lived link to upload it to."""
        office_asset = _office_asset(request)
        require_dossier_access(request.caller, request.dossier_id)
        uploader = UploaderKind.STAFF if request.caller.is_staff else UploaderKind.CLIENT
        max_bytes = self._max_bytes(uploader)
        problems = upload_problems(
            dossier_id=request.dossier_id,
            filename=request.filename,
            size=request.size,
            max_bytes=max_bytes,
            context=request.context,
            quota_left=self._dossier_quota_bytes - await self._store.bytes_used(
                request.dossier_id),
        )
        if problems:
            raise Invalid("The document cannot be uploaded.", fields=problems)
        if not office_asset:  # the office's assets belong to no dossier of the dossier service
            await self._require_references(request)
        document_id = new_id()
        key = object_key(request.dossier_id, document_id)
        upload_url = await self._storage.presign_put(key, self._link_lifetime)
        await self._store.insert(StoredDocument(
            document_id=document_id,
            dossier_id=request.dossier_id,
            title=request.title.strip() or request.filename,
            filename=request.filename,
            content_type=normalized_content_type(request.content_type),
            declared_size=request.size,
            object_key=key,
            state=DocumentState.UPLOADING,
            uploaded_by=request.caller.user_id,
            created_at=utc_now(),
            context=request.context,
            uploader_kind=uploader,
        ))
        log.info("upload begun", document_id=document_id, dossier_id=request.dossier_id)
        return UploadSlot(document_id=document_id, upload_url=upload_url, max_size=max_bytes)

    async def _require_references(self, request: BeginUploadRequest) -> None:
        """The dossier exists and the context's object belongs to it (asked to the dossier
        service: no file in dossier X hangs on a claim of dossier Y)."""
        kind = DOSSIER_OBJECT_KINDS.get(request.context.kind)
        if kind is None or request.context.ref_id is None:
            await self._references.require_dossier(request.caller, request.dossier_id)
            return
        await self._references.require_object(request.caller, DossierObjectRef(
            dossier_id=request.dossier_id, kind=kind, object_id=request.context.ref_id))

    async def complete_upload(self, request: CompleteUploadRequest) -> DocumentPublic:
        """Verify the uploaded body in S3, then publish the document and announce it."""
        document = await self._store.get(request.document_id)
        if document is None or not self._may_complete(request, document):
            raise NotFound("This document does not exist.")
        if document.state != DocumentState.UPLOADING:
            return self._completed_before(document, request)
        stored = await self._storage.size_and_head(document.object_key, HEAD_BYTES)
        if stored is None:
            # Still uploading: the presigned PUT may be retried while its link is valid.
            raise Invalid("Nothing was uploaded for this document.", fields={"file": "missing"})
        stored_size, head = stored
        # The type comes from the stored bytes: the client's declared type proves nothing.
        sniffed = sniff(head, document.filename)
        problem = stored_body_problem(
            reported_size=request.size,
            stored_size=stored_size,
            max_bytes=self._max_bytes(document.uploader_kind),
        ) or unviewable_problem(sniffed.view, viewable_only=request.viewable_only)
        if (problem is None and document.context.kind == ContextKind.OFFICE
                and sniffed.content_type not in OFFICE_ASSET_TYPES):
            problem = "The logo must be a PNG or JPEG image."
        if problem is None and head.startswith(ZIP_SIGNATURE):
            # Judged before publication: nothing ever unpacks a refused file.
            tail = await self._storage.read_tail(
                document.object_key, stored_size, ARCHIVE_TAIL_BYTES)
            problem = archive_problem(tail, stored_size)
        if problem is not None:
            await self._store.reject(document.document_id, problem)
            await self._storage.remove(document.object_key)
            log.warning("upload refused", document_id=document.document_id, reason=problem)
            raise Invalid(problem, fields={"file": problem})
        event = DocumentPublished(
            dossier_id=document.dossier_id,
            correlation_id=request.correlation_id,
            document_id=document.document_id,
            title=document.title,
            uploaded_by=document.uploaded_by,
            context=document.context,
            uploader_kind=document.uploader_kind,
        )
        published = await self._store.publish(
            document.document_id,
            dossier_id=document.dossier_id,
            size=stored_size,
            sha256=request.sha256,
            uploaded_at=utc_now(),
            content_type=sniffed.content_type,
            view=sniffed.view,
            rendition=initial_rendition(sniffed.view),
            event=event,
        )
        if published:
            self._on_events_stored()
            log.info("document published", document_id=document.document_id)
        latest = await self._store.get(document.document_id)
        if latest is None:
            raise NotFound("This document does not exist.")
        return latest.to_public() if published else self._completed_before(latest, request)

    @staticmethod
    def _may_complete(request: CompleteUploadRequest, document: StoredDocument) -> bool:
        """Staff of the office, or the client who began this upload."""
        if request.caller.is_staff:
            return True
        return (request.caller.user_id == document.uploaded_by
                and request.caller.may_see_dossier(document.dossier_id))

    @staticmethod
    def _completed_before(
        document: StoredDocument, request: CompleteUploadRequest
    ) -> DocumentPublic:
        """A repeated completion of the same upload gets the same answer; anything else clashes."""
        if (
            document.state == DocumentState.PUBLISHED
            and document.sha256 == request.sha256
            and document.size == request.size
        ):
            return document.to_public()
        if document.state == DocumentState.REJECTED:
            raise Conflict(f"This upload was refused: {document.rejection_reason}")
        raise Conflict("This upload was already completed with another file.")

    async def publish_batch(self, request: PublishBatchRequest) -> BatchPublic:
        """Staff finished publishing documents together: announce them once, as one batch
        (the client gets one mail per batch, not one per file)."""
        require_staff(request.caller)
        require_dossier_access(request.caller, request.dossier_id)
        wanted = list(dict.fromkeys(request.document_ids))  # order kept, repeats dropped
        found = {document.document_id: document
                 for document in await self._store.get_many(wanted)}
        batch = [found.get(document_id) for document_id in wanted]
        if any(document is None or document.dossier_id != request.dossier_id
               or document.state != DocumentState.PUBLISHED for document in batch):
            raise NotFound("A document of this batch does not exist (or is not published).")
        published = [document for document in batch if document is not None]
        if any(document.uploader_kind != UploaderKind.STAFF for document in published):
            raise Invalid("Only documents the office published form a batch.",
                          fields={"document_ids": "a client's upload"})
        contexts = {(document.context.kind, document.context.ref_id) for document in published}
        if len(contexts) != 1:
            raise Invalid("The documents of one batch share one context.",
                          fields={"document_ids": "several contexts"})
        # Documents the service announced meanwhile (the batch came late) are not announced
        # again: the batch announces the others.
        count, announced_before = await self._announcer.announce(
            request.batch_id, request.dossier_id, wanted, request.correlation_id)
        return BatchPublic(batch_id=request.batch_id, count=count,
                           announced_before=announced_before)

    async def list_documents(self, query: ListDocumentsQuery) -> DocumentList:
        """One page of the documents published in the dossier (or one context), newest first."""
        require_dossier_access(query.caller, query.dossier_id)
        found, next_cursor, total = await self._store.list_published(
            query.dossier_id, context=query.context, content_type=query.content_type,
            cursor=query.cursor, limit=query.page_size, caller=query.caller)
        return DocumentList(documents=found, total=total, page_size=query.page_size,
                            next_cursor=next_cursor)

    async def list_document_problems(self, query: DocumentProblemsQuery) -> DocumentProblemList:
        """Staff: damaged documents and failed uploads (what the orphan sweep and the integrity
        checks found), the latest first."""
        require_staff(query.caller)
        found = await self._store.with_problems(query.limit)
        return DocumentProblemList(problems=[document.to_problem() for document in found])

    async def open_download(self, request: OpenDownloadRequest) -> DownloadTicket:
        """A short-lived link to a published document's body, for the gateway to stream; for a
        range of a PDF, only once the whole stored body hashed right recently."""
        document = await self._published(request.caller, request.dossier_id,
                                         request.document_id)
        body = document.body(request.variant)
        if body is None:
            raise NotFound("This document has no such view (yet).")
        ranges = False
        if request.ranged and body.rangeable:
            check = await self._verifier.check_for_ranges(document, body)
            if check == RangeCheck.DAMAGED:
                raise Gone("This document's file is damaged; your broker has been told.")
            ranges = check == RangeCheck.VERIFIED
        download_url = await self._storage.presign_get(body.key, self._link_lifetime)
        return DownloadTicket(
            document=document.to_public(), download_url=download_url, filename=body.filename,
            content_type=body.content_type, size=body.size, sha256=body.sha256, ranges=ranges)

    async def open_office_asset(self, request: OpenOfficeAssetRequest) -> DownloadTicket:
        """A short-lived link to a public office asset (the logo), for anyone: only published,
        undamaged documents of the office context."""
        document = await self._store.get(request.document_id)
        if (
            document is None
            or document.dossier_id != OFFICE_ASSETS
            or document.context.kind != ContextKind.OFFICE
            or document.state != DocumentState.PUBLISHED
            or document.damaged
        ):
            raise NotFound("This office asset does not exist.")
        body = document.body(BodyVariant.ORIGINAL)
        if body is None:
            raise NotFound("This office asset does not exist.")
        download_url = await self._storage.presign_get(body.key, self._link_lifetime)
        return DownloadTicket(
            document=document.to_public(), download_url=download_url, filename=body.filename,
            content_type=body.content_type, size=body.size, sha256=body.sha256)

    async def _published(self, caller: Caller, dossier_id: str, document_id: str
                         ) -> StoredDocument:
        """The caller's published, undamaged document (404 / 410 otherwise)."""
        require_dossier_access(caller, dossier_id)
        document = await self._store.get(document_id)
        if (
            document is None
            or document.dossier_id != dossier_id
            or document.state != DocumentState.PUBLISHED
        ):
            raise NotFound("This document does not exist.")
        if document.damaged:
            raise Gone("This document's file is damaged; your broker has been told.")
        return document

    async def report_damaged(self, request: ReportDamagedRequest) -> Ack:
        """The gateway found a body that does not match its hash: never serve it again."""
        require_dossier_access(request.caller, request.dossier_id)
        document = await self._store.get(request.document_id)
        if document is None or document.dossier_id != request.dossier_id:
            raise NotFound("This document does not exist.")
        reason = f"The {request.variant.value} read back with sha256 {request.observed_sha256}."
        await record_damage(self._store, document, reason, FoundBy.DOWNLOAD)
        return Ack()

    async def report_verified(self, request: ReportVerifiedRequest) -> Ack:
        """The gateway read a whole body and it hashed right: ranges of it may be served."""
        document = await self._published(request.caller, request.dossier_id,
                                         request.document_id)
        body: Body | None = document.body(request.variant)
        if body is not None and body.sha256 == request.observed_sha256:
            await self._store.record_verified(document.document_id, [body.stored], utc_now())
        return Ack()
