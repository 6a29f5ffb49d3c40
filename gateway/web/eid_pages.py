"""The "Aanmelden met eID" pages: log in with the card, or ask to link an unknown card."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import Rpc, State
from gateway.eid import forwarded_certificate
from gateway.web.pages import CsrfChecked, Pages
from gateway.web.session import DOSSIER_COOKIE, queue_cookie_deletion, store_tokens
from libs.contracts import auth
from libs.servicekit.errors import Gone, Invalid, NotFound, Unauthenticated, Unavailable

router = APIRouter(include_in_schema=False)


def _refusal_message(refused: Unauthenticated, _: Callable[[str], str]) -> str:
    """Why the card cannot log in, as auth judged it; anything else (such as a linked account
    that cannot log in) stays the general refusal."""
    refusal = (refused.fields or {}).get(auth.EID_REFUSAL_FIELD)
    if refusal == auth.EidRefusal.UNTRUSTED:
        return _("This card was not issued by a recognised Belgian eID authority.")
    if refusal == auth.EidRefusal.OUT_OF_DATE:
        return _("This eID card has expired or is not valid yet. "
                 "Use a valid card, or log in with your e-mail address and password.")
    if refusal == auth.EidRefusal.NOT_AN_AUTHENTICATION_CERTIFICATE:
        return _("The certificate sent is not the authentication certificate of a Belgian "
                 "eID card. Choose the authentication certificate when the browser asks.")
    return _("This eID card cannot be used to log in.")


@router.get("/eid")
async def eid_login(request: Request, pages: Pages, state: State, rpc: Rpc) -> Response:
    """A linked card logs in at once; an unknown one gets the form to ask for the link."""
    _ = pages.gettext(pages.language(request))
    certificate = forwarded_certificate(request, state.settings)
    try:
        # Without a card auth is asked all the same (an empty certificate): when eID login is
        # off (no trust bundle) the page says so rather than asking for a card.
        reply = await rpc.call(auth.EID_LOG_IN, auth.EidLoginRequest(
            certificate_pem=certificate or "",
            client_ip=request.client.host if request.client else None))
    except Unauthenticated as refused:
        if certificate is None:
            return pages.render(request, "access/eid.html", {"error": _(
                "No eID card was found. Insert your card in the reader and try again."),
            }, status_code=401)
        return pages.render(request, "access/eid.html", {
            "error": _refusal_message(refused, _)}, status_code=401)
    except Unavailable:
        return pages.render(request, "access/eid.html", {
            "error": _("Logging in with eID is not available at the moment.")}, status_code=503)
    if reply.tokens is not None:
        state.verifier.verify(reply.tokens.access_token)
        store_tokens(request, reply.tokens)
        queue_cookie_deletion(request, DOSSIER_COOKIE)
        return pages.redirect(request, "/")
    return pages.render(request, "access/eid.html", {
        "link_token": reply.link_token, "display_name": reply.display_name})


@router.post("/eid/link", dependencies=[CsrfChecked])
async def eid_link(
    request: Request, pages: Pages, rpc: Rpc,
    link_token: Annotated[str, Form()] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Ask the broker to link the card to the account of this address."""
    _ = pages.gettext(pages.language(request))
    try:
        await rpc.call(auth.REQUEST_EID_LINK, auth.EidLinkRequest(
            link_token=link_token, email=email.strip()))
    except (Gone, NotFound):
        return pages.render(request, "access/eid.html", {
            "error": _("This eID check has expired. Insert your card and start again.")},
            status_code=410)
    except (Invalid, ValidationError):
        return pages.render(request, "access/eid.html", {
            "link_token": link_token, "error": _("Please check this field.")}, status_code=422)
    return pages.render(request, "access/eid.html", {"requested": True})
