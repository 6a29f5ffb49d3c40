"""The message bus's AsyncAPI document is served by the gateway to signed-in staff only: the
bus between the services is no client API."""

from libs.contracts import auth
from libs.contracts.caller import Role
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

ASYNCAPI = "/admin/asyncapi.json"


def test_the_bus_document_is_for_signed_in_staff_only(gateway: Gateway) -> None:
    anonymous = gateway.client.get(ASYNCAPI)
    assert anonymous.status_code in (303, 401) and "auth.rpc.log_in" not in anonymous.text

    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={"email": "an@example.be", "password": "secret",
                                        "csrf_token": csrf(gateway)})
    client = gateway.client.get(ASYNCAPI)
    assert client.status_code == 403 and "auth.rpc.log_in" not in client.text
    bearer = gateway.client.get(ASYNCAPI, headers=gateway.bearer())
    assert bearer.status_code in (303, 401, 403) and "auth.rpc.log_in" not in bearer.text


def test_staff_read_every_rpc_method_and_event_of_the_bus(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    response = gateway.client.get(ASYNCAPI)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["asyncapi"].startswith("3.")
    addresses = {channel.get("address") for channel in document["channels"].values()}
    assert {"auth.rpc.log_in", "dossier.rpc.get_contract", "requests.request.submitted",
            "dossier.dossier.changed", "notifier.rpc.send_sms"} <= addresses
    assert {"LoginRequest", "RequestSubmitted", "DossierChanged"} <= set(
        document["components"]["schemas"])
