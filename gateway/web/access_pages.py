"""Pages for one's own password: "forgot your password?", the reset link, changing it, and the
unlock link mailed when failed attempts locked the address."""

import contextlib
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.deps import Rpc, RpcCaller, State
from gateway.devices import device_token, queue_device_cookie
from gateway.web.pages import CsrfChecked, Pages, PageSession
from gateway.web.session import store_tokens
from libs.contracts import auth, lockout
from libs.contracts.auth import PASSWORD_MIN_LENGTH
from libs.servicekit.errors import (
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


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def new_password_problem(
    password: str, confirmation: str, _: Callable[[str], str]
) -> str | None:
    """What the form says before asking auth (auth stays the judge of the password)."""
    if password != confirmation:
        return _("The two passwords are not the same.")
    if len(password) < PASSWORD_MIN_LENGTH:
        return _("Choose a password of at least %(count)s characters.") % {
            "count": PASSWORD_MIN_LENGTH}
    return None


# --- forgot password ---------------------------------------------------------------------------


@router.get("/forgot-password")
async def forgot_password_page(request: Request, pages: Pages) -> Response:
    """Ask for a reset link by e-mail address."""
    return pages.render(request, "access/forgot_password.html", {"email": "", "sent": False})


@router.post("/forgot-password", dependencies=[CsrfChecked])
async def ask_password_reset(
    request: Request, pages: Pages, rpc: Rpc,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Always the same "check your mail" answer: nobody learns if the address has an account."""
    with contextlib.suppress(Invalid):  # a malformed address gets the page of an unknown one
        await rpc.call(auth.REQUEST_PASSWORD_RESET, auth.PasswordResetRequest(
            email=email.strip(), client_ip=_client_ip(request)))
    return pages.render(request, "access/forgot_password.html", {"email": email, "sent": True})


# --- the reset link ---------------------------------------------------------------------------


async def _reset_preview(
    rpc: RpcCaller, token: str, _: Callable[[str], str]
) -> tuple[auth.PasswordResetPreview | None, str | None, int]:
    try:
        return await rpc.call(auth.LOOK_UP_PASSWORD_RESET,
                              auth.PasswordResetLookupRequest(token=token)), None, 200
    except (NotFound, Invalid):
        return None, _("This link to choose a new password is not valid. Ask for a new one."), 404
    except Gone:
        return None, _("This link to choose a new password has expired or was already used. "
                       "Ask for a new one."), 410


@router.get("/reset-password")
async def reset_password_page(
    request: Request, pages: Pages, rpc: Rpc, token: str = ""
) -> Response:
    """The new-password form of a reset link, with the account's address read-only."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _reset_preview(rpc, token, _)
    return pages.render(request, "access/reset_password.html", {
        "token": token, "preview": preview, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)


@router.post("/reset-password", dependencies=[CsrfChecked])
async def reset_password(
    request: Request, pages: Pages, rpc: Rpc, state: State,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_confirmation: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Set the new password; every other session ends and this browser is signed in."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _reset_preview(rpc, token, _)
    if preview is not None:
        error = new_password_problem(password, password_confirmation, _)
        status = 422
        if error is None:
            try:
                pair = await rpc.call(auth.RESET_PASSWORD, auth.ResetPasswordRequest(
                    token=token, password=password))
                state.verifier.verify(pair.access_token)
            except Invalid:
                error = _("This password is not accepted: it is too common or too easy to "
                          "guess. Choose another one.")
            except (Gone, NotFound):
                error, status = _("This link to choose a new password has expired or was "
                                  "already used. Ask for a new one."), 410
            else:
                store_tokens(request, pair)
                return pages.redirect(request, "/")
    return pages.render(request, "access/reset_password.html", {
        "token": token, "preview": preview, "error": error,
        "password_min_length": PASSWORD_MIN_LENGTH}, status_code=status)


# --- change while signed in -------------------------------------------------------------------


@router.get("/account/password")
async def change_password_page(request: Request, session: PageSession, pages: Pages) -> Response:
    """The form to change one's password."""
    return pages.render(request, "access/change_password.html", {
        "password_min_length": PASSWORD_MIN_LENGTH, "done": False}, session=session)


@router.post("/account/password", dependencies=[CsrfChecked])
async def change_password(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_confirmation: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change the password; the other sessions end, this one stays."""
    _ = pages.gettext(pages.language(request, session))
    error = new_password_problem(password, password_confirmation, _)
    status = 422
    if error is None:
        claims = session.claims
        try:
            await rpc.call(auth.CHANGE_PASSWORD, auth.ChangePasswordRequest(
                caller=claims.caller(), session_id=claims.sid,
                current_password=current_password, new_password=password))
        except Invalid as refused:
            if refused.fields and "current_password" in refused.fields:
                error = _("The current password is not correct.")
            else:
                error = _("This password is not accepted: it is too common or too easy to "
                          "guess. Choose another one.")
        except RateLimited:
            error, status = _("Too many attempts. Please wait a few minutes and try again."), 429
        except (Unavailable, ServiceError) as failure:
            log.warning("password change failed", code=str(failure.code))
            error, status = _(
                "MyBroker is temporarily unavailable. Please try again in a moment."), 503
        else:
            return pages.render(request, "access/change_password.html", {
                "password_min_length": PASSWORD_MIN_LENGTH, "done": True}, session=session)
    return pages.render(request, "access/change_password.html", {
        "password_min_length": PASSWORD_MIN_LENGTH, "done": False, "error": error},
        session=session, status_code=status)


# --- the unlock link (mailed when failed attempts locked the address) ---------------------------


async def _unlock_preview(
    rpc: RpcCaller, token: str, _: Callable[[str], str]
) -> tuple[lockout.UnlockPreview | None, str | None, int]:
    try:
        return await rpc.call(lockout.LOOK_UP_UNLOCK,
                              lockout.UnlockLookupRequest(token=token)), None, 200
    except (NotFound, Invalid):
        return None, _("This sign-in link is not valid."), 404
    except Gone:
        return None, _("This sign-in link has expired or was already used. Sign in as usual "
                       "once the waiting time is over, or choose a new password."), 410


@router.get("/unlock")
async def unlock_page(request: Request, pages: Pages, rpc: Rpc, token: str = "") -> Response:
    """The password form of an unlock link, with the address read-only."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _unlock_preview(rpc, token, _)
    return pages.render(request, "access/unlock.html", {
        "token": token, "preview": preview, "error": error}, status_code=status)


@router.post("/unlock", dependencies=[CsrfChecked])
async def unlock_log_in(
    request: Request, pages: Pages, rpc: Rpc, state: State,
    token: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Sign in with the link and the password; this browser is trusted from now on."""
    _ = pages.gettext(pages.language(request))
    preview, error, status = await _unlock_preview(rpc, token, _)
    if preview is not None:
        device = device_token(request)
        try:
            async with state.logins.admitted():
                pair = await rpc.call(lockout.UNLOCK_LOG_IN, lockout.UnlockLoginRequest(
                    token=token, password=password, client_ip=_client_ip(request),
                    device_token=device))
            claims = state.verifier.verify(pair.access_token)
        except Unauthenticated:
            error, status = _("The password is not correct."), 401
        except (Gone, NotFound):
            preview, error, status = None, _(
                "This sign-in link has expired or was already used. Sign in as usual once the "
                "waiting time is over, or choose a new password."), 410
        except (Unavailable, ServiceError) as failure:
            log.warning("unlock login failed", code=str(failure.code))
            error, status = _(
                "MyBroker is temporarily unavailable. Please try again in a moment."), 503
        else:
            store_tokens(request, pair)
            queue_device_cookie(request, device)
            return pages.redirect(request, "/admin" if claims.caller().is_staff else "/")
    return pages.render(request, "access/unlock.html", {
        "token": token, "preview": preview, "error": error}, status_code=status)
