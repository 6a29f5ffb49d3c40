"""Rules of the mobile signature (manual 5.1), pure: enrolment of a device (identity by an SMS
code and the ID card's MRZ, then a PIN and the device's public key), the PIN before each use,
the single-use nonce the device signs, and the check of the device's signature.

The device makes an ECDSA P-256 key pair that never leaves it; the service keeps the public key
only. What the device signs is `signing_payload`: the document's SHA-256, the request, the
signer, a nonce the service issued and the time it issued it, as canonical JSON.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import BaseModel

from libs.contracts.signing import EnrolmentState, MobileEnrolmentPublic
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound, RateLimited

CODE_DIGITS = 6
PIN_DIGITS = 5


@dataclass(frozen=True)
class MobilePolicy:
    code_valid: timedelta = timedelta(minutes=5)
    code_tries: int = 3
    codes_per_window: int = 3  # SMS codes one account may ask for within `code_window`
    code_window: timedelta = timedelta(minutes=15)
    pin_tries: int = 5  # wrong PINs in a row that lock the enrolment
    nonce_valid: timedelta = timedelta(minutes=2)
    enrolment_valid: timedelta = timedelta(minutes=30)  # to finish an enrolment once begun


class Enrolment(BaseModel):
    """One device of one account, for one person of a dossier, as stored."""

    enrolment_id: str
    user_id: str
    person_id: str
    dossier_id: str
    signature_request_id: str  # the request it began from
    state: EnrolmentState = EnrolmentState.CODE_SENT
    created_at: datetime
    phone_masked: str = ""
    code_salt: str = ""
    code_digest: str = ""
    code_expires_at: datetime | None = None
    code_tries_left: int = 0
    phone_validated_at: datetime | None = None
    document_number_masked: str | None = None
    document_valid_until: date | None = None
    identity_validated_at: datetime | None = None
    pin_hash: str | None = None
    pin_failures: int = 0
    public_key: str | None = None  # base64 of the SubjectPublicKeyInfo (DER)
    key_fingerprint: str | None = None
    device_name: str | None = None
    enrolled_at: datetime | None = None
    locked_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    version: int = 0

    def public(self, policy: MobilePolicy) -> MobileEnrolmentPublic:
        return MobileEnrolmentPublic(
            enrolment_id=self.enrolment_id, user_id=self.user_id, person_id=self.person_id,
            dossier_id=self.dossier_id, state=self.state, phone_masked=self.phone_masked,
            code_expires_at=self.code_expires_at, code_tries_left=self.code_tries_left,
            document_number_masked=self.document_number_masked,
            document_valid_until=self.document_valid_until,
            pin_tries_left=max(policy.pin_tries - self.pin_failures, 0),
            device_name=self.device_name, key_fingerprint=self.key_fingerprint,
            created_at=self.created_at, phone_validated_at=self.phone_validated_at,
            identity_validated_at=self.identity_validated_at, enrolled_at=self.enrolled_at,
            locked_at=self.locked_at, revoked_at=self.revoked_at)


class Challenge(BaseModel):
    """A nonce issued after a right PIN: the device signs it once, before it expires."""

    nonce: str
    enrolment_id: str
    signature_request_id: str
    person_id: str
    document_sha256: str
    issued_at: datetime
    expires_at: datetime
    used: bool = False


# --- the SMS code ---------------------------------------------------------------------------

def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def _code_digest(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


def set_code(enrolment: Enrolment, code: str, now: datetime, policy: MobilePolicy) -> None:
    """A new code replaces the one before (only its keyed digest is kept)."""
    enrolment.code_salt = secrets.token_hex(16)
    enrolment.code_digest = _code_digest(enrolment.code_salt, code)
    enrolment.code_expires_at = now + policy.code_valid
    enrolment.code_tries_left = policy.code_tries
    enrolment.state = EnrolmentState.CODE_SENT


def check_code_rate(sent_at: list[datetime], now: datetime, policy: MobilePolicy) -> None:
    """Too many codes asked by the account lately -> 429 with the seconds to wait."""
    recent = sorted(at for at in sent_at if now - at < policy.code_window)
    if len(recent) >= policy.codes_per_window:
        wait = int((recent[0] + policy.code_window - now).total_seconds()) + 1
        raise RateLimited(f"Too many codes were asked. Try again in {wait} seconds.",
                          fields={"retry_after": str(wait), "reason": "too_many_codes"})


def check_code(enrolment: Enrolment, code: str, now: datetime) -> bool:
    """True when `code` is the one sent; a wrong one costs a try (the caller stores the
    enrolment and then refuses with `code_refusal`). Expired or used up -> 410."""
    require_state(enrolment, EnrolmentState.CODE_SENT)
    if enrolment.code_tries_left <= 0:
        raise Gone("This code can no longer be used: ask for a new one.",
                   fields={"code": "no_tries_left", "tries_left": "0"})
    if enrolment.code_expires_at is None or now > enrolment.code_expires_at:
        raise Gone("This code has expired: ask for a new one.",
                   fields={"code": "expired", "tries_left": str(enrolment.code_tries_left)})
    given = code.strip()
    if len(given) == CODE_DIGITS and given.isdigit() and hmac.compare_digest(
            _code_digest(enrolment.code_salt, given), enrolment.code_digest):
        enrolment.state = EnrolmentState.PHONE_VALIDATED
        enrolment.phone_validated_at = now
        enrolment.code_digest = ""
        enrolment.code_tries_left = 0
        return True
    enrolment.code_tries_left -= 1
    return False


def code_refusal(enrolment: Enrolment) -> Invalid:
    left = enrolment.code_tries_left
    return Invalid(f"The code is not correct. {left} tries left." if left else
                   "The code is not correct. Ask for a new code.",
                   fields={"code": "wrong", "tries_left": str(left)})


# --- the PIN --------------------------------------------------------------------------------

def _birth_date_forms(birth_date: date | None) -> set[str]:
    """The birth date written the usual ways, cut to a PIN's five digits."""
    if birth_date is None:
        return set()
    d, m = f"{birth_date.day:02d}", f"{birth_date.month:02d}"
    yyyy = f"{birth_date.year:04d}"
    forms = {d + m + yyyy, d + m + yyyy[2:], yyyy + m + d, yyyy[2:] + m + d, m + d + yyyy,
             m + d + yyyy[2:]}
    cut = {form[:PIN_DIGITS] for form in forms} | {form[-PIN_DIGITS:] for form in forms}
    cut.add(d + m + yyyy[-1])  # DDMMY
    return cut


def pin_problem(pin: str, birth_date: date | None) -> str | None:
    """Why a PIN cannot be chosen (None: it can): format, all_equal, sequence, pattern,
    birth_date."""
    if len(pin) != PIN_DIGITS or not pin.isascii() or not pin.isdigit():
        return "format"
    digits = [int(c) for c in pin]
    if len(set(digits)) == 1:
        return "all_equal"
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    if steps in ({1}, {9}):  # 12345, 98765, 67890, 21098
        return "sequence"
    if pin[0::2] == pin[0] * 3 and pin[1::2] == pin[1] * 2:  # 12121
        return "pattern"
    if pin in _birth_date_forms(birth_date):
        return "birth_date"
    return None


PIN_MESSAGES = {
    "format": "The PIN has exactly 5 digits.",
    "all_equal": "Choose a PIN whose digits are not all the same.",
    "sequence": "Choose a PIN that is not a sequence like 12345.",
    "pattern": "Choose a PIN that is not a repeated pattern like 12121.",
    "birth_date": "Choose a PIN that is not your birth date.",
}


def pin_refused(enrolment: Enrolment, now: datetime, policy: MobilePolicy) -> Invalid | Forbidden:
    """A wrong PIN was given: count it; the fifth in a row locks the enrolment."""
    enrolment.pin_failures += 1
    left = policy.pin_tries - enrolment.pin_failures
    if left <= 0:
        enrolment.state = EnrolmentState.LOCKED
        enrolment.locked_at = now
        return Forbidden("Too many wrong PINs: this device is locked. Enrol it again.",
                         fields={"reason": "locked", "tries_left": "0"})
    return Invalid(f"The PIN is not correct. {left} tries left.",
                   fields={"pin": "wrong", "tries_left": str(left)})


# --- states ---------------------------------------------------------------------------------

STEP_MESSAGES = {
    EnrolmentState.CODE_SENT: "Enter the code sent by SMS first.",
    EnrolmentState.PHONE_VALIDATED: "Take a photo of the back of your identity card first.",
    EnrolmentState.IDENTITY_VALIDATED: "Choose your PIN first.",
    EnrolmentState.ACTIVE: "This device is enrolled already.",
}


def require_state(enrolment: Enrolment, state: EnrolmentState) -> None:
    """The step asked for is the enrolment's next one (else 409 naming where it stands);
    a locked or revoked enrolment refuses everything (403)."""
    refuse_if_unusable(enrolment)
    if enrolment.state is not state:
        raise Conflict(STEP_MESSAGES.get(enrolment.state, "This step is not possible now."),
                       fields={"reason": "wrong_step", "state": enrolment.state.value})


def refuse_if_unusable(enrolment: Enrolment) -> None:
    if enrolment.state is EnrolmentState.LOCKED:
        raise Forbidden("Too many wrong PINs: this device is locked. Enrol it again.",
                        fields={"reason": "locked", "tries_left": "0"})
    if enrolment.state is EnrolmentState.REVOKED:
        raise Forbidden("The office revoked this device. Enrol it again.",
                        fields={"reason": "revoked"})


def check_unfinished(enrolment: Enrolment, now: datetime, policy: MobilePolicy) -> None:
    """An enrolment not finished in time must begin again."""
    if enrolment.state is not EnrolmentState.ACTIVE and \
            now - enrolment.created_at > policy.enrolment_valid:
        raise Gone("This enrolment took too long: begin again.",
                   fields={"reason": "enrolment_expired"})


def revoke(enrolment: Enrolment, by: str, now: datetime) -> bool:
    """Staff revoke an enrolment: true if it changed (revoking twice is no error)."""
    if enrolment.state is EnrolmentState.REVOKED:
        return False
    enrolment.state = EnrolmentState.REVOKED
    enrolment.revoked_at = now
    enrolment.revoked_by = by
    return True


def not_found() -> NotFound:
    return NotFound("This device enrolment does not exist.")


# --- the device key and what it signs ---------------------------------------------------------

def load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The device's public key (base64 SubjectPublicKeyInfo, what WebCrypto exports as
    "spki"): ECDSA P-256 only."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error, TypeError) as error:
        raise Invalid("The device key is not readable.",
                      fields={"public_key": "unreadable"}) from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise Invalid("The device key must be ECDSA P-256.", fields={"public_key": "not_p256"})
    return key


def key_fingerprint(encoded: str) -> str:
    """SHA-256 of the SubjectPublicKeyInfo, the first 16 bytes in hex pairs."""
    digest = hashlib.sha256(base64.b64decode(encoded)).hexdigest()[:32]
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def new_challenge(enrolment: Enrolment, *, signature_request_id: str, document_sha256: str,
                  now: datetime, policy: MobilePolicy) -> Challenge:
    return Challenge(nonce=secrets.token_urlsafe(32), enrolment_id=enrolment.enrolment_id,
                     signature_request_id=signature_request_id, person_id=enrolment.person_id,
                     document_sha256=document_sha256, issued_at=now,
                     expires_at=now + policy.nonce_valid)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def signing_payload(challenge: Challenge) -> str:
    """The text the device signs (UTF-8 bytes, ECDSA with SHA-256)."""
    return _CANONICAL.encode({
        "document_sha256": challenge.document_sha256, "nonce": challenge.nonce,
        "signature_request_id": challenge.signature_request_id,
        "signer_id": challenge.person_id,
        "time": challenge.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")})


def device_signature_valid(public_key: str, payload: str, signature: str) -> bool:
    """Does `signature` (base64; IEEE P1363 r||s as WebCrypto gives it, or DER) sign `payload`
    with the device's key?"""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    if len(raw) == 64:
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                   int.from_bytes(raw[32:], "big"))
    try:
        load_public_key(public_key).verify(raw, payload.encode("utf-8"),
                                           ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, Invalid):
        return False
    return True


def challenge_problem(challenge: Challenge | None, *, enrolment_id: str,
                      signature_request_id: str, now: datetime) -> str | None:
    """Why a nonce cannot be used (None: it can, once): unknown, replayed, expired, another
    device or request."""
    if challenge is None:
        return "nonce_unknown"
    if challenge.used:
        return "nonce_replayed"
    if challenge.enrolment_id != enrolment_id or \
            challenge.signature_request_id != signature_request_id:
        return "nonce_unknown"
    if now > challenge.expires_at:
        return "nonce_expired"
    return None


# --- shown facts ----------------------------------------------------------------------------

def mask_phone(e164: str) -> str:
    """+32475123456 -> +32 4** ** ** 56: enough to recognise one's own number."""
    digits = e164.lstrip("+")
    if len(digits) < 6:
        return "*" * len(digits)
    return f"+{digits[:2]} {digits[2]}{'*' * (len(digits) - 5)}{digits[-2:]}"


def mask_document_number(number: str) -> str:
    """Only the last three characters of the card's number are kept."""
    number = number.replace("<", "")
    return "*" * max(len(number) - 3, 0) + number[-3:]


def mobile_evidence(enrolment: Enrolment, *, client_ip: str, device: str) -> dict[str, str]:
    """What the signature's record and the evidence page say of a mobile-key signature."""
    valid_until = enrolment.document_valid_until
    return {
        "approval": "Read and approved (signed with the device key after the PIN)",
        "identity_sms": (f"SMS code to {enrolment.phone_masked} confirmed "
                         f"{_moment(enrolment.phone_validated_at)}"),
        "identity_document": (
            f"ID card {enrolment.document_number_masked or '-'} read (MRZ), valid until "
            f"{valid_until.isoformat() if valid_until else '-'}"
            f", checked {_moment(enrolment.identity_validated_at)}"),
        "device_key": f"ECDSA P-256 {enrolment.key_fingerprint or '-'} "
                      f"(enrolled {_moment(enrolment.enrolled_at)})",
        "enrolment_id": enrolment.enrolment_id,
        "client_ip": client_ip,
        "device": device,
    }


def _moment(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"

