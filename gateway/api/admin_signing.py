"""The admin API for signature requests: offer a document of a dossier for signature, follow
each signer's state, cancel, read and verify the audit trail and the signed PDF."""

from datetime import date
from typing import Annotated

from fastapi import Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.access_log import note_dossier_read
from gateway.api_links import answer_links, signature_request
from gateway.deps import DossierIdPath, ObjectIdPath, Rpc, StaffCaller, State
from gateway.downloads import open_and_stream
from gateway.problems import api_router
from gateway.signing_evidence import evidence_of
from libs.contracts import documents, paging, signing
from libs.contracts.ids import DossierId, ObjectId
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/admin/api/v1", tags=["admin"])


class NewSignatureRequest(BaseModel):
    document_id: ObjectId
    signer_person_ids: list[ObjectId] = Field(min_length=1, max_length=signing.MAX_SIGNERS,
                                              description="Persons of the dossier, in order")
    ordered: bool = Field(default=False, description="Each signs after the one before")
    due_date: date | None = None
    message: str | None = Field(default=None, max_length=2000)


class CancelBody(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/dossiers/{dossier_id}/signature-requests", status_code=status.HTTP_201_CREATED,
             responses=answer_links(201, **signature_request("/signature_request_id",
                                                             cancel=True)))
async def create_signature_request(dossier_id: DossierIdPath, body: NewSignatureRequest,
                                   staff: StaffCaller, rpc: Rpc
                                   ) -> signing.SignatureRequestPublic:
    """Offer a document of the dossier (shown as PDF) for signature by persons of the dossier,
    each of whom needs a MyBroker account of the dossier with the person's e-mail address."""
    return await rpc.call(signing.CREATE_SIGNATURE_REQUEST, signing.CreateSignatureRequest(
        caller=staff.caller(), dossier_id=dossier_id, document_id=body.document_id,
        signer_person_ids=body.signer_person_ids, ordered=body.ordered, due_date=body.due_date,
        note=body.message, correlation_id=correlation_id.get()))


@router.get("/signature-requests", responses=answer_links(
    200, **signature_request("/requests/0/signature_request_id")))
async def list_signature_requests(
    staff: StaffCaller, rpc: Rpc,
    dossier_id: Annotated[DossierId | None, Query()] = None,
    state: Annotated[signing.RequestState | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=paging.MAX_CURSOR, description=(
        "`next_cursor` of the previous page of the same filters (opaque and signed; any "
        "other is refused: 422)"))] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> signing.SignatureRequestList:
    """Signature requests, newest first, with each signer's state; keyset paged:
    `next_cursor` leads to the next page (None on the last)."""
    return await rpc.call(signing.LIST_SIGNATURE_REQUESTS, signing.ListSignatureRequestsQuery(
        caller=staff.caller(), dossier_id=dossier_id, state=state, cursor=cursor,
        page_size=page_size))


@router.get("/signature-requests/{signature_id}")
async def get_signature_request(signature_id: ObjectIdPath, request: Request,
                                staff: StaffCaller, rpc: Rpc) -> signing.SignatureRequestPublic:
    found = await rpc.call(signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=staff.caller(), signature_request_id=signature_id))
    note_dossier_read(request.scope.setdefault("state", {}), found.dossier_id)
    return found


@router.post("/signature-requests/{signature_id}/cancel")
async def cancel_signature_request(signature_id: ObjectIdPath, body: CancelBody,
                                   staff: StaffCaller, rpc: Rpc
                                   ) -> signing.SignatureRequestPublic:
    """Cancel an open request (cancelling twice is no error; a finished one is a 409)."""
    return await rpc.call(signing.CANCEL_SIGNATURE_REQUEST, signing.CancelSignatureRequest(
        caller=staff.caller(), signature_request_id=signature_id, reason=body.reason))


@router.get("/signature-requests/{signature_id}/audit")
async def signature_audit_trail(signature_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc
                                ) -> signing.AuditTrail:
    """The hash-chained trail: what `python -m services.signing.verify --audit-json` reads."""
    return await rpc.call(signing.GET_AUDIT_TRAIL, signing.SignatureRequestQuery(
        caller=staff.caller(), signature_request_id=signature_id))


@router.get("/signature-requests/{signature_id}/verification")
async def verify_signature_request(signature_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc
                                   ) -> signing.Verification:
    """Check the trail's chain and the signed PDF's seal (intact, trusted, timestamped)."""
    return await rpc.call(signing.VERIFY, signing.SignatureRequestQuery(
        caller=staff.caller(), signature_request_id=signature_id))


@router.get("/signature-requests/{signature_id}/signed-document",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {}}}})
async def signed_document(signature_id: ObjectIdPath, request: Request, staff: StaffCaller,
                          rpc: Rpc, state: State) -> StreamingResponse:
    """The signed PDF (404 until it is ready)."""
    where = await rpc.call(signing.OPEN_SIGNED_DOCUMENT, signing.SignedDocumentRequest(
        caller=staff.caller(), signature_request_id=signature_id, evidence=evidence_of(request)))
    note_dossier_read(request.scope.setdefault("state", {}), where.dossier_id)
    return await open_and_stream(rpc, state.storage, staff.caller(),
                                 dossier_id=where.dossier_id, document_id=where.document_id,
                                 variant=documents.BodyVariant.ORIGINAL, as_attachment=True)
