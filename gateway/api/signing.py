"""A signer's JSON API: the request offered to them, the checkbox signature, a refusal, the
signed PDF. The document itself is read through the documents routes (which count as opened)."""

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from gateway.deps import CurrentCaller, ObjectIdPath, Rpc, State
from gateway.downloads import open_and_stream
from gateway.problems import api_router, problem
from gateway.signing_evidence import authenticated_at, evidence_of
from libs.contracts import documents, signing
from libs.servicekit.errors import Conflict

router = api_router(prefix="/api/v1/signature-requests", tags=["signing"])
WAIT_MARGIN_SECONDS = 5.0  # an offer asked to wait for the seal: the answer's time beyond it


class SignBody(BaseModel):
    approved: bool = Field(description="The signer ticked \"Gelezen en goedgekeurd\"")
    method: signing.SignatureMethod = signing.SignatureMethod.CHECKBOX


class RefuseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


@router.get("/{signature_id}")
async def get_offer(
    signature_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
    wait: Annotated[float, Query(ge=0, le=signing.MAX_WAIT_FOR_SEAL_SECONDS, description=(
        "While the signed PDF is being made (state `sealing`): answer as soon as it is "
        "made, or after this many seconds, instead of at once"))] = 0,
) -> signing.SignatureOffer:
    """The request as the signer sees it (404 when it is not offered to them)."""
    return await rpc.call(signing.GET_OFFER, signing.SignatureRequestQuery(
        caller=claims.caller(), signature_request_id=signature_id,
        wait_for_seal_seconds=wait), timeout_seconds=wait + WAIT_MARGIN_SECONDS)


@router.post("/{signature_id}/sign", response_model=signing.SignatureOffer, responses={
    409: {"description": "Signed before: the same result", "model": signing.SignatureOffer},
    403: problem(403, "The login is too old: log in again (errors.reason = "
                      "reauthentication_required)"),
    410: problem(410, "The request was cancelled, refused or expired")})
async def sign(signature_id: ObjectIdPath, body: SignBody, request: Request,
               claims: CurrentCaller, rpc: Rpc) -> Response:
    """Sign with the checkbox: the document must have been opened first (its view or content
    fetched), and the login must be recent (else 403: log in again and retry)."""
    caller = claims.caller()
    try:
        offer = await rpc.call(signing.SIGN, signing.SignRequest(
            caller=caller, signature_request_id=signature_id, method=body.method,
            approved=body.approved, authenticated_at=authenticated_at(claims),
            evidence=evidence_of(request)))
        return JSONResponse(offer.model_dump(mode="json"))
    except Conflict as error:
        if (error.fields or {}).get("reason") != "already_signed":
            raise
        offer = await rpc.call(signing.GET_OFFER, signing.SignatureRequestQuery(
            caller=caller, signature_request_id=signature_id))
        return JSONResponse(offer.model_dump(mode="json"), status_code=409)


@router.post("/{signature_id}/refuse")
async def refuse(signature_id: ObjectIdPath, body: RefuseBody, request: Request,
                 claims: CurrentCaller, rpc: Rpc) -> signing.SignatureOffer:
    """Refuse to sign, saying why: the request ends and the office is told."""
    return await rpc.call(signing.REFUSE, signing.RefuseSignatureRequest(
        caller=claims.caller(), signature_request_id=signature_id, reason=body.reason,
        evidence=evidence_of(request)))


@router.get("/{signature_id}/signed-document", response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {}},
                             "description": "The sealed PDF with its evidence page"}})
async def signed_document(signature_id: ObjectIdPath, request: Request, claims: CurrentCaller,
                          rpc: Rpc, state: State) -> StreamingResponse:
    """The signed PDF (404 until it is ready)."""
    where = await rpc.call(signing.OPEN_SIGNED_DOCUMENT, signing.SignedDocumentRequest(
        caller=claims.caller(), signature_request_id=signature_id, evidence=evidence_of(request)))
    return await open_and_stream(rpc, state.storage, claims.caller(),
                                 dossier_id=where.dossier_id, document_id=where.document_id,
                                 variant=documents.BodyVariant.ORIGINAL, as_attachment=True)
