"""Contracts of the documents service. Bodies never ride the bus: only references do."""

from datetime import datetime

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod


class DocumentPublic(BaseModel):
    document_id: str
    dossier_id: str
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class BeginUploadRequest(BaseModel):
    caller: Caller
    dossier_id: str
    title: str = Field(min_length=1, max_length=200)
    filename: str = Field(min_length=1, max_length=255)
    content_type: str
    size: int = Field(gt=0)


class UploadSlot(BaseModel):
    """Where the gateway streams the body: a presigned S3 PUT valid for a few minutes."""

    document_id: str
    upload_url: str
    max_size: int


class CompleteUploadRequest(BaseModel):
    caller: Caller
    document_id: str
    size: int
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    correlation_id: str | None = None


class ListDocumentsQuery(BaseModel):
    caller: Caller
    dossier_id: str


class DocumentList(BaseModel):
    documents: list[DocumentPublic]


class OpenDownloadRequest(BaseModel):
    caller: Caller
    dossier_id: str
    document_id: str


class DownloadTicket(BaseModel):
    """A presigned S3 GET the gateway streams from, with what the response headers need."""

    document: DocumentPublic
    download_url: str


BEGIN_UPLOAD = RpcMethod("documents.rpc.begin_upload", BeginUploadRequest, UploadSlot)
COMPLETE_UPLOAD = RpcMethod("documents.rpc.complete_upload", CompleteUploadRequest, DocumentPublic)
LIST_DOCUMENTS = RpcMethod("documents.rpc.list_documents", ListDocumentsQuery, DocumentList)
OPEN_DOWNLOAD = RpcMethod("documents.rpc.open_download", OpenDownloadRequest, DownloadTicket)


class DocumentPublished(Event):
    """A document became available in a dossier."""

    routing_key = "documents.document.published"

    document_id: str
    title: str
    uploaded_by: str
