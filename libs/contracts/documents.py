"""Contracts of the documents service. Bodies never ride the bus: only references do."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.paging import Continued, PageCursor
from libs.contracts.rpc import Ack, RpcMethod
from libs.contracts.shown_names import GivenName, ShownName

MIB = 1024 * 1024
# A client's attachments (manual 4.4 and 6): per file, files at once, all files together. The
# documents service enforces the size of each file; the gateway checks all three while the
# upload streams in (it is the only one that sees a whole batch).
CLIENT_ATTACHMENT_MAX_BYTES = 2 * MIB
CLIENT_ATTACHMENT_MAX_FILES = 10
CLIENT_ATTACHMENT_MAX_TOTAL_BYTES = 10 * MIB
# The only types a browser is asked to show itself (inline); every other type is a download.
BROWSER_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE_TYPES = BROWSER_IMAGE_TYPES | {"application/pdf"}


class ContextKind(StrEnum):
    """Where in the dossier a document belongs (manual 3.4: each part has a "Documents" button)."""

    GENERAL = "general"  # the dossier's general data ("Mijn gegevens" lists every context)
    PERSON = "person"
    RISK_OBJECT = "risk_object"
    CONTRACT = "contract"
    CLAIM = "claim"
    REQUEST = "request"  # a request, form or message (its attachments)
    # The office's own public assets (its logo), kept under OFFICE_ASSETS instead of a client's
    # dossier: no client is told of them, and only the office admin adds them.
    OFFICE = "office"


OFFICE_ASSETS = "office-assets"  # the dossier id under which the office's assets are kept
OFFICE_ASSET_TYPES = frozenset({"image/png", "image/jpeg"})


class DocumentContext(BaseModel):
    """A document's context: a kind and, except for the general data, the object's id."""

    kind: ContextKind = ContextKind.GENERAL
    ref_id: ObjectId | None = None


class UploaderKind(StrEnum):
    STAFF = "staff"
    CLIENT = "client"


class RenditionState(StrEnum):
    """How far the viewable form (a PDF, or the image itself) is."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"  # the reason says why; the original stays downloadable


class RenditionPublic(BaseModel):
    state: RenditionState = RenditionState.PENDING
    content_type: str | None = None  # application/pdf, or the image's own type
    reason: str | None = None
    has_thumbnail: bool = False


class DocumentPublic(BaseModel):
    document_id: str
    dossier_id: str
    title: ShownName
    filename: ShownName
    content_type: str  # sniffed from the bytes, never the client's word
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    context: DocumentContext = Field(default_factory=DocumentContext)
    uploader_kind: UploaderKind = UploaderKind.STAFF
    rendition: RenditionPublic = Field(default_factory=RenditionPublic)
    damaged: bool = False  # the stored body no longer matches its hash: never served


class BeginUploadRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    title: GivenName = Field(min_length=1, max_length=200)
    filename: GivenName = Field(min_length=1, max_length=255)
    content_type: str
    size: int = Field(gt=0)
    context: DocumentContext = Field(default_factory=DocumentContext)


class UploadSlot(BaseModel):
    """Where the gateway streams the body: a presigned S3 PUT valid for a few minutes."""

    document_id: str
    upload_url: str
    max_size: int


class CompleteUploadRequest(BaseModel):
    caller: Caller
    document_id: ObjectId
    size: int
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    correlation_id: str | None = None
    viewable_only: bool = Field(default=False, description="Refuse (and remove) a file of a "
                                "type MyBroker cannot show; the staff upload page asks this")


MAX_PAGE_SIZE = 100


class ListDocumentsQuery(BaseModel):
    """One page of a dossier's documents, newest first (keyset paged: `libs.contracts.paging`;
    a cursor is one of this dossier and these filters)."""

    caller: Caller
    dossier_id: DossierId
    context: DocumentContext | None = None  # None or the general context: every document
    content_type: str | None = Field(  # filter on the type ("application/pdf", "image/", ...)
        default=None, max_length=255)
    cursor: PageCursor = None
    page_size: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)


class DocumentList(Continued):
    """Documents: one page of a list (`next_cursor` leads on), or the files just uploaded."""

    documents: list[DocumentPublic]
    total: int | None = None
    page_size: int = 100


class BodyVariant(StrEnum):
    ORIGINAL = "original"
    VIEW = "view"  # the PDF rendition, or the image itself
    THUMBNAIL = "thumbnail"


class OpenDownloadRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    document_id: ObjectId
    variant: BodyVariant = BodyVariant.ORIGINAL
    ranged: bool = Field(default=False, description="The caller wants a byte range of the "
                         "body: a part cannot be checked against the hash, so the service "
                         "first makes sure the whole stored body was verified recently")


class DownloadTicket(BaseModel):
    """A presigned S3 GET the gateway streams from, with what the response headers need."""

    document: DocumentPublic
    download_url: str
    # The body behind download_url (the original's values when absent).
    filename: ShownName | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    ranges: bool = Field(default=False, description="The body may be served in byte ranges: "
                         "a PDF whose stored body matched its hash recently; otherwise it is "
                         "served whole, verified on the way")


class ReportDamagedRequest(BaseModel):
    """The gateway read a body whose hash differs from the stored one."""

    caller: Caller
    dossier_id: DossierId
    document_id: ObjectId
    variant: BodyVariant
    observed_sha256: str


class ReportVerifiedRequest(BaseModel):
    """The gateway read a whole body and it matched its hash: ranges of it may be served."""

    caller: Caller
    dossier_id: DossierId
    document_id: ObjectId
    variant: BodyVariant
    observed_sha256: str


class PublishBatchRequest(BaseModel):
    """Staff finished publishing these documents together: the client hears of them once."""

    caller: Caller
    dossier_id: DossierId
    batch_id: str = Field(pattern="^[0-9a-f]{32}$", description="Chosen by the gateway; "
                          "a repeated request with the same id announces nothing new")
    document_ids: list[ObjectId] = Field(min_length=1, max_length=100)
    correlation_id: str | None = None


class BatchPublic(BaseModel):
    batch_id: str
    count: int = Field(description="Documents this batch announces")
    announced_before: int = Field(default=0, description=(
        "Documents of the request an earlier batch announced already (such as the service's "
        "own announcement of files whose batch never came); they are not announced again"))


class DocumentProblemsQuery(BaseModel):
    """Staff ask which documents need a look."""

    caller: Caller
    limit: int = Field(default=100, ge=1, le=500)


class DocumentProblem(BaseModel):
    """A damaged document (never served) or an upload that failed (never listed)."""

    document_id: str
    dossier_id: str
    title: ShownName
    filename: ShownName
    problem: Literal["damaged", "upload_failed"]
    reason: str | None = None
    created_at: datetime  # when the upload began


class DocumentProblemList(BaseModel):
    problems: list[DocumentProblem]


class OpenOfficeAssetRequest(BaseModel):
    """A public office asset (the logo the login page shows): no caller, since anyone may see
    it; only documents of the office context are served."""

    document_id: ObjectId


BEGIN_UPLOAD = RpcMethod("documents.rpc.begin_upload", BeginUploadRequest, UploadSlot)
COMPLETE_UPLOAD = RpcMethod("documents.rpc.complete_upload", CompleteUploadRequest, DocumentPublic)
LIST_DOCUMENTS = RpcMethod("documents.rpc.list_documents", ListDocumentsQuery, DocumentList)
OPEN_DOWNLOAD = RpcMethod("documents.rpc.open_download", OpenDownloadRequest, DownloadTicket)
REPORT_DAMAGED = RpcMethod("documents.rpc.report_damaged", ReportDamagedRequest, Ack)
REPORT_VERIFIED = RpcMethod("documents.rpc.report_verified", ReportVerifiedRequest, Ack)
LIST_DOCUMENT_PROBLEMS = RpcMethod("documents.rpc.list_document_problems", DocumentProblemsQuery,
                                   DocumentProblemList)
OPEN_OFFICE_ASSET = RpcMethod("documents.rpc.open_office_asset", OpenOfficeAssetRequest,
                              DownloadTicket)
PUBLISH_BATCH = RpcMethod("documents.rpc.publish_batch", PublishBatchRequest, BatchPublic)


class DocumentPublished(Event):
    """A document became available in a dossier."""

    routing_key = "documents.document.published"

    document_id: str
    title: str
    uploaded_by: str
    context: DocumentContext = Field(default_factory=DocumentContext)
    uploader_kind: UploaderKind = UploaderKind.STAFF


class DocumentsBatchPublished(Event):
    """Staff published one or more documents together into a dossier's context (one mail)."""

    routing_key = "documents.batch.published"

    batch_id: str
    context: DocumentContext = Field(default_factory=DocumentContext)
    titles: list[str]
    count: int
