"""Login protections as a client notices them at the gateway: 429 and when to retry, cookies."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from libs.contracts import auth
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone, Invalid, RateLimited
from services.auth.passwords.hashing import HashingBusy
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
    assert "Te veel mislukte pogingen. Probeer het opnieuw over 3 minuten." in response.text


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


# --- password reset and change ----------------------------------------------------------------


def test_asking_a_reset_answers_202_whatever_the_address(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.REQUEST_PASSWORD_RESET, Ack())
    answers = [gateway.client.post("/api/v1/auth/password-reset", json={"email": email})
               for email in ("an@example.be", "nobody@example.be")]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()


def test_a_reset_link_sets_the_password_and_returns_tokens(gateway: Gateway) -> None:
    pair = gateway.key.pair()
    gateway.rpc.answer(auth.RESET_PASSWORD, pair)
    response = gateway.client.post("/api/v1/auth/password-reset/confirm",
                                   json={"token": "t", "password": "zeedijk 112 de panne"})
    assert response.status_code == 200
    assert response.json()["access_token"] == pair.access_token


def test_a_used_reset_link_is_410(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_PASSWORD_RESET, Gone("used"))
    assert gateway.client.get("/api/v1/auth/password-reset/t").status_code == 410


def test_changing_the_password_keeps_the_callers_session(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.CHANGE_PASSWORD, Ack())
    response = gateway.client.post(
        "/api/v1/auth/password", headers=gateway.bearer(session_id="session-7"),
        json={"current_password": "old one here", "new_password": "zeedijk 112 de panne"})
    assert response.status_code == 204
    [request] = gateway.rpc.called(auth.CHANGE_PASSWORD)
    assert isinstance(request, auth.ChangePasswordRequest)
    assert request.session_id == "session-7"


def test_the_login_page_offers_forgot_password(gateway: Gateway) -> None:
    page = gateway.client.get("/login")
    assert '<a href="/forgot-password">Wachtwoord vergeten?</a>' in page.text


def test_the_forgot_password_page_says_the_same_for_every_address(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.REQUEST_PASSWORD_RESET, Ack())
    pages = [gateway.client.post("/forgot-password", data={
        "email": email, "csrf_token": csrf(gateway)}) for email in ("an@example.be", "x@y.be")]
    assert [page.status_code for page in pages] == [200, 200]
    for page in pages:
        assert "Kijk in uw mailbox." in page.text
    requests = gateway.rpc.called(auth.REQUEST_PASSWORD_RESET)
    assert [r.email for r in requests if isinstance(r, auth.PasswordResetRequest)] == [
        "an@example.be", "x@y.be"]


def test_the_reset_page_shows_the_address_read_only_and_signs_in(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_PASSWORD_RESET, auth.PasswordResetPreview(
        email="an@example.be"))
    page = gateway.client.get("/reset-password?token=tok")
    assert 'value="an@example.be" readonly' in page.text
    gateway.rpc.answer(auth.RESET_PASSWORD, gateway.key.pair())
    response = gateway.client.post("/reset-password", data={
        "token": "tok", "password": "zeedijk 112 de panne",
        "password_confirmation": "zeedijk 112 de panne", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    assert "mb_access" in gateway.client.cookies


def test_a_spent_reset_link_says_so_and_offers_a_new_one(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_PASSWORD_RESET, Gone("used"))
    page = gateway.client.get("/reset-password?token=tok")
    assert page.status_code == 410
    assert "is verlopen of werd al gebruikt" in page.text
    assert 'href="/forgot-password"' in page.text


def test_a_common_new_password_is_explained_on_the_reset_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_PASSWORD_RESET, auth.PasswordResetPreview(
        email="an@example.be"))
    gateway.rpc.answer(auth.RESET_PASSWORD, Invalid("too common", fields={"password": "x"}))
    page = gateway.client.post("/reset-password", data={
        "token": "tok", "password": "Password1234", "password_confirmation": "Password1234",
        "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "te gewoon of te makkelijk te raden" in page.text


def test_a_signed_in_client_changes_the_password_from_the_account_page(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery", "csrf_token": csrf(gateway)})
    assert "Wachtwoord wijzigen" in gateway.client.get("/account/password").text
    gateway.rpc.answer(auth.CHANGE_PASSWORD, Invalid("wrong", fields={"current_password": "x"}))
    form = {"current_password": "guess", "password": "zeedijk 112 de panne",
            "password_confirmation": "zeedijk 112 de panne", "csrf_token": csrf(gateway)}
    refused = gateway.client.post("/account/password", data=form)
    assert "Het huidige wachtwoord is niet juist." in refused.text
    gateway.rpc.answer(auth.CHANGE_PASSWORD, Ack())
    done = gateway.client.post("/account/password", data=form)
    assert "Uw wachtwoord is gewijzigd." in done.text


BUSY = HashingBusy(4)  # what auth answers when its queue of logins waiting for a hash is full


def test_a_login_during_a_flood_is_503_with_retry_after_at_once(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, BUSY)
    response = gateway.client.post("/api/v1/auth/login", json={
        "email": "an@example.be", "password": "a password of hers"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "4"
    assert response.json()["detail"] == (
        "Too many log-ins at the moment. Please try again in 4 seconds.")


def test_the_login_page_says_how_many_seconds_to_wait_during_a_flood(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, BUSY)
    response = gateway.client.post("/login", data={
        "email": "an@example.be", "password": "a password", "csrf_token": csrf(gateway)})
    assert response.status_code == 503
    assert "Te veel aanmeldingen op dit moment. Probeer het opnieuw over 4 seconden." in (
        response.text)
    assert 'value="an@example.be"' in response.text  # what was typed is kept
