"""eID at the gateway: the forwarded client certificate is trusted only from the proxy."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from gateway.config import GatewaySettings
from gateway.eid import from_trusted_proxy
from libs.contracts import auth
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Unauthenticated, Unavailable
from tests.eid_test_ca import as_forwarded_header, citizen_certificate, eid_hierarchy
from tests.service.gateway_support import Gateway, household_rpc, run_gateway

SECRET = "proxy-shared-secret-for-tests"
CARD = as_forwarded_header(citizen_certificate(eid_hierarchy().citizen_ca))
FROM_PROXY = {"X-SSL-Client-Cert": CARD, "X-MyBroker-Proxy-Auth": SECRET}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    yield from run_gateway(tmp_path, household_rpc(), trusted_proxy_secret=SECRET)


def csrf(gateway: Gateway) -> str:
    if "mb_csrf" not in gateway.client.cookies:
        gateway.client.get("/login")
    return str(gateway.client.cookies["mb_csrf"])


def test_the_certificate_from_the_proxy_reaches_auth_and_logs_in(gateway: Gateway) -> None:
    pair = gateway.key.pair()
    gateway.rpc.answer(auth.EID_LOG_IN, auth.EidLoginReply(tokens=pair))
    response = gateway.client.post("/api/v1/auth/eid/login", headers=FROM_PROXY)
    assert response.status_code == 200, response.text
    assert response.json()["tokens"]["access_token"] == pair.access_token
    [request] = gateway.rpc.called(auth.EID_LOG_IN)
    assert isinstance(request, auth.EidLoginRequest)
    assert request.certificate_pem == CARD


def test_a_certificate_header_without_the_proxy_secret_is_refused(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, auth.EidLoginReply(tokens=gateway.key.pair()))
    for headers in ({"X-SSL-Client-Cert": CARD},
                    {"X-SSL-Client-Cert": CARD, "X-MyBroker-Proxy-Auth": "guessed"}):
        response = gateway.client.post("/api/v1/auth/eid/login", headers=headers)
        assert response.status_code == 403
    assert gateway.rpc.called(auth.EID_LOG_IN) == []


def request_from(host: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/eid", "headers": raw,
                    "client": (host, 40000), "query_string": b""})


def test_a_proxy_inside_the_configured_networks_is_trusted_without_the_secret() -> None:
    settings = GatewaySettings(environment="test", trusted_proxy_networks="10.0.0.0/8, ::1")
    assert from_trusted_proxy(request_from("10.20.30.40"), settings)
    assert from_trusted_proxy(request_from("::1"), settings)
    assert not from_trusted_proxy(request_from("192.0.2.1"), settings)


def test_with_a_secret_only_the_secret_proves_the_proxy_not_its_network() -> None:
    """The proxy networks also decide whose X-Forwarded-For counts, so they may be a whole pod
    network: with a secret configured, an address there is no proof for a certificate."""
    settings = GatewaySettings(environment="test", trusted_proxy_secret=SECRET,
                               trusted_proxy_networks="10.244.0.0/16")
    assert not from_trusted_proxy(request_from("10.244.1.23"), settings)
    assert from_trusted_proxy(request_from("10.244.1.23", {"X-MyBroker-Proxy-Auth": SECRET}),
                              settings)


def test_the_secret_is_compared_exactly() -> None:
    settings = GatewaySettings(environment="test", trusted_proxy_secret=SECRET)
    assert from_trusted_proxy(request_from("192.0.2.1", {"X-MyBroker-Proxy-Auth": SECRET}),
                              settings)
    assert not from_trusted_proxy(
        request_from("192.0.2.1", {"X-MyBroker-Proxy-Auth": SECRET[:-1]}), settings)
    assert not from_trusted_proxy(request_from("192.0.2.1"), settings)


def test_nothing_is_trusted_when_nothing_is_configured() -> None:
    settings = GatewaySettings(environment="test")
    assert not from_trusted_proxy(request_from("10.0.0.1", {"X-MyBroker-Proxy-Auth": ""}),
                                  settings)


def test_without_a_card_the_api_answers_401(gateway: Gateway) -> None:
    assert gateway.client.post("/api/v1/auth/eid/login").status_code == 401


def test_a_linked_card_signs_in_on_the_eid_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, auth.EidLoginReply(tokens=gateway.key.pair()))
    response = gateway.client.get("/eid", headers=FROM_PROXY)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "mb_access" in gateway.client.cookies


def test_an_unknown_card_is_asked_for_the_account_address(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, auth.EidLoginReply(
        link_token="link-1", display_name="Lotte Anna Maes"))
    page = gateway.client.get("/eid", headers=FROM_PROXY)
    assert "Welkom, Lotte Anna Maes." in page.text
    gateway.rpc.answer(auth.REQUEST_EID_LINK, Ack())
    done = gateway.client.post("/eid/link", data={
        "link_token": "link-1", "email": "lotte@example.be", "csrf_token": csrf(gateway)})
    assert "Uw makelaar bekijkt uw aanvraag" in done.text


def test_a_refused_card_says_so(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, Unauthenticated("refused"))
    page = gateway.client.get("/eid", headers=FROM_PROXY)
    assert page.status_code == 401
    assert "Met deze eID-kaart kunt u zich niet aanmelden." in page.text


@pytest.mark.parametrize(("refusal", "language", "message"), [
    (auth.EidRefusal.UNTRUSTED, "nl",
     "Deze kaart is niet uitgegeven door een erkende Belgische eID-instantie."),
    (auth.EidRefusal.OUT_OF_DATE, "nl", "Deze eID-kaart is vervallen of nog niet geldig."),
    (auth.EidRefusal.NOT_AN_AUTHENTICATION_CERTIFICATE, "nl",
     "Het verstuurde certificaat is niet het authenticatiecertificaat"),
    (auth.EidRefusal.OUT_OF_DATE, "fr", "Cette carte eID est expirée ou pas encore valable."),
    (auth.EidRefusal.UNTRUSTED, "en",
     "This card was not issued by a recognised Belgian eID authority."),
])
def test_the_eid_page_says_why_the_card_is_refused_in_the_reader_s_language(
    gateway: Gateway, refusal: auth.EidRefusal, language: str, message: str,
) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, Unauthenticated(
        "in English, from auth", fields={auth.EID_REFUSAL_FIELD: refusal.value}))
    gateway.client.get(f"/lang/{language}?next=/login")
    page = gateway.client.get("/eid", headers=FROM_PROXY)
    assert page.status_code == 401
    assert message in page.text.replace("&#39;", "'")
    assert "in English, from auth" not in page.text


def test_a_mistyped_proxy_network_stops_the_start() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        GatewaySettings(environment="test", trusted_proxy_networks="10.0.0.0/33")


@pytest.mark.parametrize("headers", [FROM_PROXY, {}])
def test_when_auth_has_eid_login_off_the_page_says_it_is_not_available(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    """With or without a card (no trust bundle: the proxy may not ask for one at all)."""
    gateway.rpc.answer(auth.EID_LOG_IN, Unavailable("Logging in with eID is not available."))
    page = gateway.client.get("/eid", headers=headers)
    assert page.status_code == 503
    assert "Aanmelden met eID is momenteel niet mogelijk." in page.text
    assert "Er werd geen eID-kaart gevonden" not in page.text


def test_with_eid_on_a_visit_without_a_card_asks_for_the_card(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.EID_LOG_IN, Unauthenticated("No eID card was sent."))
    page = gateway.client.get("/eid")
    assert page.status_code == 401
    assert "Er werd geen eID-kaart gevonden." in page.text
    [request] = gateway.rpc.called(auth.EID_LOG_IN)
    assert isinstance(request, auth.EidLoginRequest) and request.certificate_pem == ""
