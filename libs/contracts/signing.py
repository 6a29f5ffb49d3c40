"""Contracts of the signing service (documents to sign; signing itself is not built yet)."""

from datetime import datetime

from pydantic import BaseModel

from libs.contracts.caller import Caller
from libs.contracts.rpc import RpcMethod


class DocumentToSign(BaseModel):
    signature_request_id: str
    dossier_id: str
    document_id: str
    title: str
    requested_at: datetime


class DocumentsToSignQuery(BaseModel):
    caller: Caller
    dossier_id: str


class DocumentsToSign(BaseModel):
    documents: list[DocumentToSign]


LIST_DOCUMENTS_TO_SIGN = RpcMethod(
    "signing.rpc.list_documents_to_sign", DocumentsToSignQuery, DocumentsToSign
)
