"""Use cases of the mobile signature (manual 5.1): enrol a device from a request offered to the
caller (SMS code, ID card, PIN and public key), then sign with it (PIN -> nonce -> the device's
signature). Every step names the request: what is not offered to the caller is a 404. The
request's audit trail records each step, refusals included."""

import asyncio
import base64
import binascii
from collections.abc import Callable
from datetime import datetime

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from libs.contracts import dossier
from libs.contracts.caller import Caller
from libs.contracts.envelope import Event, new_id, office_day, utc_now
from libs.contracts.signing import (
    AuditKind,
    CheckIdCard,
    ConfirmCode,
    DeviceChallenge,
    EnrolmentsQuery,
    EnrolmentState,
    FinishEnrolment,
    MobileEnrolmentList,
    MobileEnrolmentPublic,
    MobileSign,
    MobileStatus,
    MobileStatusQuery,
    PinForChallenge,
    RevokeEnrolment,
    SignatureMethod,
    SignatureOffer,
    SignerState,
    SigningEvidence,
    StartEnrolment,
)
from libs.contracts.sms import SEND_SMS, SendSmsRequest, SmsPurpose, SmsReceipt, SmsSender
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from libs.servicekit.logs import get_logger
from services.signing import domain, id_card, mobile
from services.signing.domain import SignatureRequest, Signer
from services.signing.handlers import (
    SIGNING_CALLER,
    RpcCalling,
    SigningHandlers,
    Trail,
    evidence_details,
)
from services.signing.mobile import Enrolment, MobilePolicy
from services.signing.store import MobileStore

log = get_logger(__name__)
CARDS_AT_ONCE = 2  # OCR is CPU work in a subprocess: a few at a time


class RpcSmsSender:
    """`SmsSender` over any `RpcCalling` (the tests' stand-ins of the other services)."""

    def __init__(self, rpc: RpcCalling) -> None:
        self._rpc = rpc

    async def send_sms(self, request: SendSmsRequest) -> SmsReceipt:
        return await self._rpc.call(SEND_SMS, request)


class MobileSigning:
    """One method per RPC of the mobile signature."""

    def __init__(self, signing: SigningHandlers, store: MobileStore, *, rpc: RpcCalling,
                 sms: SmsSender, policy: MobilePolicy,
                 read_card: Callable[[bytes], id_card.IdCard] = id_card.read_card,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._signing = signing
        self._store = store
        self._rpc = rpc
        self._sms = sms
        self._policy = policy
        self._read_card = read_card
        self._clock = clock
        self._hasher = PasswordHash((Argon2Hasher(),))
        self._card_slots = asyncio.Semaphore(CARDS_AT_ONCE)

    # --- helpers ------------------------------------------------------------------------

    async def _offered(self, caller: Caller, request_id: str
                       ) -> tuple[SignatureRequest, Signer]:
        if caller.is_staff:
            raise domain.not_offered()
        return await self._signing._offered(caller, request_id)

    async def _enrolment(self, caller: Caller, enrolment_id: str, signer: Signer) -> Enrolment:
        """The caller's own enrolment for this signer (anyone else's: 404)."""
        found = await self._store.get(enrolment_id)
        if found is None or found.user_id != caller.user_id or \
                found.person_id != signer.person_id:
            raise mobile.not_found()
        return found

    async def _person(self, request: SignatureRequest, signer: Signer) -> dossier.Person:
        persons = await self._rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=SIGNING_CALLER, dossier_id=request.dossier_id))
        for person in persons.persons:
            if person.person_id == signer.person_id:
                return person
        raise Conflict("The office no longer lists you in this dossier.",
                       fields={"reason": "person_unknown"})

    async def _save(self, enrolment: Enrolment) -> None:
        if not await self._store.save(enrolment):
            raise Unavailable("This device's enrolment is busy; please try again.")

    async def _audit(self, request_id: str, kind: AuditKind, actor: str,
                     details: dict[str, str]) -> None:
        now = self._clock()

        def add(request: SignatureRequest, trail: Trail) -> list[Event]:
            trail.add(kind, actor, now, details)
            return []

        await self._signing._change(request_id, add)

    def _signable(self, request: SignatureRequest, signer: Signer) -> None:
        """The request may be signed by this signer now (else the reason, as `sign` gives)."""
        if signer.state is SignerState.SIGNED:
            raise Conflict("You signed this document already.",
                           fields={"reason": "already_signed"})
        domain.check_closed(request)
        if not domain.offer_for(request, signer).may_sign_now:
            raise Conflict("This document cannot be signed now.", fields={"reason": "closed"})

    def _public(self, enrolment: Enrolment) -> MobileEnrolmentPublic:
        return enrolment.public(self._policy)

    # --- the steps ----------------------------------------------------------------------

    async def status(self, query: MobileStatusQuery) -> MobileStatus:
        request, signer = await self._offered(query.caller, query.signature_request_id)
        enrolment = None
        if query.enrolment_id is not None:
            found = await self._store.get(query.enrolment_id)
            if found is not None and found.user_id == query.caller.user_id and \
                    found.person_id == signer.person_id:
                enrolment = self._public(found)
        return MobileStatus(offer=domain.offer_for(request, signer), enrolment=enrolment)

    async def start(self, command: StartEnrolment) -> MobileEnrolmentPublic:
        """An SMS code to the mobile number the office holds for the signer."""
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        self._signable(request, signer)
        person = await self._person(request, signer)
        if not (person.phone or "").strip():
            raise Invalid("The office has no mobile number for you: ask them to add it, or "
                          "sign with the checkbox.", fields={"phone": "missing"})
        now = self._clock()
        mobile.check_code_rate(await self._store.codes_sent_since(
            caller.user_id, now - self._policy.code_window), now, self._policy)
        enrolment = Enrolment(enrolment_id=new_id(), user_id=caller.user_id,
                              person_id=signer.person_id, dossier_id=request.dossier_id,
                              signature_request_id=request.request_id, created_at=now)
        code = mobile.new_code()
        mobile.set_code(enrolment, code, now, self._policy)
        await self._store.code_sent(caller.user_id, now)
        language = command.language if command.language in {"nl", "fr", "en"} else "nl"
        try:
            receipt = await self._sms.send_sms(SendSmsRequest(
                caller=SIGNING_CALLER, idempotency_key=f"signing:enrol:{enrolment.enrolment_id}",
                purpose=SmsPurpose.IDENTITY_CODE, phone_number=person.phone or "",
                account_id=caller.user_id, language=language,
                parameters={"code": code, "valid_minutes": str(
                    int(self._policy.code_valid.total_seconds() // 60))}))
        except Invalid as error:
            raise Invalid("The number the office holds for you is not a mobile number: ask "
                          "them to change it, or sign with the checkbox.",
                          fields={"phone": "not_mobile"}) from error
        enrolment.phone_masked = mobile.mask_phone(receipt.phone_number)
        await self._store.insert(enrolment)
        await self._audit(request.request_id, AuditKind.IDENTITY_CODE_SENT, caller.user_id, {
            "person_id": signer.person_id, "enrolment_id": enrolment.enrolment_id,
            "phone": enrolment.phone_masked, **evidence_details(command.evidence)})
        return self._public(enrolment)

    async def confirm_code(self, command: ConfirmCode) -> MobileEnrolmentPublic:
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        enrolment = await self._enrolment(caller, command.enrolment_id, signer)
        now = self._clock()
        mobile.check_unfinished(enrolment, now, self._policy)
        right = mobile.check_code(enrolment, command.code, now)
        await self._save(enrolment)
        base = {"person_id": signer.person_id, "enrolment_id": enrolment.enrolment_id,
                **evidence_details(command.evidence)}
        if not right:
            await self._audit(request.request_id, AuditKind.IDENTITY_REFUSED, caller.user_id, {
                **base, "step": "sms_code", "reason": "wrong_code",
                "tries_left": str(enrolment.code_tries_left)})
            raise mobile.code_refusal(enrolment)
        await self._audit(request.request_id, AuditKind.IDENTITY_VALIDATED, caller.user_id, {
            **base, "step": "sms_code", "phone": enrolment.phone_masked})
        return self._public(enrolment)

    async def check_id_card(self, command: CheckIdCard) -> MobileEnrolmentPublic:
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        enrolment = await self._enrolment(caller, command.enrolment_id, signer)
        now = self._clock()
        mobile.check_unfinished(enrolment, now, self._policy)
        mobile.require_state(enrolment, EnrolmentState.PHONE_VALIDATED)
        try:
            photo = base64.b64decode(command.photo_base64, validate=True)
        except (ValueError, binascii.Error) as error:
            raise id_card.PhotoProblem("not_an_image", "This file is not a photo.") from error
        base = {"person_id": signer.person_id, "enrolment_id": enrolment.enrolment_id,
                "step": "id_card", **evidence_details(command.evidence)}
        person = await self._person(request, signer)
        try:
            async with self._card_slots:
                card = await asyncio.to_thread(self._read_card, photo)
            problem = id_card.card_problem(
                card, last_name=person.last_name, first_name=person.first_name,
                birth_date=person.birth_date, national_number=person.national_number,
                today=office_day(now))
            if problem is not None:
                raise Invalid(id_card.CARD_MESSAGES[problem], fields={"photo": problem})
        except Invalid as refusal:
            await self._audit(request.request_id, AuditKind.IDENTITY_REFUSED, caller.user_id, {
                **base, "reason": (refusal.fields or {}).get("photo", "unreadable")})
            raise
        enrolment.document_number_masked = mobile.mask_document_number(card.document_number)
        enrolment.document_valid_until = card.expiry_date
        enrolment.identity_validated_at = now
        enrolment.state = EnrolmentState.IDENTITY_VALIDATED
        await self._save(enrolment)
        await self._audit(request.request_id, AuditKind.IDENTITY_VALIDATED, caller.user_id, {
            **base, "document": enrolment.document_number_masked,
            "valid_until": card.expiry_date.isoformat()})
        return self._public(enrolment)

    async def finish(self, command: FinishEnrolment) -> MobileEnrolmentPublic:
        """The PIN (kept as an argon2id hash) and the device's public key."""
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        enrolment = await self._enrolment(caller, command.enrolment_id, signer)
        now = self._clock()
        mobile.check_unfinished(enrolment, now, self._policy)
        mobile.require_state(enrolment, EnrolmentState.IDENTITY_VALIDATED)
        person = await self._person(request, signer)
        problem = mobile.pin_problem(command.pin, person.birth_date)
        if problem is not None:
            raise Invalid(mobile.PIN_MESSAGES[problem], fields={"pin": problem})
        mobile.load_public_key(command.public_key)
        enrolment.pin_hash = await asyncio.to_thread(self._hasher.hash, command.pin)
        enrolment.public_key = command.public_key
        enrolment.key_fingerprint = mobile.key_fingerprint(command.public_key)
        enrolment.device_name = (command.device_name or "").strip() or \
            command.evidence.device or None
        enrolment.enrolled_at = now
        enrolment.state = EnrolmentState.ACTIVE
        await self._save(enrolment)
        await self._audit(request.request_id, AuditKind.ENROLLED, caller.user_id, {
            "person_id": signer.person_id, "enrolment_id": enrolment.enrolment_id,
            "key_fingerprint": enrolment.key_fingerprint,
            **evidence_details(command.evidence)})
        log.info("device enrolled for the mobile signature", enrolment_id=enrolment.enrolment_id)
        return self._public(enrolment)

    async def challenge(self, command: PinForChallenge) -> DeviceChallenge:
        """The PIN, checked before each use; right: a nonce for the device to sign."""
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        enrolment = await self._enrolment(caller, command.enrolment_id, signer)
        mobile.require_state(enrolment, EnrolmentState.ACTIVE)
        self._signable(request, signer)
        now = self._clock()
        assert enrolment.pin_hash is not None
        right = len(command.pin) == mobile.PIN_DIGITS and await asyncio.to_thread(
            self._hasher.verify, command.pin, enrolment.pin_hash)
        if not right:
            refusal = mobile.pin_refused(enrolment, now, self._policy)
            await self._save(enrolment)
            await self._audit(request.request_id, AuditKind.WRONG_PIN, caller.user_id, {
                "person_id": signer.person_id, "enrolment_id": enrolment.enrolment_id,
                "tries_left": (refusal.fields or {}).get("tries_left", "0"),
                "locked": str(enrolment.state is EnrolmentState.LOCKED),
                **evidence_details(command.evidence)})
            raise refusal
        if enrolment.pin_failures:
            enrolment.pin_failures = 0
            await self._save(enrolment)
        challenge = mobile.new_challenge(
            enrolment, signature_request_id=request.request_id,
            document_sha256=request.document_sha256, now=now, policy=self._policy)
        await self._store.add_challenge(challenge)
        return DeviceChallenge(nonce=challenge.nonce, payload=mobile.signing_payload(challenge),
                               expires_at=challenge.expires_at)

    async def sign(self, command: MobileSign) -> SignatureOffer:
        """The device's signature of the nonce's payload: verified with the registered key,
        the nonce used once; then the signature is recorded like any other."""
        caller = command.caller
        request, signer = await self._offered(caller, command.signature_request_id)
        enrolment = await self._enrolment(caller, command.enrolment_id, signer)
        mobile.require_state(enrolment, EnrolmentState.ACTIVE)
        now = self._clock()
        challenge = await self._store.use_challenge(command.nonce)
        problem = mobile.challenge_problem(challenge, enrolment_id=enrolment.enrolment_id,
                                           signature_request_id=request.request_id, now=now)
        if problem is None and challenge is not None:
            payload = mobile.signing_payload(challenge)
            assert enrolment.public_key is not None
            if challenge.document_sha256 != request.document_sha256 or \
                    not mobile.device_signature_valid(enrolment.public_key, payload,
                                                      command.signature):
                problem = "signature_invalid"
        if problem is not None:
            await self._audit(request.request_id, AuditKind.DEVICE_SIGNATURE_REFUSED,
                              caller.user_id, {
                                  "person_id": signer.person_id,
                                  "enrolment_id": enrolment.enrolment_id, "reason": problem,
                                  **evidence_details(command.evidence)})
            raise Forbidden(REFUSALS[problem], fields={"reason": problem})
        assert challenge is not None
        evidence = mobile.mobile_evidence(enrolment, **_where(command.evidence))

        def signed(request: SignatureRequest, trail: Trail) -> list[Event]:
            signer = request.signer_for(caller.user_id)
            if signer is None or not caller.may_see_dossier(request.dossier_id):
                raise domain.not_offered()
            at = self._clock()
            domain.sign(request, signer, user_id=caller.user_id,
                        method=SignatureMethod.MOBILE_KEY, approved=command.approved,
                        authenticated_at=None, evidence=command.evidence, now=at,
                        policy=self._signing._policy, device_evidence=evidence)
            trail.add(AuditKind.SIGNED, caller.user_id, at, {
                "person_id": signer.person_id, "method": SignatureMethod.MOBILE_KEY.value,
                **signer.evidence, "signed_payload": mobile.signing_payload(challenge),
                "device_signature": command.signature,
                "device_public_key": enrolment.public_key or ""})
            return self._signing._invite(request, trail, at)

        changed = await self._signing._change(request.request_id, signed,
                                              missing=domain.not_offered)
        if changed.state.value == "sealing":
            self._signing._seal_soon(changed)
        mine = changed.signer_for(caller.user_id)
        assert mine is not None
        return domain.offer_for(changed, mine)

    # --- the office ---------------------------------------------------------------------

    async def list_enrolments(self, query: EnrolmentsQuery) -> MobileEnrolmentList:
        require_staff(query.caller)
        found = await self._store.find(dossier_id=query.dossier_id, user_id=query.user_id)
        return MobileEnrolmentList(enrolments=[self._public(e) for e in found])

    async def revoke(self, command: RevokeEnrolment) -> MobileEnrolmentPublic:
        """Staff revoke a device: it signs no more until enrolled again."""
        require_staff(command.caller)
        enrolment = await self._store.get(command.enrolment_id)
        if enrolment is None:
            raise NotFound("This device enrolment does not exist.")
        if mobile.revoke(enrolment, command.caller.user_id, self._clock()):
            await self._save(enrolment)
            log.info("device enrolment revoked", enrolment_id=enrolment.enrolment_id,
                     by=command.caller.user_id)
        return self._public(enrolment)


REFUSALS = {
    "nonce_unknown": "This signature was not asked for: enter your PIN again.",
    "nonce_replayed": "This signature was used already: enter your PIN again.",
    "nonce_expired": "This signature came too late: enter your PIN again.",
    "signature_invalid": "The device's signature is not valid.",
}


def _where(evidence: SigningEvidence) -> dict[str, str]:
    details = evidence_details(evidence)
    return {"client_ip": details["client_ip"], "device": details["device"]}
