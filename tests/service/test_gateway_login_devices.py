"""The device cookie the gateway gives a browser at a successful login, and the unlock page."""

from libs.contracts import auth, lockout
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone, NotFound, Unauthenticated
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_access import csrf

LOGIN = {"email": "an@example.be", "password": "correct horse battery"}


def device_cookie_header(response_headers: list[tuple[str, str]]) -> str:
    [header] = [value for name, value in response_headers
                if name == "set-cookie" and value.startswith("mb_device=")]
    return header


def sent_device_tokens(gateway: Gateway) -> list[str | None]:
    return [request.device_token for request in gateway.rpc.called(auth.LOG_IN)
            if isinstance(request, auth.LoginRequest)]


def test_a_successful_login_gives_the_browser_a_long_lived_httponly_device_cookie(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    response = gateway.client.post("/api/v1/auth/login", json=LOGIN)
    assert response.status_code == 200
    header = device_cookie_header(response.headers.multi_items()).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert "max-age=31536000" in header
    assert "secure" not in header  # plain HTTP (a dev run): a Secure cookie would be lost
    gateway.client.post("/api/v1/auth/login", json=LOGIN)
    first, second = sent_device_tokens(gateway)
    assert first is not None and first == second  # the browser's device stays the same


def test_a_failed_login_gives_no_device_cookie(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, Unauthenticated("E-mail address or password is wrong."))
    response = gateway.client.post("/api/v1/auth/login", json=LOGIN)
    assert response.status_code == 401
    assert "mb_device" not in response.headers.get("set-cookie", "")
    gateway.client.cookies.set("mb_device", "not-a-device-token")  # made up: replaced
    gateway.client.post("/api/v1/auth/login", json=LOGIN)
    assert sent_device_tokens(gateway)[-1] != "not-a-device-token"


def test_over_https_the_device_cookie_is_secure_even_without_the_setting(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.client.base_url = "https://testserver"  # cookie_secure is off in this gateway
    api = gateway.client.post("/api/v1/auth/login", json=LOGIN)
    assert "secure" in device_cookie_header(api.headers.multi_items()).lower()
    page = gateway.client.post("/login", data={**LOGIN, "csrf_token": csrf(gateway)})
    assert page.status_code == 303
    assert "secure" in device_cookie_header(page.headers.multi_items()).lower()


def test_the_login_page_keeps_the_device_cookie_after_logout(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.rpc.answer(auth.LOG_OUT, Ack())
    response = gateway.client.post("/login", data={**LOGIN, "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    device = gateway.client.cookies["mb_device"]
    gateway.client.post("/logout", data={"csrf_token": csrf(gateway)})
    assert gateway.client.cookies.get("mb_device") == device
    assert "mb_access" not in gateway.client.cookies


def test_an_unknown_unlock_link_says_so(gateway: Gateway) -> None:
    gateway.rpc.answer(lockout.LOOK_UP_UNLOCK, NotFound("This sign-in link does not exist."))
    page = gateway.client.get("/unlock?token=nope")
    assert page.status_code == 404
    assert "Deze aanmeldlink is niet geldig." in page.text


def test_a_spent_unlock_link_offers_a_new_password(gateway: Gateway) -> None:
    gateway.rpc.answer(lockout.LOOK_UP_UNLOCK, Gone("used"))
    gateway.client.cookies.set("mb_lang", "fr")
    page = gateway.client.get("/unlock?token=used")
    assert page.status_code == 410
    assert "Ce lien de connexion a expiré ou a déjà été utilisé." in page.text
    assert 'href="/forgot-password"' in page.text
