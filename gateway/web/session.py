"""The browser session: httponly cookies with the tokens, transparent refresh, CSRF tokens.

Cookies a page wants to set are queued on the request and written onto whatever response the
page ends with (page, redirect or error page), so a refresh done by a dependency is never lost.
"""

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from fastapi import Request, Response

from gateway.access_log import note_caller
from gateway.deps import RpcCaller
from gateway.problems import Problem
from gateway.tokens import TokenVerifier
from libs.contracts import auth
from libs.contracts.auth import AccessClaims
from libs.servicekit.errors import ServiceError, Unauthenticated, Unavailable

ACCESS_COOKIE = "mb_access"
REFRESH_COOKIE = "mb_refresh"
CSRF_COOKIE = "mb_csrf"
LANGUAGE_COOKIE = "mb_lang"
DOSSIER_COOKIE = "mb_dossier"
AUTH_COOKIES = (ACCESS_COOKIE, REFRESH_COOKIE, DOSSIER_COOKIE)
CSRF_FIELD = "csrf_token"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class WebSession:
    """The signed-in user of a page request."""

    claims: AccessClaims
    refresh_token: str | None


@dataclass
class _CookieJar:
    """Cookie changes a request wants on its response: value and max-age, or None to delete."""

    changes: dict[str, tuple[str, int | None] | None] = field(default_factory=dict)


def _jar(request: Request) -> _CookieJar:
    jar: _CookieJar | None = getattr(request.state, "cookie_jar", None)
    if jar is None:
        jar = _CookieJar()
        request.state.cookie_jar = jar
    return jar


def queue_cookie(request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    """Set cookie `name` on this request's response (httponly, SameSite=Lax)."""
    _jar(request).changes[name] = (value, max_age)


def queue_cookie_deletion(request: Request, *names: str) -> None:
    """Remove cookies `names` with this request's response."""
    for name in names:
        _jar(request).changes[name] = None


def cookie(request: Request, name: str) -> str | None:
    """The cookie's value as this request left it (queued changes win over the browser's)."""
    changes = _jar(request).changes
    if name in changes:
        change = changes[name]
        return None if change is None else change[0]
    return request.cookies.get(name)


def apply_cookies(request: Request, response: Response, *, secure: bool) -> Response:
    """Write the queued cookie changes onto `response`."""
    for name, change in _jar(request).changes.items():
        if change is None:
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
        else:
            value, max_age = change
            response.set_cookie(name, value, max_age=max_age, path="/", secure=secure,
                                httponly=True, samesite="lax")
    return response


def store_tokens(request: Request, pair: auth.TokenPair) -> None:
    """Keep a fresh token pair in the browser (session cookies: gone when the browser closes)."""
    queue_cookie(request, ACCESS_COOKIE, pair.access_token)
    queue_cookie(request, REFRESH_COOKIE, pair.refresh_token)


def csrf_token(request: Request) -> str:
    """The CSRF token forms carry; the same value lives in a cookie (double submit)."""
    token = cookie(request, CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        queue_cookie(request, CSRF_COOKIE, token)
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a form post whose CSRF field does not match the cookie (another site's post)."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    expected = request.cookies.get(CSRF_COOKIE)
    if not (isinstance(submitted, str) and expected
            and hmac.compare_digest(submitted.encode(), expected.encode())):
        raise Problem(403, "csrf", "The form has expired or did not come from MyBroker.")


class SessionRefresher:
    """Refreshes once per refresh token, even when several page loads need it at the same time.

    Auth rotates refresh tokens and treats the reuse of an old one as theft (the session ends),
    so two tabs refreshing at once must share one call. Results are kept a few seconds.
    """

    def __init__(self, rpc: RpcCaller, keep_seconds: float = 30.0) -> None:
        self._rpc = rpc
        self._keep_seconds = keep_seconds
        self._recent: dict[str, tuple[float, asyncio.Task[auth.TokenPair]]] = {}

    async def refresh(self, refresh_token: str) -> auth.TokenPair:
        """A new token pair for `refresh_token`."""
        now = time.monotonic()
        for key in [k for k, (at, _) in self._recent.items() if now - at > self._keep_seconds]:
            del self._recent[key]
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        if key not in self._recent:
            task = asyncio.ensure_future(self._rpc.call(
                auth.REFRESH, auth.RefreshRequest(refresh_token=refresh_token)))
            self._recent[key] = (now, task)
        _, task = self._recent[key]
        try:
            return await asyncio.shield(task)
        except ServiceError:
            self._recent.pop(key, None)
            raise


async def open_session(
    request: Request, verifier: TokenVerifier, refresher: SessionRefresher
) -> WebSession:
    """The session from the cookies, refreshed when the access token ran out; else 401."""
    access_token = cookie(request, ACCESS_COOKIE)
    refresh_token = cookie(request, REFRESH_COOKIE)
    if access_token:
        try:
            claims = verifier.verify(access_token)
            note_caller(request.scope.setdefault("state", {}), claims)  # the access log's "who"
            return WebSession(claims, refresh_token)
        except Unavailable:
            raise
        except Unauthenticated:
            pass  # expired (or signed by a rotated key): the refresh token decides
    if not refresh_token:
        raise Unauthenticated("Sign in first.")
    try:
        pair = await refresher.refresh(refresh_token)
        claims = verifier.verify(pair.access_token)
    except Unavailable:
        raise
    except ServiceError:
        queue_cookie_deletion(request, *AUTH_COOKIES)
        raise Unauthenticated("The session has ended; sign in again.") from None
    store_tokens(request, pair)
    note_caller(request.scope.setdefault("state", {}), claims)
    return WebSession(claims, pair.refresh_token)
