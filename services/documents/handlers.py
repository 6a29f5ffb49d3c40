"""Use cases of the documents service: staff publish PDFs into a dossier; callers open them."""

from collections.abc import Callable
from datetime import timedelta

from libs.contracts.documents import (
    BeginUploadRequest,
    CompleteUploadRequest,
    DocumentList,
    DocumentPublic,
    DocumentPublished,
    DownloadTicket,
    ListDocumentsQuery,
    OpenDownloadRequest,
    UploadSlot,
)
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import Conflict, Invalid, NotFound
from libs.servicekit.logs import get_logger
from services.documents.domain import (
    PDF_SIGNATURE,
    DocumentState,
    StoredDocument,
    normalized_content_type,
    object_key,
    stored_body_problem,
    upload_problems,
)
from services.documents.object_storage import ObjectStorage
from services.documents.store import DocumentsStore

log = get_logger(__name__)


class DocumentsHandlers:
    """One method per query or command."""

    def __init__(
        self,
        store: DocumentsStore,
        storage: ObjectStorage,
        *,
        max_upload_bytes: int,
        link_lifetime: timedelta,
        on_events_stored: Callable[[], None],
    ) -> None:
        self._store = store
        self._storage = storage
        self._max_upload_bytes = max_upload_bytes
        self._link_lifetime = link_lifetime
        self._on_events_stored = on_events_stored

    async def begin_upload(self, request: BeginUploadRequest) -> UploadSlot:
        """Staff announce a document for a dossier; they get a short-lived link to upload it to."""
        require_staff(request.caller)
        require_dossier_access(request.caller, request.dossier_id)
        problems = upload_problems(
            dossier_id=request.dossier_id,
            filename=request.filename,
            content_type=request.content_type,
            size=request.size,
            max_bytes=self._max_upload_bytes,
        )
        if problems:
            raise Invalid("The document cannot be uploaded.", fields=problems)
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
        ))
        log.info("upload begun", document_id=document_id, dossier_id=request.dossier_id)
        return UploadSlot(
            document_id=document_id, upload_url=upload_url, max_size=self._max_upload_bytes
        )

    async def complete_upload(self, request: CompleteUploadRequest) -> DocumentPublic:
        """Verify the uploaded body in S3, then publish the document and announce it."""
        require_staff(request.caller)
        document = await self._store.get(request.document_id)
        if document is None or not request.caller.may_see_dossier(document.dossier_id):
            raise NotFound("This document does not exist.")
        if document.state != DocumentState.UPLOADING:
            return self._completed_before(document, request)
        stored_size = await self._storage.stored_size(document.object_key)
        if stored_size is None:
            # Still uploading: the presigned PUT may be retried while its link is valid.
            raise Invalid("Nothing was uploaded for this document.", fields={"file": "missing"})
        head = b""
        if stored_size > 0:
            head = await self._storage.read_head(document.object_key, len(PDF_SIGNATURE))
        problem = stored_body_problem(
            reported_size=request.size,
            stored_size=stored_size,
            max_bytes=self._max_upload_bytes,
            head=head,
        )
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
        )
        published = await self._store.publish(
            document.document_id,
            size=stored_size,
            sha256=request.sha256,
            uploaded_at=utc_now(),
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

    async def list_documents(self, query: ListDocumentsQuery) -> DocumentList:
        """The documents published in the dossier, newest first."""
        require_dossier_access(query.caller, query.dossier_id)
        return DocumentList(documents=await self._store.list_published(query.dossier_id))

    async def open_download(self, request: OpenDownloadRequest) -> DownloadTicket:
        """A short-lived link to a published document's body, for the gateway to stream."""
        require_dossier_access(request.caller, request.dossier_id)
        document = await self._store.get(request.document_id)
        if (
            document is None
            or document.dossier_id != request.dossier_id
            or document.state != DocumentState.PUBLISHED
        ):
            raise NotFound("This document does not exist.")
        download_url = await self._storage.presign_get(document.object_key, self._link_lifetime)
        return DownloadTicket(document=document.to_public(), download_url=download_url)
