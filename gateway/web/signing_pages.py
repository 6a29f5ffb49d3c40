"""The signer's pages (manual 5.2, the checkbox signature on a PC) and the office's list.

/signing lists the documents to sign; /signing/{id} is the signature page: the document is
opened in the viewer first (the viewer tells the signing service), then "Gelezen en goedgekeurd"
is ticked and "Onderteken" pressed; a login older than the signing service allows asks for the
password again (a fresh login through auth, whose tokens replace the page's cookies). The
confirmation says the document now awaits the broker's processing.
"""

import contextlib
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from gateway.deps import ObjectIdPath, Rpc, State
from gateway.devices import device_token
from gateway.downloads import open_and_stream
from gateway.signing_evidence import authenticated_at, evidence_of
from gateway.web.admin_pages import office_page, staff_only
from gateway.web.mobile_signing_pages import phone_or_tablet
from gateway.web.pages import (
    CsrfChecked,
    Pages,
    PageSession,
    active_dossier_id,
    dossier_choices,
)
from gateway.web.rendering import _mark
from gateway.web.session import WebSession, store_tokens
from libs.contracts import auth, documents, paging, signing
from libs.servicekit.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    RateLimited,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
PAGE_LINK_OUTDATED = _mark(
    "That page link is out of date, so here is the first page of the list.")
REAUTHENTICATE = "reauthentication_required"
ADMIN_PAGE_SIZE = 25
WAIT_MARGIN_SECONDS = 5.0  # a page waiting for the seal: the answer's time beyond the wait


def _client_only(session: WebSession) -> None:
    if session.claims.caller().is_staff:
        raise NotFound("This document is not offered to you for signature.")


@router.get("/signing")
async def documents_to_sign_page(request: Request, session: PageSession, pages: Pages,
                                 rpc: Rpc) -> Response:
    """"Documenten te ondertekenen": what the client may sign now in the active dossier."""
    if session.claims.caller().is_staff:
        return pages.redirect(request, "/admin/signing")
    claims = session.claims
    active = active_dossier_id(request, claims)
    to_sign: list[signing.DocumentToSign] = []
    unavailable = False
    if active is not None:
        try:
            to_sign = (await rpc.call(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
                caller=claims.caller(), dossier_id=active))).documents
        except Unavailable:
            unavailable = True
    return pages.render(request, "signing/list.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": active, "to_sign": to_sign,
        "to_sign_unavailable": unavailable}, session=session)


@router.get("/signing/count")
async def documents_to_sign_count(request: Request, session: PageSession, rpc: Rpc
                                  ) -> Response:
    """The menu's badge: how many documents wait for the client's signature (htmx)."""
    claims = session.claims
    active = None if claims.caller().is_staff else active_dossier_id(request, claims)
    count = 0
    if active is not None:
        try:
            count = len((await rpc.call(signing.LIST_DOCUMENTS_TO_SIGN,
                                        signing.DocumentsToSignQuery(
                                            caller=claims.caller(), dossier_id=active))
                         ).documents)
        except ServiceError:
            count = 0  # the menu shows no badge rather than an error
    body = f'<span class="badge count">{count}</span>' if count else ""
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


async def _offer_page(request: Request, session: WebSession, pages: Pages, rpc: Rpc,
                      signature_id: str, *, status_code: int = 200, error: str | None = None,
                      approved: bool = False, ask_password: bool = False,
                      wait: float = 0) -> Response:
    offer = await rpc.call(signing.GET_OFFER, signing.SignatureRequestQuery(
        caller=session.claims.caller(), signature_request_id=signature_id,
        wait_for_seal_seconds=wait), timeout_seconds=wait + WAIT_MARGIN_SECONDS)
    claims = session.claims
    closed = offer.request.state in (signing.RequestState.CANCELLED,
                                     signing.RequestState.EXPIRED,
                                     signing.RequestState.REFUSED)
    if closed and status_code == 200:
        status_code = 410
    policy_age = authenticated_at(claims)
    return pages.render(request, "signing/sign.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": offer.request.dossier_id,
        "offer": offer, "closed": closed, "error": error, "approved": approved,
        "ask_password": ask_password or policy_age is None,
        "on_mobile": phone_or_tablet(request)}, session=session,
        status_code=status_code)


@router.get("/signing/{signature_id}")
async def signature_page(
    signature_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    wait: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The signature page of a document offered to the client (404 when it is not); while
    the signed PDF is made, the page asks again with `wait` and is answered once it is."""
    _client_only(session)
    active_dossier_id(request, session.claims)  # a mailed link's ?dossier= becomes active
    try:  # the page's own link: anything else is read as no wait
        seconds = min(max(float(wait or 0), 0.0), signing.MAX_WAIT_FOR_SEAL_SECONDS)
    except ValueError:
        seconds = 0.0
    if seconds != seconds:  # NaN
        seconds = 0.0
    return await _offer_page(request, session, pages, rpc, signature_id, wait=seconds)


@router.post("/signing/{signature_id}", dependencies=[CsrfChecked])
async def sign(
    signature_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    state: State,
    approved: Annotated[str, Form(max_length=10)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """"Onderteken": the tick, and the password again when the login is old."""
    _client_only(session)
    _ = pages.gettext(pages.language(request, session))
    ticked = approved == "yes"
    claims = session.claims
    if password:
        try:
            claims = await _log_in_again(request, state, rpc, session, password)
        except (Unauthenticated, Forbidden, Invalid):
            return await _offer_page(
                request, session, pages, rpc, signature_id, status_code=401, approved=ticked,
                ask_password=True, error=_("The password is not correct."))
        except RateLimited:
            return await _offer_page(
                request, session, pages, rpc, signature_id, status_code=429, approved=ticked,
                ask_password=True,
                error=_("Too many attempts. Please wait a few minutes and try again."))
    try:
        await rpc.call(signing.SIGN, signing.SignRequest(
            caller=claims.caller(), signature_request_id=signature_id, approved=ticked,
            authenticated_at=authenticated_at(claims), evidence=evidence_of(request)))
    except Conflict as error:
        if (error.fields or {}).get("reason") == "already_signed":
            return pages.redirect(request, f"/signing/{signature_id}")  # the same confirmation
        return await _offer_page(request, session, pages, rpc, signature_id, status_code=409,
                                 error=_("This document cannot be signed now."))
    except Forbidden as error:
        if (error.fields or {}).get("reason") != REAUTHENTICATE:
            raise
        return await _offer_page(
            request, session, pages, rpc, signature_id, status_code=403, approved=ticked,
            ask_password=True,
            error=_("For your security, enter your password again to sign."))
    except Invalid as error:
        fields = error.fields or {}
        if fields.get("reason") == "not_opened":
            message = _("Open the document and read it before you sign it.")
        elif "approved" in fields:
            message = _("Tick \"Read and approved\" to sign the document.")
        else:
            message = _("This document cannot be signed now.")
        return await _offer_page(request, session, pages, rpc, signature_id, status_code=422,
                                 approved=ticked, error=message)
    except Gone:
        return await _offer_page(request, session, pages, rpc, signature_id)
    return pages.redirect(request, f"/signing/{signature_id}")


async def _log_in_again(request: Request, state: State, rpc: Rpc, session: WebSession,
                        password: str) -> auth.AccessClaims:
    """A fresh login with the signer's own address: its tokens replace the cookies and the old
    session ends (re-authentication goes through auth's throttling like any login)."""
    pair = await rpc.call(auth.LOG_IN, auth.LoginRequest(
        email=session.claims.email, password=password,
        client_ip=request.client.host if request.client else None,
        device_token=device_token(request)))
    claims = state.verifier.verify(pair.access_token)
    if claims.sub != session.claims.sub:
        raise Unauthenticated("Another account.")
    store_tokens(request, pair)
    old_session = session.claims.sid
    if old_session != claims.sid:
        try:
            await rpc.call(auth.LOG_OUT, auth.LogoutRequest(session_id=old_session))
        except ServiceError as error:
            log.warning("old session not ended after re-authentication", code=str(error.code))
    return claims


@router.post("/signing/{signature_id}/refuse", dependencies=[CsrfChecked])
async def refuse(
    signature_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Refuse to sign, with a reason (kept on the page when it is missing)."""
    _client_only(session)
    _ = pages.gettext(pages.language(request, session))
    if not reason.strip():
        return await _offer_page(request, session, pages, rpc, signature_id, status_code=422,
                                 error=_("Say why you refuse to sign."))
    with contextlib.suppress(Conflict, Gone):  # the page says where the request stands
        await rpc.call(signing.REFUSE, signing.RefuseSignatureRequest(
            caller=session.claims.caller(), signature_request_id=signature_id,
            reason=reason.strip(), evidence=evidence_of(request)))
    return pages.redirect(request, f"/signing/{signature_id}")


@router.get("/signing/{signature_id}/signed")
async def signed_document(signature_id: ObjectIdPath, request: Request, session: PageSession,
                          rpc: Rpc, state: State) -> StreamingResponse:
    """The signed PDF with its evidence page, as a download."""
    _client_only(session)
    where = await rpc.call(signing.OPEN_SIGNED_DOCUMENT, signing.SignedDocumentRequest(
        caller=session.claims.caller(), signature_request_id=signature_id,
        evidence=evidence_of(request)))
    return await open_and_stream(rpc, state.storage, session.claims.caller(),
                                 dossier_id=where.dossier_id, document_id=where.document_id,
                                 variant=documents.BodyVariant.ORIGINAL, as_attachment=True)


# --- the office ------------------------------------------------------------------------------


@router.get("/admin/signing")
async def admin_signing_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, state: str = "",
    cursor: Annotated[str, Query(max_length=paging.MAX_CURSOR)] = "", done: str = "",
) -> Response:
    """Signature requests, newest first, with each signer's state; a state filter. "Next"
    carries the list's cursor; a page link whose cursor the service refuses (damaged,
    outdated, of another filter) shows the first page with a notice."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    chosen = state if state in {s.value for s in signing.RequestState} else ""

    def query(start: str) -> signing.ListSignatureRequestsQuery:
        return signing.ListSignatureRequestsQuery(
            caller=session.claims.caller(),
            state=signing.RequestState(chosen) if chosen else None, cursor=start or None,
            page_size=ADMIN_PAGE_SIZE)

    error = None
    try:
        listing = await rpc.call(signing.LIST_SIGNATURE_REQUESTS, query(cursor))
    except Invalid:
        if not cursor:
            raise
        listing, cursor = await rpc.call(signing.LIST_SIGNATURE_REQUESTS, query("")), ""
        error = _(PAGE_LINK_OUTDATED)
    shown = {"state": chosen} if chosen else {}
    return office_page(pages, request, session, "admin/signing.html", {
        "listing": listing, "state": chosen, "error": error, "is_first_page": not cursor,
        "first_page": "/admin/signing" + (f"?{urlencode(shown)}" if shown else ""),
        "next_page": None if listing.next_cursor is None else
        "/admin/signing?" + urlencode({**shown, "cursor": listing.next_cursor})}, done=done)


@router.post("/admin/signing/{signature_id}/cancel", dependencies=[CsrfChecked])
async def admin_cancel(signature_id: ObjectIdPath, request: Request, session: PageSession,
                       pages: Pages, rpc: Rpc) -> Response:
    """Cancel an open request from the list."""
    staff_only(session)
    try:
        await rpc.call(signing.CANCEL_SIGNATURE_REQUEST, signing.CancelSignatureRequest(
            caller=session.claims.caller(), signature_request_id=signature_id))
    except Conflict:  # finished meanwhile: the list shows its state
        return pages.redirect(request, "/admin/signing")
    return pages.redirect(request, "/admin/signing?done=signature_cancelled")
