"""Login protections as a client notices them at the gateway: 429 and when to retry, cookies."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from libs.contracts import auth
from libs.servicekit.errors import RateLimited
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    household_rpc,
    run_gateway,
)

BLOCKED = RateLimited(
    "Too many failed sign-in attempts. Try again in 3 minutes (after 10:03:00 UTC).",
    fields={"retry_after": "150"})


def csrf(gateway: Gateway) -> str:
    """The CSRF token a form of the site would carry (set by any page)."""
    if "mb_csrf" not in gateway.client.cookies:
        gateway.client.get("/login")
    return str(gateway.client.cookies["mb_csrf"])


def test_a_blocked_login_is_429_with_retry_after_and_says_when(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, BLOCKED)
    response = gateway.client.post("/api/v1/auth/login",
                                   json={"email": "an@example.be", "password": "nope"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "150"
    problem = response.json()
    assert "Try again in 3 minutes" in problem["detail"]
    assert "errors" not in problem  # the seconds are a header, not a field error


def test_the_login_page_says_in_how_many_minutes_to_try_again(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, BLOCKED)
    response = gateway.client.post("/login", data={
        "email": "an@example.be", "password": "nope", "csrf_token": csrf(gateway)})
    assert response.status_code == 429
    assert "Te veel mislukte pogingen. Probeer het opnieuw over 3 minuut/minuten." in response.text


def test_the_login_passes_the_client_address_to_auth_for_its_rate_limit(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.client.post("/api/v1/auth/login", json={"email": "an@example.be", "password": "pw"})
    [request] = gateway.rpc.called(auth.LOG_IN)
    assert isinstance(request, auth.LoginRequest)
    assert request.client_ip == "testclient"


@pytest.fixture
def secure_gateway(tmp_path: Path) -> Iterator[Gateway]:
    yield from run_gateway(tmp_path, household_rpc(), cookie_secure=True)


def test_with_secure_cookies_on_the_session_cookies_are_secure_httponly_and_lax(
    secure_gateway: Gateway,
) -> None:
    secure_gateway.rpc.answer(auth.LOG_IN, secure_gateway.key.pair())
    secure_gateway.client.base_url = "https://testserver"  # behind TLS
    page = secure_gateway.client.get("/login")
    token = page.cookies.get("mb_csrf") or ""
    response = secure_gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 303
    set_cookies = [value for name, value in response.headers.multi_items()
                   if name == "set-cookie" and value.startswith(("mb_access=", "mb_refresh="))]
    assert len(set_cookies) == 2
    for header in set_cookies:
        assert "Secure" in header and "HttpOnly" in header and "SameSite=lax" in header


def test_cookies_without_secure_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="COOKIE_SECURE"):
        GatewaySettings(environment="prod", cookie_secure=False, jwt_public_key_path="k.pem")
