"""The mobile signature's pages (manual 5.1): offered on a phone or tablet; on a PC the page says
so and offers the checkbox signature.

/signing/{id}/mobile is one page whose script (static/mobile-signing.js) walks through the
steps: on a device seen for the first time, the SMS code, a photo of the ID card's back, a PIN
and a key pair made by WebCrypto (ECDSA P-256, not extractable, kept in IndexedDB with the
enrolment's id); then, and next times straight away, the PIN and the device's signature. Each
step posts a form (with the CSRF field) to /signing/{id}/mobile/<step> and gets JSON back: the
enrolment or the challenge, or a translated message with the remaining tries.
"""

import base64
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gateway.api.mobile_signing import read_photo
from gateway.deps import ObjectIdPath, Rpc
from gateway.problems import status_of
from gateway.signing_evidence import evidence_of
from gateway.web.admin_pages import office_page, staff_only
from gateway.web.pages import CsrfChecked, Pages, PageSession, dossier_choices
from gateway.web.session import WebSession
from libs.contracts import signing
from libs.contracts.ids import ObjectId
from libs.contracts.rpc import RpcMethod
from libs.servicekit.errors import Conflict, NotFound, RateLimited, ServiceError, Unavailable

router = APIRouter(include_in_schema=False)
Translate = Callable[[str], str]
_MOBILE_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Tablet|Silk|Kindle|PlayBook")


def phone_or_tablet(request: Request) -> bool:
    """A phone or tablet by its client hint (Sec-CH-UA-Mobile) or else its User-Agent."""
    if request.headers.get("sec-ch-ua-mobile") == "?1":
        return True
    return bool(_MOBILE_AGENT.search(request.headers.get("user-agent") or ""))


def _client_only(session: WebSession) -> None:
    if session.claims.caller().is_staff:
        raise NotFound("This document is not offered to you for signature.")


@router.get("/signing/{signature_id}/mobile")
async def mobile_page(signature_id: ObjectIdPath, request: Request, session: PageSession,
                      pages: Pages, rpc: Rpc) -> Response:
    """The mobile signature of a document offered to the client (404 when it is not)."""
    _client_only(session)
    claims = session.claims
    status = await rpc.call(signing.MOBILE_STATUS, signing.MobileStatusQuery(
        caller=claims.caller(), signature_request_id=signature_id))
    offer = status.offer
    return pages.render(request, "signing/mobile.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": offer.request.dossier_id,
        "offer": offer, "on_mobile": phone_or_tablet(request),
        "account": claims.sub}, session=session)


@router.get("/signing/{signature_id}/mobile/status")
async def mobile_status(signature_id: ObjectIdPath, session: PageSession, rpc: Rpc,
                        enrolment_id: Annotated[ObjectId | None, Query()] = None) -> Response:
    """Where this device's enrolment stands (the page's script asks on load)."""
    _client_only(session)
    status = await rpc.call(signing.MOBILE_STATUS, signing.MobileStatusQuery(
        caller=session.claims.caller(), signature_request_id=signature_id,
        enrolment_id=enrolment_id))
    return JSONResponse(status.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _message(error: ServiceError, _: Translate) -> str:
    """The refusal as the page shows it, in the page's language."""
    fields = error.fields or {}
    left = fields.get("tries_left", "0")
    photo = fields.get("photo")
    photo_messages = {
        "not_an_image": _("This file is not a photo. Take a photo of the back of your identity "
                          "card."),
        "too_small": _("The photo is too small. Take it again closer to the card."),
        "too_large": _("The photo is too large (12 MB at most)."),
        "unreadable": _("The card could not be read. Photograph the back of the card, flat, in "
                        "good light, filling the frame."),
        "check_digits": _("The card could not be read correctly. Take the photo again."),
        "expired": _("This identity card has expired."),
        "another_person": _("This identity card does not match what your broker knows of you."),
    }
    pin_messages = {
        "format": _("The PIN has exactly 5 digits."),
        "all_equal": _("Choose a PIN whose digits are not all the same."),
        "sequence": _("Choose a PIN that is not a sequence like 12345."),
        "pattern": _("Choose a PIN that is not a repeated pattern like 12121."),
        "birth_date": _("Choose a PIN that is not your birth date."),
    }
    reason = fields.get("reason")
    if fields.get("code") == "wrong":
        return (_("The code is not correct. %(count)s tries left.") % {"count": left} if left != "0"
                else _("The code is not correct. Ask for a new code."))
    if fields.get("code") in {"expired", "no_tries_left"}:
        return _("This code can no longer be used. Ask for a new code.")
    if photo in photo_messages:
        return photo_messages[photo]
    if fields.get("pin") == "wrong":
        return _("The PIN is not correct. %(count)s tries left.") % {"count": left}
    if fields.get("pin") in pin_messages:
        return pin_messages[fields["pin"]]
    if reason == "locked":
        return _("Too many wrong PINs: this device is locked. Enrol it again.")
    if reason == "revoked":
        return _("Your broker revoked this device. Enrol it again.")
    if reason in {"signature_invalid", "nonce_unknown", "nonce_replayed", "nonce_expired"}:
        return _("The signature of this device could not be verified. Enter your PIN again.")
    if reason == "too_many_codes" or isinstance(error, RateLimited):
        return _("Too many codes were asked. Please wait a few minutes and try again.")
    if reason == "already_signed":
        return _("You signed this document already.")
    if reason == "enrolment_expired":
        return _("This enrolment took too long. Begin again.")
    if fields.get("phone"):
        return _("Your broker has no mobile number for you. Ask them to add it, or sign with "
                 "the checkbox.")
    return _("This step failed. Please try again.")


async def _step(request: Request, session: WebSession, pages: Pages, rpc: Rpc,
                method: RpcMethod[Any, Any], command: BaseModel,
                timeout_seconds: float | None = None) -> Response:
    """Run one step; its result as JSON, or the refusal with a translated message."""
    _ = pages.gettext(pages.language(request, session))
    try:
        reply = await rpc.call(method, command, timeout_seconds=timeout_seconds)
    except Conflict as error:
        if (error.fields or {}).get("reason") == "already_signed":
            return JSONResponse({"done": True, "message": _message(error, _)}, status_code=409)
        return _refusal(error, _)
    except Unavailable:
        raise
    except ServiceError as error:
        return _refusal(error, _)
    return JSONResponse(reply.model_dump(mode="json"))


def _refusal(error: ServiceError, _: Translate) -> JSONResponse:
    return JSONResponse({"message": _message(error, _), "fields": error.fields or {}},
                        status_code=status_of(error))


@router.post("/signing/{signature_id}/mobile/enrolment", dependencies=[CsrfChecked])
async def start(signature_id: ObjectIdPath, request: Request, session: PageSession,
                pages: Pages, rpc: Rpc) -> Response:
    _client_only(session)
    return await _step(request, session, pages, rpc, signing.START_ENROLMENT,
                       signing.StartEnrolment(
                           caller=session.claims.caller(), signature_request_id=signature_id,
                           language=pages.language(request, session),
                           evidence=evidence_of(request)),
                       timeout_seconds=signing.START_ENROLMENT_TIMEOUT_SECONDS)


@router.post("/signing/{signature_id}/mobile/code", dependencies=[CsrfChecked])
async def code(signature_id: ObjectIdPath, request: Request, session: PageSession,
               pages: Pages, rpc: Rpc, enrolment_id: Annotated[ObjectId, Form()],
               code: Annotated[str, Form(max_length=20)] = "") -> Response:
    _client_only(session)
    return await _step(request, session, pages, rpc, signing.CONFIRM_CODE, signing.ConfirmCode(
        caller=session.claims.caller(), signature_request_id=signature_id,
        enrolment_id=enrolment_id, code=code, evidence=evidence_of(request)))


@router.post("/signing/{signature_id}/mobile/id-card", dependencies=[CsrfChecked])
async def id_card(signature_id: ObjectIdPath, request: Request, session: PageSession,
                  pages: Pages, rpc: Rpc, enrolment_id: Annotated[ObjectId, Form()],
                  photo: Annotated[UploadFile | None, File()] = None) -> Response:
    """The photo of the card's back (none: refused as not a photo, once the request is known
    to be offered)."""
    _client_only(session)
    _ = pages.gettext(pages.language(request, session))
    try:
        encoded = await read_photo(photo) if photo is not None else ""
    except ServiceError as error:
        return _refusal(error, _)
    return await _step(request, session, pages, rpc, signing.CHECK_ID_CARD, signing.CheckIdCard(
        caller=session.claims.caller(), signature_request_id=signature_id,
        enrolment_id=enrolment_id, photo_base64=encoded, evidence=evidence_of(request)),
        timeout_seconds=signing.CHECK_ID_CARD_TIMEOUT_SECONDS)


@router.post("/signing/{signature_id}/mobile/finish", dependencies=[CsrfChecked])
async def finish(signature_id: ObjectIdPath, request: Request, session: PageSession,
                 pages: Pages, rpc: Rpc, enrolment_id: Annotated[ObjectId, Form()],
                 pin: Annotated[str, Form(max_length=20)] = "",
                 public_key: Annotated[str, Form(max_length=2000)] = "") -> Response:
    _client_only(session)
    return await _step(request, session, pages, rpc, signing.FINISH_ENROLMENT,
                       signing.FinishEnrolment(
                           caller=session.claims.caller(), signature_request_id=signature_id,
                           enrolment_id=enrolment_id, pin=pin, public_key=public_key,
                           evidence=evidence_of(request)))


@router.post("/signing/{signature_id}/mobile/challenge", dependencies=[CsrfChecked])
async def challenge(signature_id: ObjectIdPath, request: Request, session: PageSession,
                    pages: Pages, rpc: Rpc, enrolment_id: Annotated[ObjectId, Form()],
                    pin: Annotated[str, Form(max_length=20)] = "") -> Response:
    _client_only(session)
    return await _step(request, session, pages, rpc, signing.MOBILE_CHALLENGE,
                       signing.PinForChallenge(
                           caller=session.claims.caller(), signature_request_id=signature_id,
                           enrolment_id=enrolment_id, pin=pin, evidence=evidence_of(request)))


@router.post("/signing/{signature_id}/mobile/sign", dependencies=[CsrfChecked])
async def sign(signature_id: ObjectIdPath, request: Request, session: PageSession,
               pages: Pages, rpc: Rpc, enrolment_id: Annotated[ObjectId, Form()],
               nonce: Annotated[str, Form(max_length=100)] = "",
               signature: Annotated[str, Form(max_length=400)] = "",
               approved: Annotated[str, Form(max_length=10)] = "") -> Response:
    _client_only(session)
    if signature:
        try:
            base64.b64decode(signature, validate=True)
        except ValueError:
            signature = ""
    return await _step(request, session, pages, rpc, signing.MOBILE_SIGN, signing.MobileSign(
        caller=session.claims.caller(), signature_request_id=signature_id,
        enrolment_id=enrolment_id, nonce=nonce, signature=signature or "-",
        approved=approved == "yes", evidence=evidence_of(request)))


# --- the office ------------------------------------------------------------------------------


@router.get("/admin/signing/devices")
async def devices_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                       ) -> Response:
    """The devices enrolled for the mobile signature, newest first, each with "Revoke"."""
    staff_only(session)
    listing = await rpc.call(signing.LIST_ENROLMENTS, signing.EnrolmentsQuery(
        caller=session.claims.caller()))
    return office_page(pages, request, session, "admin/signing_devices.html",
                       {"enrolments": listing.enrolments})


@router.post("/admin/signing/devices/{enrolment_id}/revoke", dependencies=[CsrfChecked])
async def revoke(enrolment_id: ObjectIdPath, request: Request, session: PageSession,
                 pages: Pages, rpc: Rpc) -> Response:
    staff_only(session)
    await rpc.call(signing.REVOKE_ENROLMENT, signing.RevokeEnrolment(
        caller=session.claims.caller(), enrolment_id=enrolment_id))
    return pages.redirect(request, "/admin/signing/devices")
