"""The event contract on the running system: every event the services' outboxes publish while
the office and a client work is listed by the AsyncAPI document the gateway serves to staff."""

import time
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.applications import SERVICES
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.system

PUBLISHED = "mybroker_outbox_events_published_total"
# What this run makes happen: a dossier import, a client's invitation, a client's message.
EXPECTED = {"dossier.dossier.imported", "auth.invitation.created", "requests.request.submitted"}


def published_routing_keys(stack: SystemStack) -> set[str]:
    """Routing keys every service's outbox relay has published so far (its metrics say)."""
    keys: set[str] = set()
    for service in SERVICES:
        url = f"http://127.0.0.1:{stack.config.health_ports[service]}/metrics"
        for family in text_string_to_metric_families(httpx.get(url, timeout=5.0).text):
            keys.update(sample.labels["routing_key"] for sample in family.samples
                        if sample.name == PUBLISHED and sample.value > 0)
    return keys


def sent_addresses(document: dict[str, Any]) -> set[str]:
    """The routing keys the AsyncAPI document lists as published."""
    return {document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
            for operation in document["operations"].values() if operation["action"] == "send"}


def test_every_event_published_in_a_run_is_in_the_served_asyncapi_document(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
    dupont_client: ClientLogin,
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    sent = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers=client, json={
        "subject": f"Contract ({uuid.uuid4().hex[:6]})", "body": "Wat dekt mijn polis?"})
    assert sent.status_code == 201, sent.text
    deadline = time.monotonic() + 20
    while not (published := published_routing_keys(system_stack)) >= EXPECTED:
        assert time.monotonic() < deadline, f"not relayed: {EXPECTED - published}"
        time.sleep(0.2)

    with httpx.Client(base_url=system_stack.gateway_url, cookies={"mb_access": staff_token},
                      timeout=30.0) as staff_browser:
        response = staff_browser.get("/admin/asyncapi.json")
    assert response.status_code == 200, response.text
    undocumented = published - sent_addresses(response.json())
    assert undocumented == set(), f"published but not in the AsyncAPI document: {undocumented}"
