"""Document bodies stream between the client and the store; the bus only sees references."""

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from pydantic import BaseModel

from gateway import problems
from gateway.downloads import DamagedBody
from libs.contracts import documents
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Invalid, Unavailable
from tests.service.gateway_support import (
    STORE,
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    household_rpc,
    published,
    run_gateway,
    ticket_for,
)
from tests.service.test_gateway_pages import sign_in

MIB = 1024 * 1024

def staff(gateway: Gateway) -> dict[str, str]:
    return gateway.bearer(role=Role.AGENT, dossiers=(), user_id="agent1")


def accept_uploads(gateway: Gateway, max_size: int = 10_000) -> None:
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc1", upload_url=f"{STORE}/doc1?X-Amz-Signature=abc", max_size=max_size))

    def complete(request: object) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        return published(request.document_id, size=request.size, sha256=request.sha256)

    gateway.rpc.answer(documents.COMPLETE_UPLOAD, complete)
    accept_batches(gateway)


def accept_batches(gateway: Gateway) -> None:
    def batch(request: object) -> documents.BatchPublic:
        assert isinstance(request, documents.PublishBatchRequest)
        return documents.BatchPublic(batch_id=request.batch_id, count=len(request.document_ids))

    gateway.rpc.answer(documents.PUBLISH_BATCH, batch)


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
    [announced] = gateway.rpc.called(documents.PUBLISH_BATCH)  # a batch of one: one mail
    assert isinstance(announced, documents.PublishBatchRequest)
    assert (announced.dossier_id, announced.document_ids) == ("D1", ["doc1"])


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


def test_a_malformed_multipart_body_is_a_problem_not_a_server_error(gateway: Gateway) -> None:
    for path in ("/admin/api/v1/dossiers/D1/documents",
                 "/admin/api/v1/dossiers/D1/documents/batch"):
        response = gateway.client.post(
            path, headers={**staff(gateway), "content-type": "multipart/form-data; boundary=b"},
            content=b"--b\r\n-18310831--b--\r\n")  # found by the API fuzzing
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == {"body": "malformed multipart"}


def test_clients_cannot_publish_documents(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents", headers=gateway.bearer(),
        data={"title": "x"}, files={"file": ("a.txt", b"abc", "text/plain")})
    assert response.status_code == 403


def test_staff_list_the_document_problems_and_clients_may_not(gateway: Gateway) -> None:
    problem = documents.DocumentProblem(
        document_id="doc7", dossier_id="D1", title="Polis", filename="polis.pdf",
        problem="upload_failed", reason="The upload was never completed.",
        created_at=utc_now())
    gateway.rpc.answer(documents.LIST_DOCUMENT_PROBLEMS,
                       documents.DocumentProblemList(problems=[problem]))
    response = gateway.client.get("/admin/api/v1/documents/problems?limit=20",
                                  headers=staff(gateway))
    assert response.status_code == 200
    assert response.json()["problems"][0]["reason"] == "The upload was never completed."
    [query] = gateway.rpc.called(documents.LIST_DOCUMENT_PROBLEMS)
    assert isinstance(query, documents.DocumentProblemsQuery) and query.limit == 20
    assert gateway.client.get("/admin/api/v1/documents/problems",
                              headers=gateway.bearer()).status_code == 403


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
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="Attest brandverzekering 2025 _ e.pdf"')
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


def test_the_download_button_asks_for_an_attachment_even_for_a_pdf(gateway: Gateway) -> None:
    ticket_for(gateway, b"%PDF-1.7 body")
    response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content?download=true",
                                  headers=gateway.bearer())
    assert response.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(("content_type", "filename"), [
    ("text/html", "pagina.html"), ("text/plain", "notitie.txt"),
    ("application/octet-stream", "x.svg"), ("application/zip", "a.zip"),
])
def test_anything_but_pdf_and_images_is_only_offered_as_a_download(
    gateway: Gateway, content_type: str, filename: str
) -> None:
    ticket_for(gateway, b"<script>alert(1)</script>", filename=filename,
               content_type=content_type)
    response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content",
                                  headers=gateway.bearer())
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_file_name_cannot_inject_a_header(gateway: Gateway) -> None:
    ticket_for(gateway, b"%PDF-1.7", filename='polis"\r\nSet-Cookie: x=1;.pdf')
    response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content",
                                  headers=gateway.bearer())
    assert "set-cookie" not in response.headers
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    # The line break is gone before the header is made (libs/contracts/shown_names.py).
    assert disposition.startswith('inline; filename="polis_Set-Cookie_ x=1;.pdf"')


def test_a_body_that_no_longer_matches_its_hash_is_cut_off_and_reported(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cut-off surfaces as an unexpected failure: log it plainly, not rich-rendered with
    # every local (that takes tens of seconds and says nothing more).
    monkeypatch.setattr(problems, "log", structlog.wrap_logger(
        structlog.PrintLogger(io.StringIO()),
        processors=[structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]))
    ticket_for(gateway, b"%PDF-1.7 tampered", sha256="ab" * 32)
    gateway.rpc.answer(documents.REPORT_DAMAGED, Ack())
    with pytest.raises(DamagedBody):
        gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content",
                           headers=gateway.bearer())
    [report] = gateway.rpc.called(documents.REPORT_DAMAGED)
    assert isinstance(report, documents.ReportDamagedRequest)
    assert report.document_id == "doc9"
    assert report.observed_sha256 == hashlib.sha256(b"%PDF-1.7 tampered").hexdigest()


def test_the_viewer_asks_for_the_view_variant(gateway: Gateway) -> None:
    ticket_for(gateway, b"%PDF-1.7 rendition")
    response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/view",
                                  headers=gateway.bearer())
    assert response.status_code == 200
    [request] = gateway.rpc.called(documents.OPEN_DOWNLOAD)
    assert isinstance(request, documents.OpenDownloadRequest)
    assert request.variant == documents.BodyVariant.VIEW


@pytest.fixture(name="attachments")
def attachments_fixture(tmp_path: Path) -> Iterator[Gateway]:
    """The gateway with the manual's attachment limits and a store accepting every upload."""
    counter = iter(range(1000))

    def begin(request: object) -> documents.UploadSlot:
        number = next(counter)
        return documents.UploadSlot(document_id=f"att{number}", max_size=2 * MIB,
                                    upload_url=f"{STORE}/att{number}?X-Amz-Signature=a")

    def complete(request: object) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        return published(request.document_id, size=request.size, sha256=request.sha256)

    rpc = household_rpc()
    rpc.answer(documents.BEGIN_UPLOAD, begin)
    rpc.answer(documents.COMPLETE_UPLOAD, complete)
    yield from run_gateway(tmp_path, rpc)


def attach(gateway: Gateway, files: list[tuple[str, bytes]], **data: str) -> httpx.Response:
    response: httpx.Response = gateway.client.post(
        "/api/v1/dossiers/D1/documents", headers=gateway.bearer(), data=data,
        files=[("file", (name, body, "application/octet-stream")) for name, body in files])
    return response


def test_a_client_attaches_several_files_to_a_claim(attachments: Gateway) -> None:
    response = attach(attachments, [("foto1.jpg", b"\xff\xd8\xff" * 100),
                                    ("pv.pdf", b"%PDF-1.4" * 100)], context="claim:CL1")
    assert response.status_code == 201, response.text
    assert len(response.json()["documents"]) == 2
    begun = attachments.rpc.called(documents.BEGIN_UPLOAD)
    assert [b.context for b in begun if isinstance(b, documents.BeginUploadRequest)] == [
        documents.DocumentContext(kind=documents.ContextKind.CLAIM, ref_id="CL1")] * 2


def test_an_attachment_of_two_megabytes_and_one_byte_is_refused_mid_stream(
    attachments: Gateway,
) -> None:
    response = attach(attachments, [("groot.pdf", b"x" * (2 * MIB + 1))])
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert attachments.rpc.called(documents.BEGIN_UPLOAD) == []
    assert attachments.store.objects == {}


def test_an_attachment_of_exactly_two_megabytes_is_accepted(attachments: Gateway) -> None:
    assert attach(attachments, [("precies.pdf", b"x" * 2 * MIB)]).status_code == 201


def test_eleven_attachments_are_refused(attachments: Gateway) -> None:
    response = attach(attachments, [(f"f{n}.txt", b"abc") for n in range(11)])
    assert response.status_code == 413
    assert "10 files" in response.json()["detail"]
    assert attachments.rpc.called(documents.BEGIN_UPLOAD) == []


def test_attachments_over_ten_megabytes_together_are_refused(attachments: Gateway) -> None:
    response = attach(attachments, [(f"f{n}.bin", b"x" * (2 * MIB - 10)) for n in range(6)])
    assert response.status_code == 413
    assert attachments.store.objects == {}


def test_an_unknown_context_is_a_field_error(attachments: Gateway) -> None:
    response = attach(attachments, [("a.txt", b"abc")], context="garage:1")
    assert response.status_code == 422
    assert "context" in response.json()["errors"]


def test_the_list_passes_context_type_and_cursor(gateway: Gateway) -> None:
    gateway.rpc.answer(documents.LIST_DOCUMENTS, documents.DocumentList(
        documents=[], next_cursor="next.page"))
    response = gateway.client.get(
        "/api/v1/dossiers/D1/documents?context=contract:c1&type=image/&cursor=this.page"
        "&page_size=20", headers=gateway.bearer())
    assert response.status_code == 200
    assert response.json()["next_cursor"] == "next.page"
    [query] = gateway.rpc.called(documents.LIST_DOCUMENTS)
    assert isinstance(query, documents.ListDocumentsQuery)
    assert (query.context, query.content_type, query.cursor, query.page_size) == (
        documents.DocumentContext(kind=documents.ContextKind.CONTRACT, ref_id="c1"),
        "image/", "this.page", 20)


def accept_numbered_uploads(gateway: Gateway, *, failing: int | None = None) -> None:
    """Every upload gets its own id (doc1, doc2, ...); completing number `failing` fails."""
    begun: list[str] = []

    def begin(request: object) -> documents.UploadSlot:
        begun.append(f"doc{len(begun) + 1}")
        return documents.UploadSlot(document_id=begun[-1], max_size=10_000,
                                    upload_url=f"{STORE}/{begun[-1]}?X-Amz-Signature=abc")

    def complete(request: object) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        if failing is not None and request.document_id == f"doc{failing}":
            raise Unavailable("The document store refused the file.")
        return published(request.document_id, size=request.size, sha256=request.sha256)

    gateway.rpc.answer(documents.BEGIN_UPLOAD, begin)
    gateway.rpc.answer(documents.COMPLETE_UPLOAD, complete)
    accept_batches(gateway)


def test_a_batch_of_files_is_announced_once_with_every_document(gateway: Gateway) -> None:
    accept_numbered_uploads(gateway)
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents/batch", headers=staff(gateway),
        data={"context": "contract:C-1"},
        files=[("file", ("polis.pdf", b"%PDF-1.4 polis", "application/pdf")),
               ("file", ("kaart.txt", b"groene kaart", "text/plain"))])
    assert response.status_code == 201, response.text
    [announced] = gateway.rpc.called(documents.PUBLISH_BATCH)
    assert isinstance(announced, documents.PublishBatchRequest)
    assert (announced.dossier_id, announced.document_ids) == ("D1", ["doc1", "doc2"])
    assert announced.caller.user_id == "agent1"


def test_when_a_file_of_a_batch_fails_the_ones_published_before_are_still_announced(
    gateway: Gateway,
) -> None:
    accept_numbered_uploads(gateway, failing=2)
    response = gateway.client.post(
        "/admin/api/v1/dossiers/D1/documents/batch", headers=staff(gateway),
        files=[("file", ("een.txt", b"een", "text/plain")),
               ("file", ("twee.txt", b"twee", "text/plain")),
               ("file", ("drie.txt", b"drie", "text/plain"))])
    assert response.status_code == 503
    [announced] = gateway.rpc.called(documents.PUBLISH_BATCH)
    assert isinstance(announced, documents.PublishBatchRequest)
    assert announced.document_ids == ["doc1"]
    assert len(gateway.rpc.called(documents.BEGIN_UPLOAD)) == 2  # the third was never begun


def test_the_documents_page_links_the_next_page_by_its_cursor_in_its_dossier(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(documents.LIST_DOCUMENTS, documents.DocumentList(
        documents=[], total=45, next_cursor="page.two"))
    sign_in(gateway, dossiers=("D1", "D2"))
    first = gateway.client.get("/documents", params={"type": "pdf", "dossier": "D2"})
    assert first.status_code == 200
    assert 'href="/documents?type=pdf&amp;dossier=D2&amp;cursor=page.two"' in first.text
    assert "Eerste pagina" not in first.text
    second = gateway.client.get("/documents", params={
        "type": "pdf", "dossier": "D2", "cursor": "page.two"})
    assert 'href="/documents?type=pdf&amp;dossier=D2"' in second.text  # the first page
    assert "Eerste pagina" in second.text
    asked = gateway.rpc.called(documents.LIST_DOCUMENTS)
    assert [(query.dossier_id, query.content_type, query.cursor) for query in asked
            if isinstance(query, documents.ListDocumentsQuery)] == [
        ("D2", "application/pdf", None), ("D2", "application/pdf", "page.two")]


def test_a_refused_cursor_in_a_documents_link_shows_the_first_page_with_a_notice(
    gateway: Gateway,
) -> None:
    def listed(query: BaseModel) -> documents.DocumentList:
        assert isinstance(query, documents.ListDocumentsQuery)
        if query.cursor is not None:
            raise Invalid("This page link is damaged or out of date: open the list from its "
                          "first page.", fields={"cursor": "not a cursor of this list"})
        return documents.DocumentList(documents=[])

    gateway.rpc.answer(documents.LIST_DOCUMENTS, listed)
    sign_in(gateway)
    page = gateway.client.get("/documents", params={"cursor": "forged"})
    assert page.status_code == 200
    assert "Die paginalink is niet meer geldig" in page.text
    assert "Eerste pagina" not in page.text
