"""The client zone's web pages: sign-in, activation, welcome, language, dossier.

The insurance file's pages (my data, risks, contracts, claims, invoices) are in dossier_pages.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from gateway.api.me import DossierRef, granted_dossiers
from gateway.deps import Rpc, RpcCaller, State
from gateway.devices import device_token, queue_device_cookie
from gateway.read_model import ReadModel
from gateway.web.i18n import LANGUAGES
from gateway.web.rendering import PageRenderer, safe_next
from gateway.web.session import (
    ACCESS_COOKIE,
    AUTH_COOKIES,
    DOSSIER_COOKIE,
    LANGUAGE_COOKIE,
    LANGUAGE_COOKIE_SECONDS,
    REFRESH_COOKIE,
    WebSession,
    check_csrf,
    cookie,
    open_session,
    queue_cookie,
    queue_cookie_deletion,
    store_tokens,
)
from libs.contracts import auth, client_sheet, requests, signing
from libs.contracts.auth import PASSWORD_MIN_LENGTH, AccessClaims
from libs.servicekit.errors import (
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


def page_renderer(request: Request) -> PageRenderer:
    """The app's page renderer."""
    renderer: PageRenderer = request.app.state.pages
    return renderer


async def _renderer_of(request: Request) -> PageRenderer:
    return page_renderer(request)  # async: no worker thread hop (gateway/deps.py)


Pages = Annotated[PageRenderer, Depends(_renderer_of)]


async def page_session(request: Request, state: State, pages: Pages) -> WebSession:
    """The signed-in user from the cookies (refreshed if needed); else off to the login page."""
    return await open_session(request, state.verifier, pages.refresher)


PageSession = Annotated[WebSession, Depends(page_session)]
CsrfChecked = Depends(check_csrf)


async def dossier_choices(rpc: RpcCaller, claims: AccessClaims,
                          read_model: ReadModel | None = None) -> list[DossierRef]:
    """The caller's dossiers with names; just their ids while the dossier service is away."""
    try:
        return await granted_dossiers(rpc, claims, read_model)
    except Unavailable:
        return [DossierRef(dossier_id=d, name=d) for d in claims.dossiers]


DOSSIER_PARAMETER = "dossier"
"""The query parameter by which a link names its dossier (mails, pages, shared addresses)."""


def active_dossier_id(request: Request, claims: AccessClaims) -> str | None:
    """The dossier the followed link names (and the active one from then on), else the one the
    client chose ("Dossier kiezen"), else their first one.

    A link carries its dossier because a client of several dossiers may follow it while another
    one is active (a mail, a second tab): it opens in its own dossier instead of "not found".
    """
    named = request.query_params.get(DOSSIER_PARAMETER)
    if named is not None:
        if named not in claims.dossiers:
            raise NotFound("This dossier does not exist.")
        if cookie(request, DOSSIER_COOKIE) != named:
            queue_cookie(request, DOSSIER_COOKIE, named)
        return named
    chosen = cookie(request, DOSSIER_COOKIE)
    if chosen in claims.dossiers:
        return chosen
    return claims.dossiers[0] if claims.dossiers else None


def sign_in_problem(error: ServiceError, _: Callable[[str], str],
                    ngettext: Callable[[str, str, int], str]) -> tuple[str, int]:
    """What the login or activation form says about a refused attempt, and its status."""
    if isinstance(error, RateLimited):
        retry_after = (error.fields or {}).get("retry_after", "")
        if retry_after.isdigit():  # auth says how long the back-off lasts
            minutes = max(1, -(-int(retry_after) // 60))
            return ngettext(
                "Too many failed attempts. Please try again in %(minutes)s minute.",
                "Too many failed attempts. Please try again in %(minutes)s minutes.",
                minutes) % {"minutes": minutes}, 429
        return _("Too many attempts. Please wait a few minutes and try again."), 429
    retry_after = (error.fields or {}).get("retry_after", "")
    if isinstance(error, Unavailable) and retry_after.isdigit():  # a flood of log-ins
        return _("Too many log-ins at the moment. Please try again in %(seconds)s seconds.") % {
            "seconds": retry_after}, 503
    if isinstance(error, Unavailable):
        return _(
            "MyBroker is temporarily unavailable. Please try again in a moment."), 503
    if isinstance(error, Forbidden):  # right password, account not yet approved
        return _("Your account awaits the approval of your broker. You will receive an "
                 "e-mail as soon as it is approved."), 403
    return _("The e-mail address or password is not correct."), 401


# --- sign in / out --------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, pages: Pages, next: str = "/") -> Response:
    """The sign-in form ("Aanmelden")."""
    return pages.render(request, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", dependencies=[CsrfChecked])
async def log_in(
    request: Request,
    pages: Pages,
    state: State,
    rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in with e-mail and password; the tokens go into httponly cookies."""
    _ = pages.gettext(pages.language(request))
    device = device_token(request)
    try:
        async with state.logins.admitted():
            pair = await rpc.call(auth.LOG_IN, auth.LoginRequest(
                email=email.strip(), password=password,
                client_ip=request.client.host if request.client else None,
                device_token=device))
        claims = state.verifier.verify(pair.access_token)
    except ServiceError as error:
        message, status = sign_in_problem(
            error, _, pages.ngettext(pages.language(request)))
        return pages.render(request, "login.html", {
            "next": safe_next(next), "email": email, "error": message,
            "locked": isinstance(error, RateLimited)}, status_code=status)
    store_tokens(request, pair)
    queue_device_cookie(request, device)  # this browser passes the address's lockout from now
    queue_cookie_deletion(request, DOSSIER_COOKIE)  # a new user starts in their first dossier
    if claims.caller().is_staff and safe_next(next) == "/":
        return pages.redirect(request, "/admin")  # staff land on the office pages
    return pages.redirect(request, next)


@router.post("/logout", dependencies=[CsrfChecked])
async def log_out(request: Request, pages: Pages, state: State, rpc: Rpc) -> Response:
    """End the session everywhere and forget the cookies."""
    session_id = state.verifier.session_of(cookie(request, ACCESS_COOKIE) or "")
    refresh_token = cookie(request, REFRESH_COOKIE)
    if session_id or refresh_token:
        try:
            await rpc.call(auth.LOG_OUT, auth.LogoutRequest(
                refresh_token=refresh_token, session_id=session_id))
        except ServiceError as error:  # the person still leaves; the tokens expire soon
            log.warning("logout not confirmed by auth", code=str(error.code))
    if session_id:
        state.deny_list.add(session_id)
    queue_cookie_deletion(request, *AUTH_COOKIES)
    return pages.redirect(request, "/login")


# --- activation (manual 1.1: the e-mail is filled in, the client chooses a password) ----------


async def _invitation(
    rpc: RpcCaller, token: str, _: Callable[[str], str]
) -> tuple[auth.InvitationPreview | None, str | None, int]:
    try:
        return await rpc.call(auth.LOOK_UP_INVITATION,
                              auth.InvitationLookupRequest(token=token)), None, 200
    except (NotFound, Invalid):
        return None, _("This activation link is not valid. Please check the link in "
                               "your e-mail or ask your broker for a new invitation."), 404
    except Gone:
        return None, _("This activation link has expired or was already used. Please "
                               "ask your broker for a new invitation."), 410


@router.get("/activate")
async def activation_page(request: Request, pages: Pages, rpc: Rpc, token: str = "") -> Response:
    """The activation form: the invited e-mail address, read-only, and a new password."""
    _ = pages.gettext(pages.language(request))
    invitation, error, status = await _invitation(rpc, token, _)
    if invitation is not None and not cookie(request, LANGUAGE_COOKIE):
        queue_cookie(request, LANGUAGE_COOKIE, invitation.language,
                     max_age=LANGUAGE_COOKIE_SECONDS)  # the broker knows the client's language
    return pages.render(request, "activate.html", {
        "token": token, "invitation": invitation, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)


@router.post("/activate", dependencies=[CsrfChecked])
async def activate(
    request: Request,
    pages: Pages,
    state: State,
    rpc: Rpc,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_confirmation: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Choose the password; the client is signed in and lands on the welcome page."""
    _ = pages.gettext(pages.language(request))
    invitation, error, status = await _invitation(rpc, token, _)
    if invitation is not None:
        if password != password_confirmation:
            error, status = _("The two passwords are not the same."), 422
        elif len(password) < PASSWORD_MIN_LENGTH:
            error, status = _(
                "Choose a password of at least %(count)s characters."
            ) % {"count": PASSWORD_MIN_LENGTH}, 422
        else:
            try:
                pair = await rpc.call(auth.ACTIVATE, auth.ActivateRequest(
                    token=token, password=password))
                state.verifier.verify(pair.access_token)
            except Invalid:
                error, status = _("This password is not accepted: it is too common or too "
                                  "easy to guess. Choose another one."), 422
            except (Unauthenticated, Gone, NotFound):
                error, status = _("This activation link has expired or was already "
                                          "used. Please ask your broker for a new invitation."), 410
            else:
                store_tokens(request, pair)
                return pages.redirect(request, "/")
    return pages.render(request, "activate.html", {
        "token": token, "invitation": invitation, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)


# --- the client zone --------------------------------------------------------------------------


RECENT_REQUESTS = 5


async def recent_requests(
    rpc: RpcCaller, claims: AccessClaims, dossier_id: str | None
) -> list[requests.RequestSummary] | None:
    """The latest requests sent in the dossier (None while the requests service is away)."""
    if dossier_id is None:
        return []
    try:
        listed = await rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
            caller=claims.caller(), dossier_id=dossier_id))
    except Unavailable:
        return None
    return sorted(listed.requests, key=lambda r: r.sent_at, reverse=True)[:RECENT_REQUESTS]


async def client_sheet_due(
    rpc: RpcCaller, claims: AccessClaims, dossier_id: str | None
) -> client_sheet.DueState | None:
    """Whether the dossier's client sheet is due (None: no dossier, or the service is away)."""
    if dossier_id is None:
        return None
    try:
        return await rpc.call(client_sheet.GET_CLIENT_SHEET_DUE, client_sheet.ClientSheetQuery(
            caller=claims.caller(), dossier_id=dossier_id))
    except Unavailable:
        return None


@router.get("/")
async def welcome_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc) -> Response:
    """Welcome (manual 3.1): the forms, the documents to sign, the active dossier."""
    claims = session.claims
    if claims.caller().is_staff:
        return pages.redirect(request, "/admin")  # staff have no client zone of their own
    dossiers = await dossier_choices(rpc, claims)
    active = active_dossier_id(request, claims)
    to_sign: list[signing.DocumentToSign] = []
    to_sign_unavailable = False
    if active is not None:
        try:
            to_sign = (await rpc.call(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
                caller=claims.caller(), dossier_id=active))).documents
        except Unavailable:
            to_sign_unavailable = True  # the rest of the page is still useful
    recent = await recent_requests(rpc, claims, active)
    sheet_due = await client_sheet_due(rpc, claims, active)
    return pages.render(request, "welcome.html", {
        "dossiers": dossiers, "active": active, "to_sign": to_sign,
        "to_sign_unavailable": to_sign_unavailable, "recent_requests": recent,
        "client_sheet_due": sheet_due}, session=session)


@router.post("/dossier", dependencies=[CsrfChecked])
async def choose_dossier(
    request: Request,
    session: PageSession,
    pages: Pages,
    dossier_id: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the active dossier ("Dossier kiezen")."""
    if dossier_id not in session.claims.dossiers:
        raise NotFound("This dossier does not exist.")
    queue_cookie(request, DOSSIER_COOKIE, dossier_id)
    return pages.redirect(request, next)


@router.get("/lang/{language}")
async def choose_language(
    request: Request, language: str, pages: Pages, next: str = "/"
) -> Response:
    """Switch the pages' language (NL, FR, EN); the choice is kept in a cookie."""
    if language not in LANGUAGES:
        raise NotFound("This language is not available.")
    queue_cookie(request, LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS)
    return pages.redirect(request, next)
