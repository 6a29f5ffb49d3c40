"""Document bodies stream between the client and the store; the bus only sees references."""

import hashlib

from libs.contracts import documents
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)

STORE = "http://s3.test/mybroker-documents"


def staff(gateway: Gateway) -> dict[str, str]:
    return gateway.bearer(role=Role.AGENT, dossiers=(), user_id="agent1")


def published(document_id: str, *, size: int, sha256: str, filename: str = "polis.pdf",
              content_type: str = "application/pdf") -> documents.DocumentPublic:
    return documents.DocumentPublic(
        document_id=document_id, dossier_id="D1", title="Polis", filename=filename,
        content_type=content_type, size=size, sha256=sha256, uploaded_by="agent1",
        uploaded_at=utc_now())


def accept_uploads(gateway: Gateway, max_size: int = 10_000) -> None:
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc1", upload_url=f"{STORE}/doc1?X-Amz-Signature=abc", max_size=max_size))

    def complete(request: object) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        return published(request.document_id, size=request.size, sha256=request.sha256)

    gateway.rpc.answer(documents.COMPLETE_UPLOAD, complete)


def test_an_upload_over_the_limit_is_refused_and_nothing_is_stored(gateway: Gateway) -> None:
    accept_uploads(gateway)
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents", headers=staff(gateway),
        data={"title": "Te groot"}, files={"file": ("big.bin", b"x" * 1025, "text/plain")})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []
    assert gateway.rpc.called(documents.COMPLETE_UPLOAD) == []
    assert gateway.store.objects == {}


def test_a_body_announced_far_over_the_limit_is_refused_before_it_is_read(
    gateway: Gateway,
) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents",
        headers={**staff(gateway), "content-type": "multipart/form-data; boundary=b",
                 "content-length": str(10 * 1024 * 1024)},
        content=b"--b--\r\n" + b" " * (10 * 1024 * 1024 - 7))
    assert response.status_code == 413


def test_an_upload_is_streamed_to_the_store_and_completed_with_its_hash(
    gateway: Gateway,
) -> None:
    accept_uploads(gateway)
    body = "Polis Autoverzekering — AUTO-2024-0001\n".encode() * 20
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents", headers=staff(gateway),
        data={"title": "Polis"}, files={"file": ("polis.pdf", body, "application/pdf")})
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert gateway.store.objects["/mybroker-documents/doc1"] == body
    [put_headers] = gateway.store.put_headers
    assert put_headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in put_headers
    [begin] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begin, documents.BeginUploadRequest)
    assert (begin.dossier_id, begin.title, begin.filename, begin.size) == (
        "D1", "Polis", "polis.pdf", len(body))
    assert begin.caller.user_id == "agent1"
    [complete] = gateway.rpc.called(documents.COMPLETE_UPLOAD)
    assert isinstance(complete, documents.CompleteUploadRequest)
    assert complete.sha256 == hashlib.sha256(body).hexdigest()


def test_an_upload_without_a_file_names_the_missing_field(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents", headers=staff(gateway),
        data={"title": "Niets"}, files={"other": ("", b"", "text/plain")})
    assert response.status_code == 422
    assert "file" in response.json()["errors"]


def test_an_upload_that_is_not_multipart_is_refused(gateway: Gateway) -> None:
    response = gateway.client.post("/admin/api/v1/dossiers/D1/documents",
                                   headers=staff(gateway), json={"file": "abc"})
    assert response.status_code == 415


def test_clients_cannot_publish_documents(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents", headers=gateway.bearer(),
        data={"title": "x"}, files={"file": ("a.txt", b"abc", "text/plain")})
    assert response.status_code == 403


def test_a_download_streams_the_body_with_its_name_size_and_hash(gateway: Gateway) -> None:
    body = b"%PDF-1.7 fake pdf body" * 100
    gateway.store.objects["/mybroker-documents/doc9"] = body
    digest = hashlib.sha256(body).hexdigest()
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
        document=published("doc9", size=len(body), sha256=digest,
                           filename="Attest brandverzekering 2025 – é.pdf"),
        download_url=f"{STORE}/doc9?X-Amz-Signature=abc"))
    response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content",
                                  headers=gateway.bearer())
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["x-content-sha256"] == digest
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Attest brandverzekering 2025 _ e.pdf"')
    assert disposition.endswith(
        "filename*=UTF-8''Attest%20brandverzekering%202025%20%E2%80%93%20%C3%A9.pdf")


def test_a_download_the_store_has_lost_is_a_503_problem(gateway: Gateway) -> None:
    gateway.rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
        document=published("gone", size=3, sha256="0" * 64),
        download_url=f"{STORE}/gone?X-Amz-Signature=abc"))
    response = gateway.client.get("/api/v1/dossiers/D1/documents/gone/content",
                                  headers=gateway.bearer())
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
