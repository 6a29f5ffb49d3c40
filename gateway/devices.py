"""The device cookie: a browser that signed in to an account before passes that account's lockout.

A random token the gateway gives a browser at its first successful password login and keeps for
a year (HttpOnly, SameSite=Lax, Secure behind HTTPS). Every login sends it to auth, which keeps
only its hash, per account, for a bounded number of devices (OWASP "device cookies").
"""

import re
import secrets

from fastapi import Request, Response

from gateway.config import GatewaySettings
from gateway.web.session import queue_cookie

DEVICE_COOKIE = "mb_device"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def device_token(request: Request) -> str:
    """The browser's device token, or a new one (set only if the login succeeds)."""
    presented = request.cookies.get(DEVICE_COOKIE, "")
    return presented if _WELL_FORMED.fullmatch(presented) else secrets.token_urlsafe(32)


def cookie_secure(request: Request, settings: GatewaySettings) -> bool:
    """Secure when configured so, and whenever the browser came over HTTPS."""
    return settings.cookie_secure or request.url.scheme == "https"


def set_device_cookie(
    request: Request, response: Response, token: str, settings: GatewaySettings
) -> None:
    """Give the browser its device token on a JSON answer (the API's login)."""
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_COOKIE_SECONDS, path="/",
                        secure=cookie_secure(request, settings), httponly=True, samesite="lax")


def queue_device_cookie(request: Request, token: str) -> None:
    """Give the browser its device token with the page this request ends with."""
    queue_cookie(request, DEVICE_COOKIE, token, max_age=DEVICE_COOKIE_SECONDS)
