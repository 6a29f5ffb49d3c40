"""The mobile signature's JSON API (manual 5.1), for the portal's pages on a phone and for a
mobile app: enrol the device (an SMS code, a photo of the ID card's back, a PIN and the device's
public key), then sign: the PIN gives a nonce, the device signs it with its key. The API allows
it from any device; the pages offer it on phones and tablets only. Staff list and revoke
enrolments."""

import base64
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from gateway.api_links import ADMIN, answer_links, link
from gateway.deps import CurrentCaller, DossierIdPath, ObjectIdPath, Rpc, StaffCaller
from gateway.problems import api_router, problem
from gateway.signing_evidence import evidence_of
from libs.contracts import signing
from libs.contracts.caller import Caller
from libs.contracts.ids import ObjectId
from libs.servicekit.errors import Conflict, Invalid

router = api_router(prefix="/api/v1/signature-requests", tags=["signing"])
admin_router = api_router(prefix="/admin/api/v1", tags=["admin"])
PHOTO_CHUNK = 1024 * 1024


class StartBody(BaseModel):
    language: str = Field(default="nl", pattern="^(nl|fr|en)$",
                          description="The language of the SMS")


class CodeBody(BaseModel):
    enrolment_id: ObjectId
    code: str = Field(max_length=20)


class FinishBody(BaseModel):
    enrolment_id: ObjectId
    pin: str = Field(max_length=20, description="5 digits; trivial ones are refused")
    public_key: str = Field(max_length=2000, description="base64 SubjectPublicKeyInfo (DER) of "
                            "the device's ECDSA P-256 key")
    device_name: str | None = Field(default=None, max_length=100)


class PinBody(BaseModel):
    enrolment_id: ObjectId
    pin: str = Field(max_length=20)


class DeviceSignatureBody(BaseModel):
    enrolment_id: ObjectId
    nonce: str = Field(max_length=100)
    signature: str = Field(max_length=400, description="base64 ECDSA P-256 / SHA-256 signature "
                           "of the challenge's payload: r||s (WebCrypto) or DER")
    approved: bool = Field(default=True, description="The signer read and approved")


async def read_photo(photo: UploadFile) -> str:
    """The uploaded photo as base64, refused past the size limit."""
    data = bytearray()
    while chunk := await photo.read(PHOTO_CHUNK):
        data += chunk
        if len(data) > signing.MAX_ID_PHOTO_BYTES:
            raise Invalid("The photo is too large (12 MB at most).",
                          fields={"photo": "too_large"})
    return base64.b64encode(bytes(data)).decode()


async def sign_or_409(rpc: Rpc, caller: Caller, command: signing.MobileSign) -> Response:
    """Sign; signed before: 409 with the offer as it stands (as the checkbox does)."""
    try:
        offer = await rpc.call(signing.MOBILE_SIGN, command)
        return JSONResponse(offer.model_dump(mode="json"))
    except Conflict as error:
        if (error.fields or {}).get("reason") != "already_signed":
            raise
        offer = await rpc.call(signing.GET_OFFER, signing.SignatureRequestQuery(
            caller=caller, signature_request_id=command.signature_request_id))
        return JSONResponse(offer.model_dump(mode="json"), status_code=409)


@router.get("/{signature_id}/mobile")
async def mobile_status(signature_id: ObjectIdPath, claims: CurrentCaller, rpc: Rpc,
                        enrolment_id: Annotated[ObjectId | None, Query()] = None
                        ) -> signing.MobileStatus:
    """The offer and, given its id, this device's enrolment (what the next step is)."""
    return await rpc.call(signing.MOBILE_STATUS, signing.MobileStatusQuery(
        caller=claims.caller(), signature_request_id=signature_id, enrolment_id=enrolment_id))


@router.post("/{signature_id}/mobile/enrolment", status_code=status.HTTP_201_CREATED,
             responses={429: problem(429, "Too many codes asked: errors.retry_after")})
async def start_enrolment(signature_id: ObjectIdPath, body: StartBody, request: Request,
                          claims: CurrentCaller, rpc: Rpc) -> signing.MobileEnrolmentPublic:
    """Enrol this device: a 6-digit code goes by SMS to the mobile number the office holds
    (valid 5 minutes, 3 tries)."""
    return await rpc.call(signing.START_ENROLMENT, signing.StartEnrolment(
        caller=claims.caller(), signature_request_id=signature_id, language=body.language,
        evidence=evidence_of(request)), timeout_seconds=signing.START_ENROLMENT_TIMEOUT_SECONDS)


@router.post("/{signature_id}/mobile/enrolment/code",
             responses={422: problem(422, "Wrong code: errors.tries_left"),
                        410: problem(410, "The code expired or has no tries left")})
async def confirm_code(signature_id: ObjectIdPath, body: CodeBody, request: Request,
                       claims: CurrentCaller, rpc: Rpc) -> signing.MobileEnrolmentPublic:
    return await rpc.call(signing.CONFIRM_CODE, signing.ConfirmCode(
        caller=claims.caller(), signature_request_id=signature_id,
        enrolment_id=body.enrolment_id, code=body.code, evidence=evidence_of(request)))


@router.post("/{signature_id}/mobile/enrolment/id-card",
             responses={422: problem(422, "errors.photo: not_an_image, too_small, "
                                          "unreadable, check_digits, expired, "
                                          "another_person")})
async def check_id_card(
    signature_id: ObjectIdPath, request: Request, claims: CurrentCaller, rpc: Rpc,
    enrolment_id: Annotated[ObjectId, Form()], photo: Annotated[UploadFile, File()],
) -> signing.MobileEnrolmentPublic:
    """A photo of the back of the ID card: its MRZ must be valid, the card not expired, and
    name and birth date those of the signer."""
    return await rpc.call(signing.CHECK_ID_CARD, signing.CheckIdCard(
        caller=claims.caller(), signature_request_id=signature_id, enrolment_id=enrolment_id,
        photo_base64=await read_photo(photo), evidence=evidence_of(request)),
        timeout_seconds=signing.CHECK_ID_CARD_TIMEOUT_SECONDS)


@router.post("/{signature_id}/mobile/enrolment/finish")
async def finish_enrolment(signature_id: ObjectIdPath, body: FinishBody, request: Request,
                           claims: CurrentCaller, rpc: Rpc) -> signing.MobileEnrolmentPublic:
    """The PIN and the device's public key (its private key never leaves the device)."""
    return await rpc.call(signing.FINISH_ENROLMENT, signing.FinishEnrolment(
        caller=claims.caller(), signature_request_id=signature_id,
        enrolment_id=body.enrolment_id, pin=body.pin, public_key=body.public_key,
        device_name=body.device_name, evidence=evidence_of(request)))


@router.post("/{signature_id}/mobile/challenge",
             responses={422: problem(422, "Wrong PIN: errors.tries_left"),
                        403: problem(403, "Locked (5 wrong PINs) or revoked: enrol again")})
async def challenge(signature_id: ObjectIdPath, body: PinBody, request: Request,
                    claims: CurrentCaller, rpc: Rpc) -> signing.DeviceChallenge:
    """The PIN; right: a single-use nonce and the payload for the device to sign."""
    return await rpc.call(signing.MOBILE_CHALLENGE, signing.PinForChallenge(
        caller=claims.caller(), signature_request_id=signature_id,
        enrolment_id=body.enrolment_id, pin=body.pin, evidence=evidence_of(request)))


@router.post("/{signature_id}/mobile/sign", response_model=signing.SignatureOffer, responses={
    409: {"description": "Signed before: the same result", "model": signing.SignatureOffer},
    403: problem(403, "A tampered signature or a replayed or expired nonce (errors.reason)")})
async def mobile_sign(signature_id: ObjectIdPath, body: DeviceSignatureBody, request: Request,
                      claims: CurrentCaller, rpc: Rpc) -> Response:
    """The device's signature of the challenge's payload."""
    caller = claims.caller()
    return await sign_or_409(rpc, caller, signing.MobileSign(
        caller=caller, signature_request_id=signature_id, enrolment_id=body.enrolment_id,
        nonce=body.nonce, signature=body.signature, approved=body.approved,
        evidence=evidence_of(request)))


# --- the office ------------------------------------------------------------------------------


@admin_router.get("/dossiers/{dossier_id}/mobile-enrolments", responses=answer_links(
    200, RevokeEnrolment=link(f"POST {ADMIN}/mobile-enrolments/{{enrolment_id}}/revoke",
                              "The device signs no more",
                              enrolment_id="$response.body#/enrolments/0/enrolment_id")))
async def dossier_enrolments(dossier_id: DossierIdPath, staff: StaffCaller, rpc: Rpc
                             ) -> signing.MobileEnrolmentList:
    """The devices enrolled (or enrolling) for the mobile signature in a dossier."""
    return await rpc.call(signing.LIST_ENROLMENTS, signing.EnrolmentsQuery(
        caller=staff.caller(), dossier_id=dossier_id))


@admin_router.post("/mobile-enrolments/{enrolment_id}/revoke")
async def revoke_enrolment(enrolment_id: ObjectIdPath, staff: StaffCaller, rpc: Rpc
                           ) -> signing.MobileEnrolmentPublic:
    """Revoke a device: it signs no more until it is enrolled again."""
    return await rpc.call(signing.REVOKE_ENROLMENT, signing.RevokeEnrolment(
        caller=staff.caller(), enrolment_id=enrolment_id))
