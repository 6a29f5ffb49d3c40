"""The web pages as a client uses them: log in, welcome, my contracts, language, dossiers."""

import time
from pathlib import Path

import pytest

from libs.contracts import auth, dossier, signing
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone, Invalid, Unauthenticated, Unavailable
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)


def csrf(gateway: Gateway) -> str:
    """The CSRF token a form of the site would carry (set by any page)."""
    if "mb_csrf" not in gateway.client.cookies:
        gateway.client.get("/login")
    return str(gateway.client.cookies["mb_csrf"])


def sign_in(gateway: Gateway, next_page: str = "/", **claims: object) -> None:
    """Log in through the login form as a client with these token claims."""
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(**claims))
    response = gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery", "next": next_page,
        "csrf_token": csrf(gateway)})
    assert response.status_code == 303


def expire_access_cookie(gateway: Gateway) -> None:
    """Replace the browser's access token by one that ran out 10 minutes ago."""
    expired = gateway.key.token(issued_at=int(time.time()) - 900)
    gateway.client.cookies.set("mb_access", expired, domain="testserver.local", path="/")


def test_the_login_page_is_dutch_by_default(gateway: Gateway) -> None:
    response = gateway.client.get("/login")
    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    assert "<h1>Aanmelden</h1>" in response.text


def test_the_login_page_is_french_after_choosing_french(gateway: Gateway) -> None:
    switched = gateway.client.get("/lang/fr?next=/login")
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    response = gateway.client.get("/login")
    assert '<html lang="fr">' in response.text
    assert "<h1>Se connecter</h1>" in response.text
    assert "Mot de passe" in response.text


def test_the_language_switch_never_sends_the_browser_to_another_site(gateway: Gateway) -> None:
    response = gateway.client.get("/lang/en?next=//evil.example/phish")
    assert response.headers["location"] == "/"


def test_logging_in_sets_httponly_lax_cookies_and_opens_the_asked_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    response = gateway.client.post("/login", data={
        "email": " an@example.be ", "password": "pw", "next": "/contracts",
        "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    assert response.headers["location"] == "/contracts"
    cookies = [h for h in response.headers.get_list("set-cookie") if h.startswith("mb_access=")]
    assert len(cookies) == 1
    assert "HttpOnly" in cookies[0] and "samesite=lax" in cookies[0].lower()
    [login] = gateway.rpc.called(auth.LOG_IN)
    assert isinstance(login, auth.LoginRequest) and login.email == "an@example.be"


def test_a_wrong_password_shows_a_readable_message_in_the_users_language(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.LOG_IN, Unauthenticated("Wrong e-mail address or password."))
    response = gateway.client.post("/login", data={
        "email": "an@example.be", "password": "nope", "csrf_token": csrf(gateway)})
    assert response.status_code == 401
    assert "Het e-mailadres of het wachtwoord is niet juist." in response.text
    assert 'value="an@example.be"' in response.text
    assert "mb_access" not in gateway.client.cookies


def test_a_form_posted_without_the_csrf_token_is_refused(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    response = gateway.client.post("/login", data={"email": "a@b.be", "password": "pw"})
    assert response.status_code == 403
    assert "Dit formulier is verlopen" in response.text
    assert gateway.rpc.called(auth.LOG_IN) == []


def test_a_page_of_the_zone_without_a_session_goes_to_the_login(gateway: Gateway) -> None:
    response = gateway.client.get("/contracts")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/contracts"


def test_the_welcome_page_shows_the_active_dossier_and_the_documents_to_sign(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSign(documents=[
        signing.DocumentToSign(signature_request_id="s1", dossier_id="D1", document_id="d1",
                               title="Klantenfiche 2025", requested_at=utc_now())]))
    sign_in(gateway, dossiers=("D1", "D2"))
    page = gateway.client.get("/")
    assert page.status_code == 200
    assert "Welkom, An Peeters" in page.text
    assert "Familie Peeters" in page.text
    assert "Mijn dossiers (2)" in page.text
    assert "Dossier kiezen" in page.text
    assert "Documenten te ondertekenen" in page.text and "Klantenfiche 2025" in page.text
    assert 'href="/contracts?dossier=D1"' in page.text


def test_the_welcome_page_still_opens_when_signing_is_down(gateway: Gateway) -> None:
    gateway.rpc.answer(signing.LIST_DOCUMENTS_TO_SIGN, Unavailable("signing is down"))
    sign_in(gateway)
    page = gateway.client.get("/")
    assert page.status_code == 200
    assert "kunnen nu niet getoond worden" in page.text


def test_my_contracts_lists_policies_with_premium_and_guarantees(gateway: Gateway) -> None:
    sign_in(gateway)
    page = gateway.client.get("/contracts")
    assert page.status_code == 200
    for shown in ("AUTO-2024-0001", "WON-2023-0042", "AG Insurance", "Autoverzekering",
                  "Omnium", "Burgerlijke aansprakelijkheid",
                  'href="/contracts/c1?back=/contracts&amp;dossier=D1"'):
        assert shown in page.text
    assert "€\xa01.234,56" in page.text


def test_my_contracts_in_english_formats_money_the_english_way(gateway: Gateway) -> None:
    sign_in(gateway)
    gateway.client.get("/lang/en")
    page = gateway.client.get("/contracts")
    assert "Policy number" in page.text and "€1,234.56" in page.text


def test_choosing_another_dossier_shows_its_contracts(gateway: Gateway) -> None:
    sign_in(gateway, dossiers=("D1", "D2"))
    response = gateway.client.post("/dossier", data={
        "dossier_id": "D2", "next": "/contracts", "csrf_token": csrf(gateway)})
    assert response.status_code == 303 and response.headers["location"] == "/contracts"
    gateway.client.get("/contracts")
    query = gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)[-1]
    assert isinstance(query, dossier.ListQuery) and query.dossier_id == "D2"


def test_a_dossier_that_is_not_granted_cannot_be_chosen(gateway: Gateway) -> None:
    sign_in(gateway, dossiers=("D1",))
    response = gateway.client.post("/dossier", data={
        "dossier_id": "D2", "csrf_token": csrf(gateway)})
    assert response.status_code == 404
    assert "bestaat niet" in response.text


def test_an_expired_access_token_is_refreshed_without_the_user_noticing(
    gateway: Gateway,
) -> None:
    sign_in(gateway)
    expire_access_cookie(gateway)
    fresh = gateway.key.pair(session_id="s1")
    gateway.rpc.answer(auth.REFRESH, fresh)
    page = gateway.client.get("/contracts")
    assert page.status_code == 200 and "AUTO-2024-0001" in page.text
    assert len(gateway.rpc.called(auth.REFRESH)) == 1
    assert gateway.client.cookies["mb_access"] == fresh.access_token
    assert gateway.client.cookies["mb_refresh"] == fresh.refresh_token


def test_a_refused_refresh_sends_the_user_to_the_login(gateway: Gateway) -> None:
    sign_in(gateway)
    expire_access_cookie(gateway)
    gateway.rpc.answer(auth.REFRESH, Unauthenticated("The session has ended."))
    response = gateway.client.get("/contracts")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "mb_refresh" not in gateway.client.cookies


def test_a_service_that_is_down_gives_a_readable_page_not_a_stack_trace(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.LIST_CONTRACT_PAGE,
                       Unavailable("dossier did not answer within 5 s."))
    sign_in(gateway)
    page = gateway.client.get("/contracts")
    assert page.status_code == 503
    assert "MyBroker is tijdelijk niet beschikbaar" in page.text
    assert "Traceback" not in page.text and "did not answer" not in page.text


def test_logging_out_ends_the_session_and_forgets_the_cookies(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_OUT, Ack())
    sign_in(gateway, session_id="s-web")
    token = gateway.client.cookies["mb_access"]
    response = gateway.client.post("/logout", data={"csrf_token": csrf(gateway)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    [logout] = gateway.rpc.called(auth.LOG_OUT)
    assert isinstance(logout, auth.LogoutRequest) and logout.session_id == "s-web"
    assert "mb_access" not in gateway.client.cookies
    assert gateway.client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401


# --- activation (manual 1.1) ------------------------------------------------------------------

INVITATION = auth.InvitationPreview(email="an.peeters@example.be", display_name="An Peeters",
                                    language="fr")


def test_the_activation_page_shows_the_invited_address_read_only(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, INVITATION)
    page = gateway.client.get("/activate?token=tok1")
    assert page.status_code == 200
    assert 'value="an.peeters@example.be" readonly' in page.text
    # The broker knows the client's language: the page speaks it.
    assert "Activez votre espace client" in page.text
    # The secret link must not leak to other sites, and the form cannot be framed.
    assert page.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(("password", "confirmation", "message"), [
    ("correct horse battery", "correct horse batterz", "ne sont pas identiques"),
    ("short", "short", "au moins 12 caractères"),
])
def test_activation_refuses_passwords_that_do_not_match_or_are_too_short(
    gateway: Gateway, password: str, confirmation: str, message: str
) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, INVITATION)
    gateway.client.get("/activate?token=tok1")
    response = gateway.client.post("/activate", data={
        "token": "tok1", "password": password, "password_confirmation": confirmation,
        "csrf_token": csrf(gateway)})
    assert response.status_code == 422
    assert message in response.text
    assert gateway.rpc.called(auth.ACTIVATE) == []


def test_activation_signs_the_client_in_and_opens_the_welcome_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, INVITATION)
    gateway.rpc.answer(auth.ACTIVATE, gateway.key.pair())
    response = gateway.client.post("/activate", data={
        "token": "tok1", "password": "correct horse battery",
        "password_confirmation": "correct horse battery", "csrf_token": csrf(gateway)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "mb_access" in gateway.client.cookies
    assert gateway.client.get("/").status_code == 200


def test_a_password_auth_refuses_is_explained(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, INVITATION)
    gateway.rpc.answer(auth.ACTIVATE, Invalid("too weak", fields={"password": "too short"}))
    response = gateway.client.post("/activate", data={
        "token": "tok1", "password": "correct horse battery",
        "password_confirmation": "correct horse battery", "csrf_token": csrf(gateway)})
    assert response.status_code == 422
    assert "Dit wachtwoord wordt niet aanvaard" in response.text


def test_a_used_activation_link_says_so(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOOK_UP_INVITATION, Gone("used"))
    page = gateway.client.get("/activate?token=old")
    assert page.status_code == 410
    assert "verlopen of werd al gebruikt" in page.text
    assert "<form method=\"post\" action=\"/activate\"" not in page.text


def test_pages_are_phone_friendly(gateway: Gateway, tmp_path: Path) -> None:
    sign_in(gateway)
    page = gateway.client.get("/")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert 'id="menu-toggle"' in page.text and 'for="menu-toggle"' in page.text
    css = gateway.client.get("/static/mybroker.css")
    assert css.status_code == 200 and ".menu-toggle:checked ~ .sidebar" in css.text
    assert gateway.client.get("/static/htmx.min.js").status_code == 200
