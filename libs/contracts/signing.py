"""Contracts of the signing service: signature requests, signatures, their audit trail.

A request offers one document of a dossier to one or more persons of that dossier. Each signer
signs by a `method`; the checkbox (manual 5.2) is the first, the mobile key (5.1) plugs in
beside it with its own evidence.
"""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from libs.contracts.caller import Caller
from libs.contracts.envelope import Event
from libs.contracts.ids import DossierId, ObjectId
from libs.contracts.paging import Continued, PageCursor
from libs.contracts.rpc import RpcMethod
from libs.contracts.shown_names import ShownName


class DocumentToSign(BaseModel):
    signature_request_id: str
    dossier_id: str
    document_id: str
    title: str
    requested_at: datetime
    due_date: date | None = None
    message: str | None = None


class DocumentsToSignQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId


class DocumentsToSign(BaseModel):
    documents: list[DocumentToSign]


LIST_DOCUMENTS_TO_SIGN = RpcMethod(
    "signing.rpc.list_documents_to_sign", DocumentsToSignQuery, DocumentsToSign
)


# --- states ---------------------------------------------------------------------------------


class SignatureMethod(StrEnum):
    """How a signer signed: each method brings its own evidence."""

    CHECKBOX = "checkbox"  # "Gelezen en goedgekeurd" on a PC (manual 5.2)
    MOBILE_KEY = "mobile_key"  # a device key behind a PIN (manual 5.1)


class SignerState(StrEnum):
    SENT = "sent"
    OPENED = "opened"
    SIGNED = "signed"
    REFUSED = "refused"
    EXPIRED = "expired"


class RequestState(StrEnum):
    OPEN = "open"  # waiting for one or more signers
    SEALING = "sealing"  # everyone signed; the signed PDF is being made
    AWAITING_BROKER = "awaiting_broker"  # signed PDF ready: awaits the broker's processing
    REFUSED = "refused"  # a signer refused
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the due date passed first


class AuditKind(StrEnum):
    REQUESTED = "requested"
    MAILED = "mailed"
    OPENED = "opened"
    SIGNED = "signed"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    COMPLETED = "completed"
    DOWNLOADED = "downloaded"
    # the mobile signature (manual 5.1)
    IDENTITY_CODE_SENT = "identity_code_sent"
    IDENTITY_VALIDATED = "identity_validated"  # the SMS code, then the ID card's MRZ
    IDENTITY_REFUSED = "identity_refused"  # a wrong code or a card that does not match
    ENROLLED = "enrolled"
    WRONG_PIN = "wrong_pin"
    DEVICE_SIGNATURE_REFUSED = "device_signature_refused"  # tampered, replayed or expired


# --- models ---------------------------------------------------------------------------------


class SigningEvidence(BaseModel):
    """Where an action came from (filled in by the gateway)."""

    client_ip: str | None = Field(default=None, max_length=100)
    user_agent: str | None = Field(default=None, max_length=500)
    device: str | None = Field(default=None, max_length=200, description="A readable device "
                               "name (\"Firefox on Windows\")")


class SignerPublic(BaseModel):
    person_id: str
    name: ShownName
    order: int = Field(description="1-based position; in an ordered request, who signs when")
    state: SignerState
    method: SignatureMethod | None = None
    mailed_at: datetime | None = None
    opened_at: datetime | None = None
    signed_at: datetime | None = None
    refused_at: datetime | None = None
    refusal_reason: str | None = None
    reminders: int = 0


class SignatureRequestPublic(BaseModel):
    signature_request_id: str
    dossier_id: str
    document_id: str
    title: ShownName
    document_sha256: str = Field(description="Of the bytes offered (the PDF rendition if the "
                                 "original is not a PDF)")
    message: str | None = None
    due_date: date | None = None
    ordered: bool = False
    state: RequestState
    signers: list[SignerPublic]
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    signed_document_id: str | None = None
    problem: str | None = Field(default=None, description="Why the signed PDF could not be "
                                "made yet (retried)")


class SignatureOffer(BaseModel):
    """A request as one signer sees it."""

    request: SignatureRequestPublic
    signer: SignerPublic
    may_sign_now: bool = Field(description="Open, the signer's turn, not yet signed or refused")
    waiting_for_others: bool = Field(default=False, description="An earlier signer of an "
                                     "ordered request has not signed yet")


class SignatureRequestList(Continued):
    """One page of signature requests; `next_cursor` leads on (`libs.contracts.paging`)."""

    requests: list[SignatureRequestPublic]
    total: int
    page_size: int = 50


class AuditRecord(BaseModel):
    signature_request_id: str
    seq: int
    kind: AuditKind
    at: datetime
    actor: str
    details: dict[str, str] = Field(default_factory=dict)
    document_sha256: str
    previous_hash: str
    hash: str


class AuditTrail(BaseModel):
    records: list[AuditRecord]


class ChainCheck(BaseModel):
    intact: bool
    records: int
    problems: list[str] = Field(default_factory=list)


class PdfCheck(BaseModel):
    intact: bool
    trusted: bool
    timestamped: bool
    signer: str | None = None
    signed_at: datetime | None = None
    summary: str = ""


class Verification(BaseModel):
    signature_request_id: str
    chain: ChainCheck
    pdf: PdfCheck | None = None


# --- RPC requests ---------------------------------------------------------------------------

MAX_SIGNERS = 10


class CreateSignatureRequest(BaseModel):
    caller: Caller
    dossier_id: DossierId
    document_id: ObjectId
    signer_person_ids: list[ObjectId] = Field(min_length=1, max_length=MAX_SIGNERS)
    ordered: bool = False
    due_date: date | None = None
    # Not `message`: FastStream reserves that name for the incoming message itself.
    note: str | None = Field(default=None, max_length=2000, description="The office's message "
                             "to the signers")
    correlation_id: str | None = None


# The longest a signer's look at a request being sealed waits for the seal.
MAX_WAIT_FOR_SEAL_SECONDS = 10.0


class SignatureRequestQuery(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    wait_for_seal_seconds: float = Field(
        default=0.0, ge=0.0, le=MAX_WAIT_FOR_SEAL_SECONDS, description="The signer's offer of "
        "a request being sealed answers as soon as the seal is made, or after this long")


class ListSignatureRequestsQuery(BaseModel):
    """Staff: signature requests, newest first (keyset paged: a cursor is one of this list
    with these very filters)."""

    caller: Caller
    dossier_id: DossierId | None = None
    state: RequestState | None = None
    cursor: PageCursor = None
    page_size: int = Field(default=50, ge=1, le=100)


class CancelSignatureRequest(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    reason: str | None = Field(default=None, max_length=1000)


class DocumentServed(BaseModel):
    """The gateway shows a document to a client: an offer of it to them counts as opened."""

    caller: Caller
    dossier_id: DossierId
    document_id: ObjectId
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class OfferReply(BaseModel):
    offer: SignatureOffer | None = None


class SignRequest(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    method: SignatureMethod = SignatureMethod.CHECKBOX
    approved: bool = Field(description="The signer ticked \"Gelezen en goedgekeurd\"")
    authenticated_at: datetime | None = Field(
        default=None, description="When the signer last gave their password (the token's "
        "auth_time); too long ago -> re-authentication needed")
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class RefuseSignatureRequest(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    reason: str = Field(min_length=1, max_length=1000)
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class SignedDocumentRequest(BaseModel):
    """A signer or staff fetch the signed PDF: recorded as downloaded."""

    caller: Caller
    signature_request_id: ObjectId
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class SignedDocumentReply(BaseModel):
    dossier_id: str
    document_id: str


CREATE_SIGNATURE_REQUEST = RpcMethod("signing.rpc.create_request", CreateSignatureRequest,
                                     SignatureRequestPublic)
GET_SIGNATURE_REQUEST = RpcMethod("signing.rpc.get_request", SignatureRequestQuery,
                                  SignatureRequestPublic)
LIST_SIGNATURE_REQUESTS = RpcMethod("signing.rpc.list_requests", ListSignatureRequestsQuery,
                                    SignatureRequestList)
CANCEL_SIGNATURE_REQUEST = RpcMethod("signing.rpc.cancel_request", CancelSignatureRequest,
                                     SignatureRequestPublic)
GET_OFFER = RpcMethod("signing.rpc.get_offer", SignatureRequestQuery, SignatureOffer)
DOCUMENT_SERVED = RpcMethod("signing.rpc.document_served", DocumentServed, OfferReply)
SIGN = RpcMethod("signing.rpc.sign", SignRequest, SignatureOffer)
REFUSE = RpcMethod("signing.rpc.refuse", RefuseSignatureRequest, SignatureOffer)
OPEN_SIGNED_DOCUMENT = RpcMethod("signing.rpc.open_signed_document", SignedDocumentRequest,
                                 SignedDocumentReply)
GET_AUDIT_TRAIL = RpcMethod("signing.rpc.get_audit_trail", SignatureRequestQuery, AuditTrail)
VERIFY = RpcMethod("signing.rpc.verify", SignatureRequestQuery, Verification)


# --- the mobile signature: enrolment of a device, PIN, device key (manual 5.1) ---------------


class EnrolmentState(StrEnum):
    CODE_SENT = "code_sent"  # an SMS code went to the person's mobile number
    PHONE_VALIDATED = "phone_validated"  # the code was right: the ID card comes next
    IDENTITY_VALIDATED = "identity_validated"  # the card's MRZ matched: PIN and key next
    ACTIVE = "active"  # the device may sign with its key after the PIN
    LOCKED = "locked"  # too many wrong PINs: enrol again
    REVOKED = "revoked"  # by the office


class MobileEnrolmentPublic(BaseModel):
    enrolment_id: str
    user_id: str
    person_id: str
    dossier_id: str
    state: EnrolmentState
    phone_masked: str = Field(default="", description="The number the code went to, masked")
    code_expires_at: datetime | None = None
    code_tries_left: int = 0
    document_number_masked: str | None = None
    document_valid_until: date | None = None
    pin_tries_left: int = 0
    device_name: str | None = None
    key_fingerprint: str | None = None
    created_at: datetime
    phone_validated_at: datetime | None = None
    identity_validated_at: datetime | None = None
    enrolled_at: datetime | None = None
    locked_at: datetime | None = None
    revoked_at: datetime | None = None


class MobileEnrolmentList(BaseModel):
    enrolments: list[MobileEnrolmentPublic]


class StartEnrolment(BaseModel):
    """Begin the enrolment of a device from a request offered to the caller: an SMS code goes
    to the mobile number the office holds for the signer."""

    caller: Caller
    signature_request_id: ObjectId
    language: str = "nl"
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class EnrolmentStep(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    enrolment_id: ObjectId
    evidence: SigningEvidence = Field(default_factory=SigningEvidence)


class ConfirmCode(EnrolmentStep):
    code: str = Field(max_length=20)


MAX_ID_PHOTO_BYTES = 12 * 1024 * 1024
# Callers wait longer than the default for two steps: the SMS (sent with retries, ~25 s at
# worst) and reading the card's photo (OCR, a few seconds on a busy service).
START_ENROLMENT_TIMEOUT_SECONDS = 35.0
CHECK_ID_CARD_TIMEOUT_SECONDS = 30.0


class CheckIdCard(EnrolmentStep):
    photo_base64: str = Field(max_length=MAX_ID_PHOTO_BYTES * 4 // 3 + 8,
                              description="The photo of the ID card's back, base64")


class FinishEnrolment(EnrolmentStep):
    pin: str = Field(max_length=20)
    public_key: str = Field(max_length=2000, description="The device's ECDSA P-256 public key: "
                            "base64 of its SubjectPublicKeyInfo (WebCrypto `spki`)")
    device_name: str | None = Field(default=None, max_length=100)


class MobileStatusQuery(BaseModel):
    caller: Caller
    signature_request_id: ObjectId
    enrolment_id: ObjectId | None = None


class MobileStatus(BaseModel):
    offer: SignatureOffer
    enrolment: MobileEnrolmentPublic | None = Field(
        default=None, description="The device's enrolment when its id was given and it is the "
        "caller's")


class PinForChallenge(EnrolmentStep):
    pin: str = Field(max_length=20)


class DeviceChallenge(BaseModel):
    nonce: str
    payload: str = Field(description="What the device signs (UTF-8), ECDSA P-256 with SHA-256")
    expires_at: datetime


class MobileSign(EnrolmentStep):
    nonce: str = Field(max_length=100)
    signature: str = Field(max_length=400, description="base64: IEEE P1363 r||s (WebCrypto) "
                           "or DER")
    approved: bool = True


class EnrolmentsQuery(BaseModel):
    caller: Caller
    dossier_id: DossierId | None = None
    user_id: str | None = Field(default=None, max_length=100)


class RevokeEnrolment(BaseModel):
    caller: Caller
    enrolment_id: ObjectId


MOBILE_STATUS = RpcMethod("signing.rpc.mobile_status", MobileStatusQuery, MobileStatus)
START_ENROLMENT = RpcMethod("signing.rpc.start_enrolment", StartEnrolment,
                            MobileEnrolmentPublic)
CONFIRM_CODE = RpcMethod("signing.rpc.confirm_code", ConfirmCode, MobileEnrolmentPublic)
CHECK_ID_CARD = RpcMethod("signing.rpc.check_id_card", CheckIdCard, MobileEnrolmentPublic)
FINISH_ENROLMENT = RpcMethod("signing.rpc.finish_enrolment", FinishEnrolment,
                             MobileEnrolmentPublic)
MOBILE_CHALLENGE = RpcMethod("signing.rpc.mobile_challenge", PinForChallenge, DeviceChallenge)
MOBILE_SIGN = RpcMethod("signing.rpc.mobile_sign", MobileSign, SignatureOffer)
LIST_ENROLMENTS = RpcMethod("signing.rpc.list_enrolments", EnrolmentsQuery,
                            MobileEnrolmentList)
REVOKE_ENROLMENT = RpcMethod("signing.rpc.revoke_enrolment", RevokeEnrolment,
                             MobileEnrolmentPublic)


# --- events ---------------------------------------------------------------------------------


class SignerRecipient(BaseModel):
    """A user account that may sign for a signer (the mail goes to each)."""

    user_id: str
    email: str
    display_name: ShownName
    language: str = "nl"


class SignerInvited(Event):
    """A signer's turn came: mail them the link (or a reminder of it)."""

    routing_key = "signing.signer.invited"

    signature_request_id: str
    document_id: str
    title: str
    note: str | None = Field(default=None, description="The office's message to the signers")
    due_date: date | None = None
    person_id: str
    recipients: list[SignerRecipient]
    reminder: int = Field(default=0, description="0: the first mail; n: the n-th reminder")


class SignatureCompleted(Event):
    """Everyone signed and the signed PDF is a document of the dossier."""

    routing_key = "signing.request.completed"

    signature_request_id: str
    title: str
    signed_document_id: str
    recipients: list[SignerRecipient]


class SignatureRefused(Event):
    """A signer refused: the office is mailed who refused which document (the reason is shown
    in the office's pages, never mailed)."""

    routing_key = "signing.request.refused"

    signature_request_id: str
    title: str
    person_id: str
    reason: str
    signer_name: str = ""


class SignatureCancelled(Event):
    """The office cancelled a request: each signer who had not signed yet is mailed."""

    routing_key = "signing.request.cancelled"

    signature_request_id: str
    title: str
    recipients: list[SignerRecipient] = Field(
        default_factory=list, description="The accounts of the signers who had not signed")
