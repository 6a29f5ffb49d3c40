"""The gateway's edge: answers no cache keeps, bounded request headers, API docs that load
nothing from another host and describe the admin API only to staff."""

import re

from libs.contracts import auth, documents
from libs.contracts.caller import Role
from tests.service.gateway_support import (
    STORE,
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    published,
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

EXTERNAL_URL = re.compile(r"""(?:https?:)?//[^/"'\s]""")  # any address on another host


def test_a_login_answer_with_its_tokens_is_never_stored(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    response = gateway.client.post("/api/v1/auth/login",
                                   json={"email": "an@example.be", "password": "secret"})
    assert response.status_code == 200 and "access_token" in response.json()
    assert response.headers["cache-control"] == "no-store"


def test_a_dossier_read_and_a_refusal_are_never_stored(gateway: Gateway) -> None:
    read = gateway.client.get("/api/v1/dossiers/D1/contracts", headers=gateway.bearer())
    assert read.status_code == 200 and "AUTO-2024-0001" in read.text
    assert read.headers["cache-control"] == "no-store"
    refused = gateway.client.get("/api/v1/dossiers/D9/contracts", headers=gateway.bearer())
    assert refused.status_code == 404 and refused.headers["cache-control"] == "no-store"
    admin = gateway.client.get("/admin/api/v1/dossiers/D1", headers=gateway.bearer())
    assert admin.status_code == 403 and admin.headers["cache-control"] == "no-store"


def test_static_files_may_still_be_cached(gateway: Gateway) -> None:
    response = gateway.client.get("/static/mybroker.css")
    assert response.status_code == 200 and "cache-control" not in response.headers


def test_two_hundred_headers_are_refused_with_431(gateway: Gateway) -> None:
    headers = {f"x-filler-{number}": "a" for number in range(200)}
    calls = len(gateway.rpc.calls)
    response = gateway.client.get("/api/v1/me", headers={**gateway.bearer(), **headers})
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert len(gateway.rpc.calls) == calls  # refused before any route ran


def test_a_hundred_kilobyte_header_is_refused_with_431(gateway: Gateway) -> None:
    response = gateway.client.get("/api/v1/me",
                                  headers={**gateway.bearer(), "x-filler": "a" * 100 * 1024})
    assert response.status_code == 431


def test_ordinary_requests_pass_the_header_limits(gateway: Gateway) -> None:
    headers = {f"x-filler-{number}": "a" * 100 for number in range(40)}
    response = gateway.client.get("/api/v1/dossiers/D1/contracts",
                                  headers={**gateway.bearer(), **headers})
    assert response.status_code == 200


def test_the_api_docs_load_nothing_from_another_host(gateway: Gateway) -> None:
    page = gateway.client.get("/api/docs")
    assert page.status_code == 200
    assert EXTERNAL_URL.findall(page.text) == []
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert EXTERNAL_URL.findall(policy) == [] and "*" not in policy and "http" not in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/api/docs/assets/swagger-ui-bundle.js" in sources
    for source in sources:  # every script and style the page names is served here
        assert gateway.client.get(source).status_code == 200, source
    bundle = gateway.client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and len(bundle.content) > 100_000
    assert gateway.client.get("/api/docs/assets/index.html").status_code == 404


def test_the_public_openapi_describes_the_client_api_only(gateway: Gateway) -> None:
    document = gateway.client.get("/api/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert "/api/v1/dossiers/{dossier_id}/contracts" in paths
    assert [path for path in paths if path.startswith("/admin")] == []
    schemas = document.json()["components"]["schemas"]
    assert "/api/v1/auth/login" in paths and "DocumentPublic" in schemas
    assert not {"StaffCreate", "InvitationCreate", "DossierRecord", "AuditLog"} & set(schemas)


def test_the_admin_api_docs_are_for_signed_in_staff_only(gateway: Gateway) -> None:
    anonymous = gateway.client.get("/admin/api-docs/openapi.json")
    assert anonymous.status_code in (303, 401) and "/admin/api/v1" not in anonymous.text
    assert gateway.client.get("/admin/api-docs").status_code in (303, 401)

    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={"email": "an@example.be", "password": "secret",
                                        "csrf_token": csrf(gateway)})
    client = gateway.client.get("/admin/api-docs/openapi.json")
    assert client.status_code == 403 and "/admin/api/v1" not in client.text

    sign_in_as_staff(gateway, Role.AGENT)
    page = gateway.client.get("/admin/api-docs")
    assert page.status_code == 200 and EXTERNAL_URL.findall(page.text) == []
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["cache-control"] == "no-store"
    document = gateway.client.get("/admin/api-docs/openapi.json").json()
    assert "/admin/api/v1/dossiers/{dossier_id}/documents" in document["paths"]
    assert [path for path in document["paths"] if not path.startswith("/admin/")] == []
    assert {"StaffCreate", "InvitationCreate", "DossierRecord"} <= set(
        document["components"]["schemas"])


def test_an_uploaded_file_name_reaches_the_service_and_the_pages_without_bidi_controls(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc1", upload_url=f"{STORE}/doc1", max_size=10_000))

    def complete(request: object) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        return published(request.document_id, size=request.size, sha256=request.sha256,
                         filename="factuur\u202efdp.exe")  # as a store from before would

    gateway.rpc.answer(documents.COMPLETE_UPLOAD, complete)
    gateway.rpc.answer(documents.PUBLISH_BATCH, documents.BatchPublic(batch_id="b1", count=1))
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents",
        headers=gateway.bearer(role=Role.AGENT, dossiers=(), user_id="agent1"),
        files={"file": ("factuur\u202efdp.exe", b"MZ" + bytes(100), "application/pdf")})
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "factuurfdp.exe"
    [begin] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begin, documents.BeginUploadRequest)
    assert (begin.filename, begin.title) == ("factuurfdp.exe", "factuurfdp.exe")

    gateway.rpc.answer(documents.LIST_DOCUMENTS, documents.DocumentList(documents=[
        published("doc1", size=102, sha256="0" * 64, filename="factuur\u202efdp.exe")]))
    listed = gateway.client.get("/api/v1/dossiers/D1/documents", headers=gateway.bearer())
    assert listed.status_code == 200 and "\u202e" not in listed.json()["documents"][0]["filename"]
    assert "factuurfdp.exe" in listed.text
