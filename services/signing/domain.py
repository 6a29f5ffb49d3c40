"""Rules of signature requests (pure): who may sign when, each signer's state, the hash chain of
the audit trail and what the evidence page says."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from libs.contracts.documents import DocumentContext
from libs.contracts.signing import (
    AuditKind,
    AuditRecord,
    ChainCheck,
    RequestState,
    SignatureMethod,
    SignatureOffer,
    SignatureRequestPublic,
    SignerPublic,
    SignerRecipient,
    SignerState,
    SigningEvidence,
)
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound

CLOSED_STATES = frozenset({RequestState.CANCELLED, RequestState.EXPIRED, RequestState.REFUSED})
GENESIS_HASH = "0" * 64


class Signer(BaseModel):
    """One signer of a request, with the accounts that may sign for them and the evidence."""

    person_id: str
    name: str
    order: int
    state: SignerState = SignerState.SENT
    recipients: list[SignerRecipient] = Field(default_factory=list)
    method: SignatureMethod | None = None
    mailed_at: datetime | None = None
    opened_at: datetime | None = None
    signed_at: datetime | None = None
    signed_by: str | None = None  # the user account that signed
    refused_at: datetime | None = None
    refusal_reason: str | None = None
    reminders: int = 0
    evidence: dict[str, str] = Field(default_factory=dict)  # per method: what proves it

    def public(self) -> SignerPublic:
        return SignerPublic(
            person_id=self.person_id, name=self.name, order=self.order, state=self.state,
            method=self.method, mailed_at=self.mailed_at, opened_at=self.opened_at,
            signed_at=self.signed_at, refused_at=self.refused_at,
            refusal_reason=self.refusal_reason, reminders=self.reminders)

    def may_act(self, user_id: str) -> bool:
        return any(recipient.user_id == user_id for recipient in self.recipients)


class SignatureRequest(BaseModel):
    """A request as stored (without its outbox)."""

    request_id: str
    dossier_id: str
    document_id: str
    title: str
    content_type: str = "application/pdf"
    filename: str = "document.pdf"  # the original's: the signed PDF is named after it
    context: DocumentContext = Field(default_factory=DocumentContext)  # and filed beside it
    document_sha256: str
    original_sha256: str
    message: str | None = None
    due_date: date | None = None
    ordered: bool = False
    state: RequestState = RequestState.OPEN
    signers: list[Signer]
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    signed_document_id: str | None = None
    problem: str | None = None
    audit_head: str | None = None  # the hash of the trail's last record
    audit_seq: int = 0  # and its number
    version: int = 0

    def public(self) -> SignatureRequestPublic:
        return SignatureRequestPublic(
            signature_request_id=self.request_id, dossier_id=self.dossier_id,
            document_id=self.document_id, title=self.title,
            document_sha256=self.document_sha256, message=self.message,
            due_date=self.due_date, ordered=self.ordered, state=self.state,
            signers=[signer.public() for signer in self.signers],
            requested_by=self.requested_by, requested_at=self.requested_at,
            completed_at=self.completed_at, cancelled_at=self.cancelled_at,
            signed_document_id=self.signed_document_id, problem=self.problem)

    def signer_for(self, user_id: str) -> Signer | None:
        """The signer this account may sign for (the first one, by order)."""
        return next((s for s in self.signers if s.may_act(user_id)), None)

    def signer(self, person_id: str) -> Signer:
        return next(s for s in self.signers if s.person_id == person_id)


# --- whose turn -----------------------------------------------------------------------------

def is_done(signer: Signer) -> bool:
    return signer.state in (SignerState.SIGNED, SignerState.REFUSED, SignerState.EXPIRED)


def signers_whose_turn(request: SignatureRequest) -> list[Signer]:
    """Who may sign now: everyone not yet done, or in an ordered request the first of them."""
    if request.state is not RequestState.OPEN:
        return []
    waiting = [s for s in sorted(request.signers, key=lambda s: s.order) if not is_done(s)]
    return waiting[:1] if request.ordered else waiting


def offer_for(request: SignatureRequest, signer: Signer) -> SignatureOffer:
    turn = any(s.person_id == signer.person_id for s in signers_whose_turn(request))
    return SignatureOffer(
        request=request.public(), signer=signer.public(),
        may_sign_now=turn and signer.state in (SignerState.SENT, SignerState.OPENED),
        waiting_for_others=(request.state is RequestState.OPEN and not turn
                            and not is_done(signer)))


def to_invite(request: SignatureRequest) -> list[Signer]:
    """Signers whose turn came and who were never mailed."""
    return [s for s in signers_whose_turn(request) if s.mailed_at is None]


# --- state changes --------------------------------------------------------------------------

@dataclass(frozen=True)
class SigningPolicy:
    reauthenticate_after: timedelta  # a login older than this asks for the password again


def mark_opened(request: SignatureRequest, signer: Signer, now: datetime) -> bool:
    """The signer was shown the document: true when this is the first time."""
    if request.state is not RequestState.OPEN or signer.state is not SignerState.SENT:
        return False
    signer.state = SignerState.OPENED
    signer.opened_at = now
    return True


def check_closed(request: SignatureRequest) -> None:
    """A closed request: 410 with the reason the pages show."""
    if request.state in CLOSED_STATES:
        raise Gone(f"This signature request is {request.state.value}.",
                   fields={"reason": request.state.value})


def sign(request: SignatureRequest, signer: Signer, *, user_id: str, method: SignatureMethod,
         approved: bool, authenticated_at: datetime | None, evidence: SigningEvidence,
         now: datetime, policy: SigningPolicy,
         device_evidence: dict[str, str] | None = None) -> None:
    """Record the signer's signature, or refuse with the reason in `fields["reason"]`. The
    mobile key comes with `device_evidence` (the device signed after the PIN: no password)."""
    if signer.state is SignerState.SIGNED:
        raise Conflict("You signed this document already.", fields={"reason": "already_signed"})
    if signer.state is SignerState.REFUSED:
        raise Conflict("You refused to sign this document.", fields={"reason": "refused"})
    check_closed(request)
    if request.state is not RequestState.OPEN or is_done(signer):
        raise Conflict("This document can no longer be signed.", fields={"reason": "closed"})
    if all(s.person_id != signer.person_id for s in signers_whose_turn(request)):
        raise Conflict("Another person signs this document first.",
                       fields={"reason": "not_your_turn"})
    mobile = method is SignatureMethod.MOBILE_KEY
    if not (method is SignatureMethod.CHECKBOX or (mobile and device_evidence is not None)):
        raise Invalid("This signature method is not available.",
                      fields={"method": "not_available"})
    if signer.state is not SignerState.OPENED:
        raise Invalid("Open the document before you sign it.", fields={"reason": "not_opened"})
    if not approved:
        raise Invalid("Tick \"Read and approved\" to sign.", fields={"approved": "required"})
    if device_evidence is not None and mobile:
        signer.evidence = device_evidence
    elif authenticated_at is None or now - authenticated_at > policy.reauthenticate_after:
        raise Forbidden("Enter your password again to sign.",
                        fields={"reason": "reauthentication_required"})
    else:
        signer.evidence = checkbox_evidence(evidence, authenticated_at)
    signer.state = SignerState.SIGNED
    signer.method = method
    signer.signed_at = now
    signer.signed_by = user_id
    if all(s.state is SignerState.SIGNED for s in request.signers):
        request.state = RequestState.SEALING


def last_to_sign(request: SignatureRequest, signer: Signer) -> bool:
    """Would `signer`'s signature now complete the open request (everyone else signed)?"""
    return (request.state is RequestState.OPEN and signer.state is not SignerState.SIGNED
            and all(s.state is SignerState.SIGNED for s in request.signers if s is not signer))


def checkbox_evidence(evidence: SigningEvidence, authenticated_at: datetime) -> dict[str, str]:
    """What the checkbox method records: the tick, the login it relied on, where from."""
    return {
        "approval": "Read and approved (checkbox ticked)",
        "authenticated_at": authenticated_at.isoformat(),
        "client_ip": evidence.client_ip or "unknown",
        "device": evidence.device or evidence.user_agent or "unknown",
    }


def refuse(request: SignatureRequest, signer: Signer, *, reason: str, now: datetime) -> None:
    if signer.state is SignerState.REFUSED:
        raise Conflict("You refused this document already.", fields={"reason": "refused"})
    if signer.state is SignerState.SIGNED:
        raise Conflict("You signed this document already.", fields={"reason": "already_signed"})
    check_closed(request)
    if request.state is not RequestState.OPEN:
        raise Conflict("This document can no longer be refused.", fields={"reason": "closed"})
    signer.state = SignerState.REFUSED
    signer.refused_at = now
    signer.refusal_reason = reason
    request.state = RequestState.REFUSED


def cancel(request: SignatureRequest, now: datetime) -> bool:
    """Staff cancel an open request: true if it changed (cancelling twice is no error)."""
    if request.state is RequestState.CANCELLED:
        return False
    if request.state is not RequestState.OPEN:
        raise Conflict("Only an open request can be cancelled.",
                       fields={"state": request.state.value})
    request.state = RequestState.CANCELLED
    request.cancelled_at = now
    return True


def expire(request: SignatureRequest, today: date) -> bool:
    """Past its due date, an open request expires with its unsigned signers."""
    if request.state is not RequestState.OPEN or request.due_date is None:
        return False
    if today <= request.due_date:
        return False
    request.state = RequestState.EXPIRED
    for signer in request.signers:
        if signer.state in (SignerState.SENT, SignerState.OPENED):
            signer.state = SignerState.EXPIRED
    return True


def reminders_due(request: SignatureRequest, now: datetime, every: timedelta,
                  max_reminders: int) -> list[Signer]:
    """Signers whose turn it is, mailed `every` ago or longer and not yet reminded enough."""
    return [s for s in signers_whose_turn(request)
            if s.mailed_at is not None and now - s.mailed_at >= every * (s.reminders + 1)
            and s.reminders < max_reminders]


def validate_new_request(*, signer_person_ids: list[str], known_persons: set[str],
                         persons_without_account: set[str], due_date: date | None,
                         today: date) -> dict[str, str]:
    """Field problems of a new request (empty when it may be created)."""
    problems: dict[str, str] = {}
    if len(set(signer_person_ids)) != len(signer_person_ids):
        problems["signer_person_ids"] = "A person is named twice."
    unknown = [p for p in signer_person_ids if p not in known_persons]
    if unknown:
        problems["signer_person_ids"] = f"Not a person of this dossier: {', '.join(unknown)}."
    elif persons_without_account & set(signer_person_ids):
        names = ", ".join(sorted(persons_without_account & set(signer_person_ids)))
        problems["signer_person_ids"] = (
            f"No MyBroker account of this dossier has the e-mail address of: {names}.")
    if due_date is not None and due_date < today:
        problems["due_date"] = "The due date has passed."
    return problems


def not_offered() -> NotFound:
    return NotFound("This document is not offered to you for signature.")


# --- audit trail: a hash chain ---------------------------------------------------------------

# One encoder for every record: sorted keys, no spaces, UTF-8 as is (the canonical form).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(*, request_id: str, seq: int, kind: str, at: datetime, actor: str,
                details: dict[str, str], document_sha256: str, previous_hash: str) -> str:
    """The sha256 of a record's canonical JSON: every field, the previous record's hash too."""
    canonical = _CANONICAL.encode({
        "request_id": request_id, "seq": seq, "kind": kind,
        "at": _utc_text(at),
        "actor": actor, "details": details, "document_sha256": document_sha256,
        "previous_hash": previous_hash,
    })
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _utc_text(at: datetime) -> str:
    """A moment as UTC text at millisecond precision: the same whether MongoDB gave it back
    naive or the service made it aware."""
    if at.tzinfo is not None:
        offset = at.utcoffset()
        at = (at if not offset else at.astimezone(UTC)).replace(tzinfo=None)
    return at.isoformat(timespec="milliseconds")


def next_record(*, request_id: str, previous: AuditRecord | None, kind: AuditKind, at: datetime,
                actor: str, details: dict[str, str], document_sha256: str,
                after: tuple[int, str] | None = None) -> AuditRecord:
    """The record after `previous`, or after the record numbered and hashed `after` (the first
    one when neither is given), chained to it."""
    if after is None and previous is not None:
        after = (previous.seq, previous.hash)
    seq = 1 if after is None else after[0] + 1
    previous_hash = GENESIS_HASH if after is None else after[1]
    return AuditRecord(
        signature_request_id=request_id, seq=seq, kind=kind, at=at, actor=actor,
        details=details, document_sha256=document_sha256, previous_hash=previous_hash,
        hash=record_hash(request_id=request_id, seq=seq, kind=kind.value, at=at, actor=actor,
                         details=details, document_sha256=document_sha256,
                         previous_hash=previous_hash))


def check_chain(records: list[AuditRecord], *, request_id: str, document_sha256: str,
                head_hash: str | None = None) -> ChainCheck:
    """Every record hashes to its stored hash, links to the one before, numbers follow on, and
    names the request's document; the last one is the head the request remembers."""
    problems: list[str] = []
    previous_hash = GENESIS_HASH
    for expected_seq, record in enumerate(sorted(records, key=lambda r: r.seq), start=1):
        if record.seq != expected_seq:
            problems.append(f"record {expected_seq} is missing")
            break
        if record.signature_request_id != request_id:
            problems.append(f"record {record.seq} belongs to another request")
        if record.previous_hash != previous_hash:
            problems.append(f"record {record.seq} does not follow record {record.seq - 1}")
        recomputed = record_hash(
            request_id=record.signature_request_id, seq=record.seq, kind=record.kind.value,
            at=record.at, actor=record.actor, details=record.details,
            document_sha256=record.document_sha256, previous_hash=record.previous_hash)
        if recomputed != record.hash:
            problems.append(f"record {record.seq} was changed")
        if record.document_sha256 != document_sha256:
            problems.append(f"record {record.seq} names another document")
        previous_hash = record.hash
    if not records:
        problems.append("the trail is empty")
    elif head_hash is not None and previous_hash != head_hash:
        problems.append("the trail's last records are missing")
    return ChainCheck(intact=not problems, records=len(records), problems=problems)


# --- the evidence page ----------------------------------------------------------------------

METHOD_NAMES = {
    SignatureMethod.CHECKBOX: "Checkbox \"Gelezen en goedgekeurd\" (simple electronic signature)",
    SignatureMethod.MOBILE_KEY: "Mobile key: a key made on the signer's phone, used after "
                                "their PIN (ECDSA P-256)",
}


EVIDENCE_LABELS = {
    "approval": "Approval", "authenticated_at": "Password last given",
    # the mobile key: how the identity was validated when the device was enrolled
    "identity_sms": "Identity (SMS)", "identity_document": "Identity (ID card)",
    "device_key": "Device key", "client_ip": "IP address", "device": "Device",
}


def evidence_lines(request: SignatureRequest, *, audit_head: str, sealed_at: datetime
                   ) -> list[str]:
    """The evidence page's text, line by line: the document, then each signer."""
    lines = [
        "Signature evidence - MyBroker",
        "",
        f"Document: {request.title}",
        f"Dossier: {request.dossier_id}",
        f"Signature request: {request.request_id}",
        f"Document SHA-256: {request.document_sha256}",
    ]
    if request.original_sha256 != request.document_sha256:
        lines.append(f"Original file SHA-256: {request.original_sha256}")
    lines += [
        f"Requested: {_moment(request.requested_at)}",
        f"Sealed: {_moment(sealed_at)}",
        f"Audit trail head (SHA-256): {audit_head}",
        "",
    ]
    for signer in sorted(request.signers, key=lambda s: s.order):
        lines.append(f"Signer {signer.order}: {signer.name}")
        method = METHOD_NAMES.get(signer.method, "-") if signer.method else "-"
        lines.append(f"  Method: {method}")
        if signer.opened_at:
            lines.append(f"  Opened the document: {_moment(signer.opened_at)}")
        if signer.signed_at:
            lines.append(f"  Signed: {_moment(signer.signed_at)}")
        if signer.signed_by:
            lines.append(f"  Account: {signer.signed_by}")
        for key, label in EVIDENCE_LABELS.items():
            if key in signer.evidence:
                lines.append(f"  {label}: {signer.evidence[key]}")
        lines.append("")
    lines.append("The office's seal below covers the document and this page.")
    return lines


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
