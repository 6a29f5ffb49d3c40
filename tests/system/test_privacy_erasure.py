"""Privacy through the gateway, every process running: the access log shows a staff read to the
client, and the erasure of a dossier leaves nothing of it in any database or bucket except the
evidence the law requires (listed in the report); no service keeps a collection the erasure
does not know."""

import asyncio
import copy
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from minio import Minio

from deploy.local.applications import SERVICES
from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer, import_dossier
from libs.servicekit.erasure import ErasureRule
from libs.servicekit.mongo import create_mongo_client
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    new_client,
    staff_log_in,
)

# What the law requires to keep after an erasure (each service's report lists it with why).
EVIDENCE = {("dossier", "erasures"), ("auth", "audit_log"), ("auth", "grant_revocations"),
            ("signing", "audit_records")}


def object_storage(stack: SystemStack) -> Minio:
    """The stack's S3, as an operator would look into it."""
    storage = stack.config.storage
    endpoint = httpx.URL(storage.endpoint)
    return Minio(f"{endpoint.host}:{endpoint.port}", access_key=storage.access_key,
                 secret_key=storage.secret_key, secure=False, region="us-east-1")


def erasure_rules(service: str, database: Any) -> dict[str, ErasureRule]:
    """The registry of a service: each collection with what an erasure does to it."""
    from libs.servicekit.erasure import COMMON_RULES
    from services.auth.privacy import erasure as auth_part
    from services.documents import privacy_erasure as documents_part
    from services.dossier import privacy_erasure as dossier_part
    from services.notifier import privacy_erasure as notifier_part
    from services.requests import privacy_erasure as requests_part
    from services.signing import privacy_erasure as signing_part

    rules: dict[str, dict[str, ErasureRule]] = {
        "auth": auth_part.ERASURE_RULES, "dossier": dossier_part.ERASURE_RULES,
        "documents": documents_part.ERASURE_RULES, "requests": requests_part.ERASURE_RULES,
        "signing": signing_part.erasure_rules(database), "notifier": notifier_part.ERASURE_RULES}
    return {**COMMON_RULES, **rules[service]}


async def _scan(stack: SystemStack, needles: list[str]) -> dict[str, list[str]]:
    """Per `service.collection`, the needles found in its documents (every database)."""
    client = create_mongo_client(stack.config.mongo_url)
    pattern = re.compile("|".join(re.escape(needle) for needle in needles))
    found: dict[str, list[str]] = {}
    try:
        for service in SERVICES:
            database = client[f"{stack.config.mongo_db_prefix}_{service}"]
            for name in await database.list_collection_names():
                async for doc in database[name].find({}):
                    text = json.dumps(doc, default=str, ensure_ascii=False)
                    hits = sorted(set(pattern.findall(text)))
                    if hits:
                        found.setdefault(f"{service}.{name}", []).extend(hits)
    finally:
        await client.close()
    return found


def _national_number(serial: int) -> str:
    """A valid Belgian national number of someone born on 8 November 1990 (check digits)."""
    base = f"901108{serial:03d}"
    check = 97 - int(base) % 97
    return f"90.11.08-{serial:03d}.{check:02d}"


def _a_dossier_of_its_own() -> dict[str, Any]:
    """The Peeters fixture under a new number, with persons nobody else is (names, numbers)."""
    dossier = copy.deepcopy(fixture_dossier("peeters"))
    suffix = uuid.uuid4().hex[:6]
    dossier["dossier_id"] = f"DOS-ERASE-{suffix}"
    dossier["name"] = f"Vergeten {suffix}"
    for position, person in enumerate(dossier["persons"]):
        person["first_name"] = f"Wis{suffix}"
        person["last_name"] = f"Vergeetmij{position}{suffix}"
        if person.get("national_number"):
            person["national_number"] = _national_number(int(suffix, 16) % 900 + 100)
    return dossier


def test_the_client_sees_a_staff_read_of_their_dossier_within_a_second(
    system_stack: SystemStack, gateway: httpx.Client, peeters_client: ClientLogin,
    dupont_client: ClientLogin, staff_token: str,
) -> None:
    client = bearer(peeters_client.log_in(gateway))
    before = gateway.get(f"/api/v1/dossiers/{PEETERS}/access-log", headers=client)
    assert before.status_code == 200, before.text
    seen = {(read["at"], read["what"]) for read in before.json()["reads"]}

    read = gateway.get(f"/admin/api/v1/dossiers/{PEETERS}", headers=bearer(staff_token))
    assert read.status_code == 200, read.text
    read_at = time.monotonic()
    new: list[dict[str, Any]] = []
    while not new and time.monotonic() - read_at < 1.0:
        listed = gateway.get(f"/api/v1/dossiers/{PEETERS}/access-log", headers=client).json()
        new = [entry for entry in listed["reads"] if (entry["at"], entry["what"]) not in seen]
    assert new, "the staff read was not in the client's access log within a second"
    assert new[0]["what"] == "/admin/api/v1/dossiers/{dossier_id}"
    assert new[0]["staff_name"]  # the office admin's name, not an id
    assert "client_ip" not in new[0] and "staff_id" not in new[0]

    # Another client may not read this dossier's log; the office admin reads every log.
    other = bearer(dupont_client.log_in(gateway))
    assert gateway.get(f"/api/v1/dossiers/{PEETERS}/access-log",
                       headers=other).status_code == 404
    office = gateway.get("/admin/api/v1/access-log", params={"dossier_id": PEETERS},
                         headers=bearer(staff_token)).json()
    assert office["reads"][0]["route_kind"] == "/admin/api/v1/dossiers/{dossier_id}"
    assert office["reads"][0]["client_ip"]


def test_a_staff_read_of_a_request_detail_shows_in_its_dossiers_access_log(
    system_stack: SystemStack, gateway: httpx.Client, peeters_client: ClientLogin,
    dupont_client: ClientLogin, staff_token: str,
) -> None:
    """The request's address names no dossier: the route tells the log which one it showed."""
    client = bearer(peeters_client.log_in(gateway))
    sent = gateway.post(f"/api/v1/dossiers/{PEETERS}/messages", headers={
        **client, "Idempotency-Key": uuid.uuid4().hex},
        json={"subject": f"Vraag {uuid.uuid4().hex[:6]}", "body": "Wie leest dit?"})
    assert sent.status_code == 201, sent.text
    request_id = sent.json()["request_id"]
    before = gateway.get(f"/api/v1/dossiers/{PEETERS}/access-log", headers=client).json()
    seen = {(read["at"], read["what"]) for read in before["reads"]}

    read = gateway.get(f"/admin/api/v1/requests/{request_id}", headers=bearer(staff_token))
    assert read.status_code == 200, read.text
    read_at = time.monotonic()
    new: list[dict[str, Any]] = []
    while not new and time.monotonic() - read_at < 1.0:
        listed = gateway.get(f"/api/v1/dossiers/{PEETERS}/access-log", headers=client).json()
        new = [entry for entry in listed["reads"] if (entry["at"], entry["what"]) not in seen
               and entry["what"] == "/admin/api/v1/requests/{request_id}"]
    assert new, "the staff read of the request was not in the client's log within a second"
    # The other client's dossier does not get it.
    other = bearer(dupont_client.log_in(gateway))
    theirs = gateway.get(f"/api/v1/dossiers/{DUPONT}/access-log", headers=other)
    assert "/admin/api/v1/requests/{request_id}" not in {
        entry["what"] for entry in theirs.json().get("reads", [])}


def test_erasing_a_dossier_leaves_nothing_of_it_but_the_listed_evidence(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    admin = bearer(staff_log_in(system_stack, gateway))
    dossier = _a_dossier_of_its_own()
    dossier_id = dossier["dossier_id"]
    import_dossier(gateway, admin["Authorization"].split()[1], dossier)
    person = dossier["persons"][0]
    client_name = f"{person['first_name']} {person['last_name']}"
    client_login = new_client(system_stack, gateway, client_name, [dossier_id])
    client = bearer(client_login.log_in(gateway))
    published = gateway.post(
        f"/admin/api/v1/dossiers/{dossier_id}/documents", headers=admin,
        data={"title": f"Polis van {client_name}"},
        files={"file": ("polis.pdf", text_pdf("Polis", [client_name]), "application/pdf")})
    assert published.status_code == 201, published.text
    sent = gateway.post(f"/api/v1/dossiers/{dossier_id}/messages",
                        headers={**client, "Idempotency-Key": uuid.uuid4().hex},
                        json={"subject": "Vraag", "body": f"Groeten, {client_name}"})
    assert sent.status_code == 201, sent.text
    assert gateway.get(f"/admin/api/v1/dossiers/{dossier_id}", headers=admin).status_code == 200
    needles = [dossier_id, person["last_name"], *(p["national_number"]
                                                  for p in dossier["persons"]
                                                  if p.get("national_number"))]
    assert "dossier.dossiers" in asyncio.run(_scan(system_stack, needles))

    # An agent may not erase; an unknown dossier is not found.
    agent_email = f"agent.{uuid.uuid4().hex[:6]}@mybroker.example"
    created = gateway.post("/admin/api/v1/staff", headers=admin, json={
        "email": agent_email, "display_name": "Agent Erasure", "role": "agent",
        "password": "Zeer-lang-wachtwoord-voor-een-agent-42"})
    assert created.status_code == 201, created.text
    agent = bearer(httpx.post(f"{system_stack.gateway_url}/api/v1/auth/login", json={
        "email": agent_email, "password": "Zeer-lang-wachtwoord-voor-een-agent-42"},
        timeout=30).json()["access_token"])
    assert gateway.post(f"/admin/api/v1/dossiers/{dossier_id}/erasure",
                        headers=agent).status_code == 403
    assert gateway.post("/admin/api/v1/dossiers/DOS-NOBODY-0000/erasure",
                        headers=admin).status_code == 404

    started = gateway.post(f"/admin/api/v1/dossiers/{dossier_id}/erasure", headers=admin)
    assert started.status_code == 202, started.text
    again = gateway.post(f"/admin/api/v1/dossiers/{dossier_id}/erasure", headers=admin)
    assert again.json()["erasure_id"] == started.json()["erasure_id"]  # idempotent
    deadline = time.monotonic() + 60
    report: dict[str, Any] = started.json()
    while report["state"] != "finished" and time.monotonic() < deadline:
        time.sleep(0.5)
        report = gateway.get(f"/admin/api/v1/dossiers/{dossier_id}/erasure",
                             headers=admin).json()
    assert report["state"] == "finished", report
    by_service = {entry["service"]: entry for entry in report["services"]}
    assert by_service["dossier"]["deleted"]["dossiers"] == 1
    assert by_service["documents"]["deleted"]["documents"] == 1
    assert by_service["documents"]["deleted"]["bucket_objects"] >= 1
    assert by_service["requests"]["deleted"]["requests"] == 1
    assert by_service["auth"]["deleted"]["users"] == 1  # the account had only this dossier
    kept = {(service, item["collection"]) for service, entry in by_service.items()
            for item in entry["kept"]}
    assert kept <= EVIDENCE and all(item["reason"] for entry in report["services"]
                                    for item in entry["kept"])

    # The client's login went with its only dossier.
    assert httpx.post(f"{system_stack.gateway_url}/api/v1/auth/login", json={
        "email": client_login.email, "password": client_login.password},
        timeout=30).status_code == 401
    # Nothing of it in any database (asynchronous notices land within seconds) or the bucket.
    deadline = time.monotonic() + 20
    left = asyncio.run(_scan(system_stack, needles))
    while any(place for place in left if tuple(place.split(".", 1)) not in EVIDENCE) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
        left = asyncio.run(_scan(system_stack, needles))
    assert {place: hits for place, hits in left.items()
            if tuple(place.split(".", 1)) not in EVIDENCE} == {}
    assert not any(hit != dossier_id for place, hits in left.items() for hit in hits), left
    bucket = object_storage(system_stack).list_objects(
        system_stack.config.s3_bucket, recursive=True)
    assert [item.object_name for item in bucket
            if dossier_id in str(item.object_name)] == []


async def _collections_and_rules(stack: SystemStack, service: str
                                 ) -> tuple[set[str], set[str]]:
    client = create_mongo_client(stack.config.mongo_url)
    try:
        database = client[f"{stack.config.mongo_db_prefix}_{service}"]
        return set(await database.list_collection_names()), set(erasure_rules(service, database))
    finally:
        await client.close()


@pytest.mark.parametrize("service", SERVICES)
def test_every_collection_a_service_keeps_has_an_erasure_rule(
    system_stack: SystemStack, gateway: httpx.Client, service: str,
) -> None:
    # The stack has run the other tests of the session, or at least started: its databases
    # hold the collections the services really make.
    actual, covered = asyncio.run(_collections_and_rules(system_stack, service))
    assert actual, f"{service} has no collection at all: the stack did not start"
    assert actual - covered == set(), (
        f"{service} stores collections no erasure rule covers: {sorted(actual - covered)}")
