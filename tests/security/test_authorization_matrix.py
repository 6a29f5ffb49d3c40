"""Authorization matrix: every gateway route that takes an id, called by every kind of caller.

The routes come from the gateway's own route table, so a new route that takes an id fails
`test_every_route_that_takes_an_id_is_in_the_matrix` until it is given its expectations here.
Each client route is called, on the real processes, as the owner of the object, as a client of
another dossier, as a co-user of a dossier the owner shares (who must still not see the owner's
other dossier), as the office admin and an agent (the client API holds no staff dossiers), and
anonymously; and as the owner with the id of an object of another dossier in their own path.
Every refusal of an object that is not the caller's must be indistinguishable from the answer
for an object that does not exist: same status, same problem (but for its correlation id).
"""

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import Image

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate, publish_document
from tests.gateway_routes import gateway_routes
from tests.system.stack import (
    ClientLogin,
    SystemStack,
    fixture_dossier,
    new_client,
    staff_log_in,
)

pytestmark = pytest.mark.system

DUPONT = fixture_dossier("dupont")["dossier_id"]
PEETERS = fixture_dossier("peeters")["dossier_id"]
MISSING_DOSSIER = "DOS-1999-00001"
MISSING_ID = "X-NOT-THERE-1"

# The client API and pages: path parameter -> the kind of object it names.
OBJECT_PARAMETERS = {"contract_id": "contract", "claim_id": "claim",
                     "risk_object_id": "risk_object", "document_id": "document",
                     "person_id": "person", "request_id": "request"}
CLIENT_API_READS = {
    "/api/v1/dossiers/{dossier_id}/claims",
    "/api/v1/dossiers/{dossier_id}/claims/{claim_id}",
    "/api/v1/dossiers/{dossier_id}/client-sheet",
    "/api/v1/dossiers/{dossier_id}/contract-pages",
    "/api/v1/dossiers/{dossier_id}/contracts",
    "/api/v1/dossiers/{dossier_id}/contracts/{contract_id}",
    "/api/v1/dossiers/{dossier_id}/documents",
    "/api/v1/dossiers/{dossier_id}/documents-to-sign",
    "/api/v1/dossiers/{dossier_id}/documents/{document_id}/content",
    "/api/v1/dossiers/{dossier_id}/documents/{document_id}/thumbnail",
    "/api/v1/dossiers/{dossier_id}/documents/{document_id}/view",
    "/api/v1/dossiers/{dossier_id}/invoices",
    "/api/v1/dossiers/{dossier_id}/persons",
    "/api/v1/dossiers/{dossier_id}/requests",
    "/api/v1/dossiers/{dossier_id}/requests/{request_id}",
    "/api/v1/dossiers/{dossier_id}/risk-objects",
    "/api/v1/dossiers/{dossier_id}/risk-objects/{risk_object_id}",
    "/api/v1/dossiers/{dossier_id}/access-log",
}
# Writes: only the refusals are called (the owner's own writes are tested with each feature).
CLIENT_API_WRITES: dict[str, dict[str, Any]] = {
    "/api/v1/dossiers/{dossier_id}/client-sheet": {"json": {
        "questionnaire_version": 1, "answers": {"profession": "matrix"}}},
    "/api/v1/dossiers/{dossier_id}/documents": {"data": {"title": "matrix"}, "files": {
        "file": ("matrix.txt", b"matrix\n", "text/plain")}},
    "/api/v1/dossiers/{dossier_id}/messages": {"json": {"subject": "matrix", "body": "matrix"}},
    "/api/v1/dossiers/{dossier_id}/requests/{request_id}/replies": {"json": {"body": "matrix"}},
}
# The forms' routes take a form kind beside the dossier (and `about`, an object id, in their
# query): test_a_clients_forms_and_drafts_answer_their_owner_only calls each.
FORM_ROUTES = {
    ("POST", "/api/v1/dossiers/{dossier_id}/forms/{kind}"),
    ("GET", "/api/v1/dossiers/{dossier_id}/forms/{kind}/context"),
    ("GET", "/api/v1/dossiers/{dossier_id}/drafts"),
    ("GET", "/api/v1/dossiers/{dossier_id}/drafts/{kind}"),
    ("PUT", "/api/v1/dossiers/{dossier_id}/drafts/{kind}"),
    ("DELETE", "/api/v1/dossiers/{dossier_id}/drafts/{kind}"),
}
CLIENT_PAGES = {"/claims/{claim_id}", "/contracts/{contract_id}", "/risks/{risk_object_id}",
                "/documents/{document_id}", "/documents/{document_id}/file",
                "/requests/{request_id}", "/forms/personal-data/{person_id}",
                "/forms/claim/contracts/{contract_id}",
                "/forms/claim/risk-objects/{risk_object_id}"}
# Live streams (server-sent events): they never end by themselves, so only their answer's start.
CLIENT_STREAMS = {"/api/v1/dossiers/{dossier_id}/requests/events"}
# Page forms that take an id: only the refusals are posted.
CLIENT_PAGE_WRITES = {"/requests/{request_id}/replies"}
# The request forms' posts (a page form: CSRF field and cookie), only their refusals.
MATRIX_CSRF = "matrix-csrf-token"
CLAIM_POST: dict[str, Any] = {
    "data": {"csrf_token": MATRIX_CSRF, "idempotency_key": "matrix-claim-0001",
             "loss_date": "2026-01-02", "loss_time": "10:00", "description": "Matrix"},
    "files": {"attachment": ("matrix.txt", b"matrix\n", "text/plain")}}
FORM_PAGE_WRITES: dict[str, dict[str, Any]] = {
    "/forms/personal-data/{person_id}": {"data": {
        "csrf_token": MATRIX_CSRF, "idempotency_key": "matrix-person-0001",
        "last_name": "Matrix", "first_name": "Matrix"}},
    "/forms/claim/contracts/{contract_id}": CLAIM_POST,
    "/forms/claim/risk-objects/{risk_object_id}": CLAIM_POST,
}
# Public by design: a secret token is the id (proven in the access tests), or a language.
PUBLIC_ROUTES = {"/api/v1/auth/invitations/{token}", "/api/v1/auth/password-reset/{token}",
                 "/api/v1/auth/registrations/{token}", "/api/v1/auth/unlock/{token}",
                 "/lang/{language}", "/api/docs/assets/{name}"}
# A signer's routes: the id is a signature request's, offered to some persons of a dossier.
SIGNER_READS = {"/api/v1/signature-requests/{signature_id}",
                "/api/v1/signature-requests/{signature_id}/signed-document",
                "/signing/{signature_id}", "/signing/{signature_id}/signed",
                # the mobile signature
                "/api/v1/signature-requests/{signature_id}/mobile",
                "/signing/{signature_id}/mobile", "/signing/{signature_id}/mobile/status"}
_ENROLMENT = "matrix1"
SIGNER_WRITES: dict[str, dict[str, Any]] = {
    "/api/v1/signature-requests/{signature_id}/sign": {"json": {"approved": True}},
    "/api/v1/signature-requests/{signature_id}/refuse": {"json": {"reason": "matrix"}},
    "/signing/{signature_id}": {"data": {"approved": "yes"}},
    "/signing/{signature_id}/refuse": {"data": {"reason": "matrix"}},
    # the mobile signature: each step names the request first (an enrolment of nobody here)
    "/api/v1/signature-requests/{signature_id}/mobile/enrolment": {"json": {}},
    "/api/v1/signature-requests/{signature_id}/mobile/enrolment/code": {
        "json": {"enrolment_id": _ENROLMENT, "code": "123456"}},
    "/api/v1/signature-requests/{signature_id}/mobile/enrolment/id-card": {
        "data": {"enrolment_id": _ENROLMENT},
        "files": {"photo": ("card.jpg", b"not a photo", "image/jpeg")}},
    "/api/v1/signature-requests/{signature_id}/mobile/enrolment/finish": {
        "json": {"enrolment_id": _ENROLMENT, "pin": "58203", "public_key": "AAAA"}},
    "/api/v1/signature-requests/{signature_id}/mobile/challenge": {
        "json": {"enrolment_id": _ENROLMENT, "pin": "58203"}},
    "/api/v1/signature-requests/{signature_id}/mobile/sign": {
        "json": {"enrolment_id": _ENROLMENT, "nonce": "n", "signature": "AAAA"}},
    "/signing/{signature_id}/mobile/enrolment": {"data": {}},
    "/signing/{signature_id}/mobile/code": {"data": {"enrolment_id": _ENROLMENT,
                                                      "code": "123456"}},
    "/signing/{signature_id}/mobile/id-card": {"data": {"enrolment_id": _ENROLMENT}},
    "/signing/{signature_id}/mobile/finish": {"data": {"enrolment_id": _ENROLMENT,
                                                        "pin": "58203", "public_key": "AAAA"}},
    "/signing/{signature_id}/mobile/challenge": {"data": {"enrolment_id": _ENROLMENT,
                                                           "pin": "58203"}},
    "/signing/{signature_id}/mobile/sign": {"data": {"enrolment_id": _ENROLMENT, "nonce": "n",
                                                      "signature": "AAAA"}},
}
# A client's data export: the id is an export's, which answers its account only (a client of
# the same dossier included); anyone else gets what a missing id gets.
EXPORT_READS = {"/api/v1/privacy/exports/{export_id}",
                "/api/v1/privacy/exports/{export_id}/download"}
EXPORT_PAGES = {"/privacy/exports/{export_id}/download"}
# The office settings (no id in their paths: one office): staff read them, only the office
# admin changes them; a client and a stranger get nothing. Page posts carry a valid CSRF pair,
# so the refusal is the role's.
OFFICE_READS = {"/admin/api/v1/office", "/admin/office"}
OFFICE_WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/admin/api/v1/office"): {"json": {"name": "Matrix"}},
    ("POST", "/admin/api/v1/office/logo"): {
        "files": {"file": ("logo.png", b"\x89PNG\r\n\x1a\n", "image/png")}},
    ("POST", "/admin/api/v1/office/logo/remove"): {"json": {"expected_version": 0}},
    ("POST", "/admin/office"): {"data": {"csrf_token": MATRIX_CSRF, "expected_version": "0",
                                         "name": "Matrix"}},
    ("POST", "/admin/office/logo"): {
        "data": {"csrf_token": MATRIX_CSRF},
        "files": {"file": ("logo.png", b"\x89PNG\r\n\x1a\n", "image/png")}},
    ("POST", "/admin/office/logo/remove"): {"data": {"csrf_token": MATRIX_CSRF,
                                                     "expected_version": "0"}},
}
# Erasing a client account: the office admin only (the API and the accounts page's form,
# which carries a valid CSRF pair and the typed address, so the refusal is the role's).
ACCOUNT_ERASURES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/admin/api/v1/accounts/{user_id}/erasure"): {},
    ("POST", "/admin/users/{user_id}/erasure"): {"data": {"csrf_token": MATRIX_CSRF}},
}
HOSTILE_IDS = ("$where", "..%2F..%2Fadmin", "a" * 5000, "%00", "DOS-2019-00417%20")


def id_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the gateway whose path takes a parameter."""
    return {(method, path) for method, path, _ in gateway_routes() if "{" in path}


@dataclass(frozen=True)
class Office:
    """The callers and objects of the matrix."""

    gateway: httpx.Client
    owner: str  # Pieter: Dupont and the shared dossier
    other: str  # An: Peeters only
    co_user: str  # Luc: Peeters and the shared dossier (never Dupont)
    admin: str
    agent: str
    own: dict[str, str]  # object kind -> an id of the Dupont dossier
    foreign: dict[str, str]  # object kind -> an id of another dossier


@pytest.fixture(scope="module")
def office(system_stack: SystemStack) -> Iterator[Office]:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        admin = staff_log_in(system_stack, gateway)
        shared = fixture_dossier("peeters")
        shared.update(dossier_id=f"DOS-2099-{uuid.uuid4().int % 100000:05d}", name="Gedeeld",
                      claims=[{"claim_id": "S-SHARED-1", "claim_number": "SCH-1",
                               "contract_id": "C-01288-HUUR", "occurred_on": "2025-01-02",
                               "description": "Waterschade"}])
        for dossier in (fixture_dossier("dupont"), fixture_dossier("peeters"), shared):
            import_dossier(gateway, admin, dossier)
        photo = BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, format="PNG")
        own_document = publish_document(gateway, admin, DUPONT, "Foto", "foto.png",
                                        photo.getvalue(), "image/png")
        pdf = text_pdf("Matrix", ["Een document voor de matrix"])
        foreign_document = publish_document(gateway, admin, PEETERS, "Ander", "ander.pdf", pdf)
        agent_email = f"agent.{uuid.uuid4().hex[:6]}@mybroker.example"
        gateway.post("/admin/api/v1/staff", headers=bearer(admin), json={
            "email": agent_email, "display_name": "Agent Matrix", "role": "agent",
            "password": "matrix agent password 1"}).raise_for_status()
        agent = gateway.post("/api/v1/auth/login", json={
            "email": agent_email, "password": "matrix agent password 1"}).json()["access_token"]
        owner = new_client(system_stack, gateway, "Pieter Matrix", [DUPONT, shared["dossier_id"]])
        owner_token = owner.log_in(gateway)
        wait_for_thumbnail(gateway, owner_token, own_document["document_id"])
        other = new_client(system_stack, gateway, "An Matrix", [PEETERS])
        other_token = other.log_in(gateway)
        co_user = new_client(system_stack, gateway, "Luc Matrix", [PEETERS, shared["dossier_id"]])
        own_request = sent_message(gateway, owner_token, DUPONT)
        foreign_request = sent_message(gateway, other_token, PEETERS)
        yield Office(
            gateway=gateway, owner=owner_token, other=other_token,
            co_user=co_user.log_in(gateway), admin=admin, agent=agent,
            own={"contract": "C-00417-AUTO", "claim": "S-00417-1", "risk_object": "R-00417-1",
                 "document": own_document["document_id"], "person": "P-00417-1",
                 "request": own_request},
            foreign={"contract": "C-01288-HUUR", "claim": "S-SHARED-1",
                     "risk_object": "R-01288-1", "document": foreign_document["document_id"],
                     "person": "P-01288-1", "request": foreign_request})


def sent_message(gateway: httpx.Client, token: str, dossier_id: str) -> str:
    """The id of a message the client sends in `dossier_id`."""
    sent = gateway.post(f"/api/v1/dossiers/{dossier_id}/messages", headers=bearer(token),
                        json={"subject": "Matrix", "body": "Een vraag voor de matrix"})
    assert sent.status_code == 201, sent.text
    request_id: str = sent.json()["request_id"]
    return request_id


def wait_for_thumbnail(gateway: httpx.Client, owner: str, document_id: str) -> None:
    """Images get their thumbnail a moment after they are published."""
    thumbnail = f"/api/v1/dossiers/{DUPONT}/documents/{document_id}/thumbnail"
    for _ in range(150):
        if gateway.get(thumbnail, headers=bearer(owner)).status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the photo got no thumbnail within 15 s")


def fill(path: str, dossier_id: str, objects: dict[str, str]) -> str:
    """`path` with its dossier and object parameters filled in."""
    filled = path.replace("{dossier_id}", dossier_id)
    for parameter, kind in OBJECT_PARAMETERS.items():
        filled = filled.replace("{" + parameter + "}", objects[kind])
    return filled


def problem(response: httpx.Response) -> tuple[int, Any]:
    """What a refusal tells: its status and problem, less what differs per request."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text
    if isinstance(body, dict):
        body = {key: value for key, value in body.items()
                if key not in ("instance", "correlation_id", "trace_id")}
    return response.status_code, body


def test_every_route_that_takes_an_id_is_in_the_matrix() -> None:
    known = {("GET", path) for path in
             CLIENT_API_READS | CLIENT_PAGES | PUBLIC_ROUTES | CLIENT_STREAMS}
    known |= {("POST", path) for path in {*CLIENT_API_WRITES, *CLIENT_PAGE_WRITES,
                                          *FORM_PAGE_WRITES}}
    known |= FORM_ROUTES
    known |= {("GET", path) for path in SIGNER_READS} | {("POST", path) for path in SIGNER_WRITES}
    known |= {("GET", path) for path in EXPORT_READS | EXPORT_PAGES}
    unlisted = {(method, path) for method, path in id_routes()
                if (method, path) not in known and not path.startswith("/admin/")}
    assert unlisted == set(), f"give these routes their matrix expectations: {sorted(unlisted)}"


@pytest.mark.parametrize("path", sorted(CLIENT_API_READS))
def test_a_client_api_read_answers_its_owner_only(office: Office, path: str) -> None:
    gateway = office.gateway
    owned = gateway.get(fill(path, DUPONT, office.own), headers=bearer(office.owner))
    assert owned.status_code == 200, owned.text
    missing = problem(gateway.get(fill(path, MISSING_DOSSIER, office.own),
                                  headers=bearer(office.owner)))
    assert missing[0] == 404
    for caller in (office.other, office.co_user, office.admin, office.agent):
        refused = gateway.get(fill(path, DUPONT, office.own), headers=bearer(caller))
        assert problem(refused) == missing, refused.text
    assert gateway.get(fill(path, DUPONT, office.own)).status_code == 401
    if any("{" + parameter + "}" in path for parameter in OBJECT_PARAMETERS):
        absent = problem(gateway.get(fill(path, DUPONT, dict.fromkeys(office.own, MISSING_ID)),
                                     headers=bearer(office.owner)))
        assert absent[0] == 404
        elsewhere = gateway.get(fill(path, DUPONT, office.foreign), headers=bearer(office.owner))
        assert problem(elsewhere) == absent, elsewhere.text


@pytest.mark.parametrize("path", sorted(CLIENT_API_WRITES))
def test_a_client_api_write_into_another_dossier_is_refused_and_stores_nothing(
    office: Office, path: str
) -> None:
    gateway = office.gateway
    before = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))
    documents = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents", headers=bearer(office.owner))
    missing = problem(gateway.post(fill(path, MISSING_DOSSIER, office.own),
                                   headers=bearer(office.owner), **CLIENT_API_WRITES[path]))
    assert missing[0] == 404
    for caller in (office.other, office.co_user, office.admin, office.agent):
        refused = gateway.post(fill(path, DUPONT, office.own), headers=bearer(caller),
                               **CLIENT_API_WRITES[path])
        assert problem(refused) == missing, refused.text
    assert gateway.post(fill(path, DUPONT, office.own),
                        **CLIENT_API_WRITES[path]).status_code == 401
    after = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))
    assert after.json() == before.json()
    assert gateway.get(f"/api/v1/dossiers/{DUPONT}/documents",
                       headers=bearer(office.owner)).json()["total"] == documents.json()["total"]


def test_a_clients_forms_and_drafts_answer_their_owner_only(office: Office) -> None:
    gateway = office.gateway
    base = f"/api/v1/dossiers/{DUPONT}"
    missing_base = f"/api/v1/dossiers/{MISSING_DOSSIER}"
    draft: dict[str, Any] = {"json": {"data": {"description": "matrix"}}}
    claim: dict[str, Any] = {"json": {"form": {"loss_date": "2026-01-02", "loss_time": "10:00",
                               "description": "matrix", "risk_object_ids": ["R-00417-1"]}}}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "/drafts/claim", draft), ("GET", "/drafts/claim", {}), ("GET", "/drafts", {}),
        ("GET", "/forms/claim/context", {}),
        ("GET", "/forms/claim/context?about=risk_object:R-00417-1", {}),
        ("GET", "/forms/personal_data/context", {}), ("DELETE", "/drafts/claim", {}),
        ("POST", "/forms/claim", claim)]
    requests_before = gateway.get(f"{base}/requests", headers=bearer(office.owner)).json()
    for method, path, arguments in calls:
        missing = problem(gateway.request(method, missing_base + path,
                                          headers=bearer(office.owner), **arguments))
        assert missing[0] == 404, (method, path, missing)
        for caller in (office.other, office.co_user, office.admin, office.agent):
            refused = gateway.request(method, base + path, headers=bearer(caller), **arguments)
            assert problem(refused) == missing, (method, path, refused.text)
        assert gateway.request(method, base + path, **arguments).status_code == 401
    assert gateway.get(f"{base}/requests", headers=bearer(office.owner)).json() == \
        requests_before
    # The owner's own: the draft round trip, and an object of another dossier as the origin
    # is "not found" like a missing one.
    saved = gateway.put(f"{base}/drafts/claim", headers=bearer(office.owner), **draft)
    assert saved.status_code == 200, saved.text
    assert gateway.get(f"{base}/drafts/claim", headers=bearer(office.owner)).json()["data"] == \
        {"description": "matrix"}
    assert gateway.delete(f"{base}/drafts/claim", headers=bearer(office.owner)).is_success
    absent = problem(gateway.get(f"{base}/forms/claim/context?about=risk_object:{MISSING_ID}",
                                 headers=bearer(office.owner)))
    assert absent[0] == 404
    elsewhere = gateway.get(
        f"{base}/forms/claim/context?about=risk_object:{office.foreign['risk_object']}",
        headers=bearer(office.owner))
    assert problem(elsewhere) == absent, elsewhere.text
    for about in (f"contract:{office.foreign['contract']}", f"contract:{MISSING_ID}"):
        assert gateway.get(f"{base}/forms/claim/context?about={about}",
                           headers=bearer(office.owner)).status_code == 404


@pytest.mark.parametrize("path", sorted(CLIENT_PAGES))
def test_a_client_page_shows_its_owner_only(office: Office, path: str) -> None:
    gateway = office.gateway
    address = fill(path, "", office.own)

    def page(token: str | None, query: str = "") -> httpx.Response:
        cookies = {"mb_access": token} if token else {}
        return httpx.get(f"{gateway.base_url}{address}{query}", cookies=cookies, timeout=30.0)

    assert page(office.owner).status_code == 200
    for caller in (office.other, office.co_user):
        assert page(caller).status_code == 404
        assert page(caller, f"?dossier={DUPONT}").status_code == 404
    for staff in (office.admin, office.agent):
        shown = page(staff)
        assert shown.status_code in (303, 403, 404)
        assert "AU-7712.345.219" not in shown.text
    anonymous = page(None)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", sorted(FORM_PAGE_WRITES))
def test_a_request_form_about_another_dossiers_object_is_refused_and_sends_nothing(
    office: Office, path: str
) -> None:
    gateway = office.gateway
    before = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))

    def post(token: str, objects: dict[str, str], query: str = "") -> httpx.Response:
        return httpx.post(f"{gateway.base_url}{fill(path, '', objects)}{query}",
                          cookies={"mb_access": token, "mb_csrf": MATRIX_CSRF}, timeout=30.0,
                          **FORM_PAGE_WRITES[path])

    absent = post(office.owner, dict.fromkeys(office.own, MISSING_ID))
    assert absent.status_code == 404
    elsewhere = post(office.owner, office.foreign)
    shown = elsewhere.text
    for foreign in office.foreign.values():  # the page names its own address (language links)
        shown = shown.replace(foreign, MISSING_ID)
    assert elsewhere.status_code == 404 and shown == absent.text
    for caller in (office.other, office.co_user):
        assert post(caller, office.own).status_code == 404
        assert post(caller, office.own, f"?dossier={DUPONT}").status_code == 404
    for staff in (office.admin, office.agent):
        assert post(staff, office.own).status_code in (403, 404)
    anonymous = httpx.post(f"{gateway.base_url}{fill(path, '', office.own)}", timeout=30.0,
                           **FORM_PAGE_WRITES[path])
    assert anonymous.status_code in (303, 403)  # to the login page, or no CSRF cookie
    after = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))
    assert after.json() == before.json()


def test_no_client_route_or_page_breaks_on_a_hostile_id(office: Office) -> None:
    gateway = office.gateway
    paths = sorted(CLIENT_API_READS | CLIENT_PAGES)
    for path in paths:
        for hostile in HOSTILE_IDS:
            address = fill(path, hostile, dict.fromkeys(office.own, hostile))
            answer = httpx.get(f"{gateway.base_url}{address}", headers=bearer(office.owner),
                               cookies={"mb_access": office.owner}, timeout=30.0)
            assert answer.status_code < 500, (address, answer.status_code, answer.text[:200])


def admin_routes() -> list[tuple[str, str]]:
    return sorted((method, path) for method, path in id_routes() if path.startswith("/admin/"))


@pytest.mark.parametrize(("method", "path"), admin_routes())
def test_an_admin_route_refuses_clients_and_strangers_and_never_breaks(
    office: Office, method: str, path: str
) -> None:
    gateway = office.gateway
    address = re.sub(r"\{[a-z_]+\}", "0" * 32, path)
    is_api = path.startswith("/admin/api/")
    for client in (office.owner, office.other):
        answer = httpx.request(method, f"{gateway.base_url}{address}", headers=bearer(client),
                               cookies={"mb_access": client}, timeout=30.0)
        assert answer.status_code == 403, (method, address, answer.status_code)
    stranger = httpx.request(method, f"{gateway.base_url}{address}", timeout=30.0)
    assert stranger.status_code == (401 if is_api else 303) or (
        not is_api and stranger.status_code == 403), (method, address, stranger.status_code)
    for staff in (office.admin, office.agent):
        for hostile in ("0" * 32, *HOSTILE_IDS):
            answer = httpx.request(
                method, f"{gateway.base_url}{re.sub(r'[{][a-z_]+[}]', hostile, path)}",
                headers=bearer(staff), cookies={"mb_access": staff}, timeout=30.0)
            assert answer.status_code < 500, (method, path, hostile, answer.text[:200])


def test_a_public_route_answers_hostile_values_without_breaking_or_leaking_files(
    office: Office,
) -> None:
    for path in sorted(PUBLIC_ROUTES):
        for hostile in (*HOSTILE_IDS, "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "....//....//etc"):
            address = re.sub(r"[{][a-z_]+[}]", hostile, path)
            answer = httpx.get(f"{office.gateway.base_url}{address}", timeout=30.0)
            assert answer.status_code < 500, (address, answer.status_code)
            assert "root:" not in answer.text, address


@pytest.mark.parametrize("path", sorted(CLIENT_STREAMS))
def test_a_client_stream_opens_for_its_owner_only(office: Office, path: str) -> None:
    gateway = office.gateway
    with gateway.stream("GET", fill(path, DUPONT, office.own),
                        headers=bearer(office.owner)) as owned:
        assert owned.status_code == 200
        assert owned.headers["content-type"].startswith("text/event-stream")
    missing = problem(gateway.get(fill(path, MISSING_DOSSIER, office.own),
                                  headers=bearer(office.owner)))
    assert missing[0] == 404
    for caller in (office.other, office.co_user, office.admin, office.agent):
        refused = gateway.get(fill(path, DUPONT, office.own), headers=bearer(caller))
        assert problem(refused) == missing, refused.text
    assert gateway.get(fill(path, DUPONT, office.own)).status_code == 401


@pytest.mark.parametrize("path", sorted(CLIENT_PAGE_WRITES))
def test_a_client_page_form_on_another_dossiers_object_is_not_found_and_stores_nothing(
    office: Office, path: str
) -> None:
    gateway = office.gateway
    before = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))
    address = f"{gateway.base_url}{fill(path, '', office.own)}"
    for caller in (office.other, office.co_user, office.admin, office.agent):
        answer = httpx.post(address, cookies={"mb_access": caller, "mb_csrf": "matrix"},
                            data={"csrf_token": "matrix", "body": "matrix"},
                            files={"file": ("", b"", "application/octet-stream")}, timeout=30.0)
        assert answer.status_code == 404, (caller, answer.status_code)
    own_foreign = f"{gateway.base_url}{fill(path, '', office.foreign)}"
    answer = httpx.post(own_foreign, cookies={"mb_access": office.owner, "mb_csrf": "matrix"},
                        data={"csrf_token": "matrix", "body": "matrix"},
                        files={"file": ("", b"", "application/octet-stream")}, timeout=30.0)
    assert answer.status_code == 404
    anonymous = httpx.post(address, data={"body": "matrix"}, timeout=30.0)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    after = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=bearer(office.owner))
    assert after.json() == before.json()
@pytest.fixture(scope="module")
def signature_request(system_stack: SystemStack, office: Office) -> dict[str, str]:
    """A request offering a PDF of a dossier of its own to its first person only; the second
    person of that dossier is a client too (a co-user who is no signer)."""
    gateway = office.gateway
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-2098-{uuid.uuid4().int % 100000:05d}"
    signer = new_client_for_person(system_stack, gateway, dossier, 0)
    co_user = new_client_for_person(system_stack, gateway, dossier, 1)
    document = publish_document(gateway, office.admin, dossier["dossier_id"], "Te tekenen",
                                "te-tekenen.pdf", text_pdf("Te tekenen", ["Matrix"]))
    for _ in range(60):
        created = gateway.post(
            f"/admin/api/v1/dossiers/{dossier['dossier_id']}/signature-requests",
            headers=bearer(office.admin),
            json={"document_id": document["document_id"],
                  "signer_person_ids": [dossier["persons"][0]["person_id"]]})
        if created.status_code == 201:
            break
        time.sleep(0.5)
    assert created.status_code == 201, created.text
    return {"id": created.json()["signature_request_id"], "signer": signer,
            "co_user": co_user}


def new_client_for_person(stack: SystemStack, gateway: httpx.Client, dossier: dict[str, Any],
                          index: int) -> str:
    """Give the dossier's person `index` a client account with their address (imports it)."""
    person = dossier["persons"][index]
    person["email"] = f"signer.{index}.{uuid.uuid4().hex[:6]}@example.com"
    import_dossier(gateway, staff_log_in(stack, gateway), dossier)
    password = f"matrix signer password {uuid.uuid4().hex[:6]}"
    invite_and_activate(gateway, staff_log_in(stack, gateway), stack.maildir,
                        email=person["email"], display_name=person["first_name"],
                        dossier_ids=[dossier["dossier_id"]], password=password)
    client = ClientLogin(email=person["email"], password=password,
                         dossier_ids=(dossier["dossier_id"],))
    return client.log_in(gateway)


SIGNER_ROUTES = sorted([("GET", path) for path in SIGNER_READS]
                       + [("POST", path) for path in SIGNER_WRITES])


@pytest.mark.parametrize(("method", "path"), SIGNER_ROUTES)
def test_a_signature_request_answers_its_signer_only(
    office: Office, signature_request: dict[str, str], method: str, path: str
) -> None:
    """Another client, a co-user of the same dossier who is no signer, and staff (on the
    client's routes) get what a missing request gets; the signer is answered (the signed PDF:
    not ready yet, 404 for everyone alike)."""
    gateway = office.gateway
    is_api = path.startswith("/api/")

    def call(token: str | None, request_id: str) -> httpx.Response:
        address = f"{gateway.base_url}{path.replace('{signature_id}', request_id)}"
        if is_api:
            return httpx.request(method, address, headers=bearer(token) if token else {},
                                 timeout=30.0, **SIGNER_WRITES.get(path, {})
                                 if method == "POST" else {})
        cookies = {"mb_access": token} if token else {}
        if method == "GET":
            return httpx.get(address, cookies=cookies, timeout=30.0)
        # The pages' forms carry the CSRF token of the cookie of the same name.
        return httpx.post(address, cookies={**cookies, "mb_csrf": "matrix"},
                          data={**SIGNER_WRITES[path]["data"], "csrf_token": "matrix"},
                          timeout=30.0)

    def seen(response: httpx.Response) -> tuple[int, Any]:
        return problem(response) if is_api else (response.status_code, "")

    missing = seen(call(signature_request["signer"], MISSING_ID))
    assert missing[0] == 404
    for caller in (office.other, signature_request["co_user"], office.owner):
        refused = call(caller, signature_request["id"])
        assert seen(refused) == missing, refused.text[:300]
    for staff in (office.admin, office.agent):
        assert call(staff, signature_request["id"]).status_code in (403, 404)
    anonymous = call(None, signature_request["id"])
    assert anonymous.status_code in ((401,) if is_api else (303, 403))
    if method == "GET" and not path.endswith(("signed-document", "/signed")):
        assert call(signature_request["signer"], signature_request["id"]).status_code == 200
@pytest.mark.parametrize("suffix", ["", "/file"])
def test_the_staff_viewer_finds_a_document_under_its_own_dossier_only(
    office: Office, suffix: str,
) -> None:
    """Staff see every dossier, but a document named under another dossier than its own is
    "not found", exactly as a document that does not exist."""
    base = office.gateway.base_url

    def view(dossier_id: str, document_id: str) -> httpx.Response:
        return httpx.get(f"{base}/admin/dossiers/{dossier_id}/documents/{document_id}{suffix}",
                         cookies={"mb_access": office.agent}, timeout=30.0)

    assert view(DUPONT, office.own["document"]).status_code == 200
    missing = view(DUPONT, MISSING_ID)
    elsewhere = view(PEETERS, office.own["document"])
    assert missing.status_code == elsewhere.status_code == 404
    assert view(MISSING_DOSSIER, office.own["document"]).status_code == 404
    for client in (office.owner, office.other):
        assert httpx.get(f"{base}/admin/dossiers/{DUPONT}/documents/{office.own['document']}"
                         f"{suffix}", cookies={"mb_access": client}, timeout=30.0
                         ).status_code == 403


def test_the_office_settings_are_read_by_staff_and_changed_by_the_office_admin_only(
    office: Office,
) -> None:
    gateway = office.gateway
    before = gateway.get("/admin/api/v1/office", headers=bearer(office.admin)).json()

    def ask(method: str, path: str, token: str | None, **body: Any) -> httpx.Response:
        headers = bearer(token) if token and path.startswith("/admin/api/") else {}
        cookies = {"mb_csrf": MATRIX_CSRF, **({"mb_access": token} if token else {})}
        return httpx.request(method, f"{gateway.base_url}{path}", headers=headers,
                             cookies=cookies, timeout=30.0, **body)

    for path in sorted(OFFICE_READS):
        for client in (office.owner, office.other):
            assert ask("GET", path, client).status_code == 403, path
        assert ask("GET", path, None).status_code == (
            401 if path.startswith("/admin/api/") else 303), path
        for staff in (office.admin, office.agent):
            assert ask("GET", path, staff).status_code == 200, path
    for (method, path), body in sorted(OFFICE_WRITES.items()):
        for caller in (office.owner, office.other, office.agent):
            answer = ask(method, path, caller, **body)
            assert answer.status_code == 403, (method, path, answer.status_code)
        assert ask(method, path, None, **body).status_code == (
            401 if path.startswith("/admin/api/") else 303), (method, path)
    after = gateway.get("/admin/api/v1/office", headers=bearer(office.admin)).json()
    assert after == before  # nothing of it was stored


def test_mail_preferences_are_their_clients_own_and_the_mail_log_is_staffs(
    office: Office,
) -> None:
    gateway = office.gateway
    chosen = {"requests": "immediate", "documents": "daily_digest", "signatures": "immediate",
              "language": "fr"}
    saved = gateway.put("/api/v1/me/notifications", headers=bearer(office.owner), json=chosen)
    assert saved.status_code == 200, saved.text
    try:
        mine = gateway.get("/api/v1/me/notifications", headers=bearer(office.owner)).json()
        assert mine["preferences"] == chosen
        theirs = gateway.get("/api/v1/me/notifications", headers=bearer(office.other))
        assert theirs.status_code == 200
        assert theirs.json()["preferences"]["documents"] == "immediate"
        assert gateway.get("/api/v1/me/notifications").status_code == 401
        assert gateway.put("/api/v1/me/notifications", json=chosen).status_code == 401
        bad = gateway.put("/api/v1/me/notifications", headers=bearer(office.owner),
                          json={**chosen, "documents": "never"})
        assert bad.status_code == 422
    finally:
        gateway.put("/api/v1/me/notifications", headers=bearer(office.owner), json={})
    log = f"/admin/api/v1/dossiers/{DUPONT}/mails"
    for client in (office.owner, office.other, office.co_user):
        assert gateway.get(log, headers=bearer(client)).status_code == 403
    assert gateway.get(log).status_code == 401
    for staff in (office.admin, office.agent):
        answer = gateway.get(log, headers=bearer(staff))
        assert answer.status_code == 200, answer.text
        assert all(mail["recipient"] for mail in answer.json()["mails"])


@pytest.fixture(scope="module")
def ready_export(system_stack: SystemStack, office: Office) -> str:
    """The id of an export of the owner's data, once its ZIP is ready."""
    asked = office.gateway.post("/api/v1/privacy/exports", headers=bearer(office.owner))
    assert asked.status_code in (200, 202), asked.text
    export_id: str = asked.json()["export"]["export_id"]
    for _ in range(600):
        state = office.gateway.get(f"/api/v1/privacy/exports/{export_id}",
                                   headers=bearer(office.owner)).json()["state"]
        if state != "running":
            assert state == "ready"
            return export_id
        time.sleep(0.2)
    raise AssertionError("the export was not ready within 120 s")


def test_a_data_export_answers_its_account_only(
        system_stack: SystemStack, office: Office, ready_export: str) -> None:
    gateway = office.gateway
    # Luc shares a dossier with the owner: still not the owner's export.
    callers = (office.other, office.co_user, office.admin, office.agent)
    for path in sorted(EXPORT_READS):
        owned = gateway.get(path.replace("{export_id}", ready_export),
                            headers=bearer(office.owner))
        assert owned.status_code == 200, owned.text
        missing = problem(gateway.get(path.replace("{export_id}", uuid.uuid4().hex),
                                      headers=bearer(office.owner)))
        assert missing[0] == 404
        for caller in callers:
            refused = gateway.get(path.replace("{export_id}", ready_export),
                                  headers=bearer(caller))
            assert problem(refused) == missing, (path, refused.text)
        assert gateway.get(path.replace("{export_id}", ready_export)).status_code == 401
        for hostile in HOSTILE_IDS:
            answer = gateway.get(path.replace("{export_id}", hostile),
                                 headers=bearer(office.owner))
            assert answer.status_code < 500, (path, hostile, answer.status_code)
    for path in sorted(EXPORT_PAGES):
        address = f"{gateway.base_url}{path.replace('{export_id}', ready_export)}"
        owned = httpx.get(address, cookies={"mb_access": office.owner}, timeout=30.0)
        assert owned.status_code == 200
        assert owned.headers["content-type"] == "application/zip"
        for caller in callers:
            refused = httpx.get(address, cookies={"mb_access": caller}, timeout=30.0)
            assert refused.status_code == 404, refused.status_code
            assert "PK" not in refused.text[:2]
        assert httpx.get(address, timeout=30.0).status_code == 303  # to the login page


def test_only_the_office_admin_erases_a_client_account(office: Office) -> None:
    gateway = office.gateway
    me = gateway.get("/api/v1/me", headers=bearer(office.owner)).json()
    for (method, path), body in sorted(ACCOUNT_ERASURES.items()):
        address = f"{gateway.base_url}{path.replace('{user_id}', me['user_id'])}"
        form = body.get("data")
        if form is not None:
            form = {**form, "email": me["email"], "confirm_email": me["email"]}
        for caller in (office.owner, office.other, office.co_user, office.agent):
            headers = bearer(caller) if path.startswith("/admin/api/") else {}
            answer = httpx.request(method, address, headers=headers, data=form,
                                   cookies={"mb_csrf": MATRIX_CSRF, "mb_access": caller},
                                   timeout=30.0)
            assert answer.status_code == 403, (method, path, answer.status_code)
        stranger = httpx.request(method, address, data=form, cookies={"mb_csrf": MATRIX_CSRF},
                                 timeout=30.0)
        assert stranger.status_code == (401 if path.startswith("/admin/api/") else 303)
    # The account is untouched: its owner still reads their dossier.
    assert gateway.get(f"/api/v1/dossiers/{DUPONT}/contracts", headers=bearer(office.owner)
                       ).status_code == 200
