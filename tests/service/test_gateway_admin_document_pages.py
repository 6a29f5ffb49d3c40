"""The office's "Publish documents" page at the gateway (the services are fakes): contexts by
name, one file per request behind a CSRF header, readable refusals, one batch announced."""

from datetime import UTC, date, datetime

from libs.contracts import auth, documents, dossier
from libs.contracts.caller import Role
from libs.servicekit.errors import Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def with_dossier(gateway: Gateway) -> None:
    rpc = gateway.rpc
    rpc.answer(dossier.GET_DOSSIER_SUMMARY, dossier.DossierSummary(
        dossier_id="D1", name="Familie Peeters", person_count=1, contract_count=2))
    rpc.answer(dossier.LIST_PERSONS, dossier.PersonList(dossier_id="D1", persons=[
        dossier.Person(person_id="p1", role="policyholder", last_name="Peeters",
                       first_name="An")]))
    rpc.answer(dossier.LIST_RISK_OBJECTS, dossier.RiskObjectPage(
        dossier_id="D1", total=0, page=1, page_count=1, page_size=100, sort="position",
        descending=False, last_cursor="last", items=[]))
    rpc.answer(dossier.LIST_CLAIMS, dossier.ClaimPage(
        dossier_id="D1", total=1, page=1, page_count=1, page_size=100, sort="occurred_on",
        descending=False, last_cursor="last",
        items=[dossier.Claim(claim_id="cl1", claim_number="SCH-2025-7", contract_id="c1",
                             occurred_on=date(2025, 2, 1), description="Aanrijding")]))
    rpc.answer(documents.LIST_DOCUMENTS, documents.DocumentList(documents=[], total=0))


def published(request: object) -> documents.DocumentPublic:
    assert isinstance(request, documents.CompleteUploadRequest)
    return documents.DocumentPublic(
        document_id=request.document_id, dossier_id="D1", title="Groene kaart",
        filename="kaart.pdf", content_type="application/pdf", size=request.size,
        sha256=request.sha256, uploaded_by="staff1", uploaded_at=WHEN)


def send_file(gateway: Gateway, *, token: str | None, body: bytes = b"%PDF-1.4 kaart\n",
              ) -> dict[str, object]:
    headers = {"X-CSRF-Token": token} if token else {}
    response = gateway.client.post(
        "/admin/documents/D1/files", headers=headers,
        data={"title": "  Groene   kaart ", "context": "contract:c1"},
        files={"file": ("kaart.pdf", body, "application/pdf")})
    if not response.headers["content-type"].startswith("application/json"):
        return {"status": response.status_code}  # refused before the page's endpoint ran
    return {"status": response.status_code, **response.json()}


def test_the_page_lists_the_dossiers_contexts_by_name(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_dossier(gateway)
    page = gateway.client.get("/admin/documents?dossier_id=D1&context=claim:cl1")
    assert page.status_code == 200
    for name in ("Familie Peeters", "De algemene gegevens van het dossier", "An Peeters",
                 "AUTO-2024-0001 · Autoverzekering (AG Insurance)", "SCH-2025-7 · Aanrijding"):
        assert name in page.text
    assert '<option value="claim:cl1" selected>' in page.text
    assert 'data-files-url="/admin/documents/D1/files"' in page.text


def test_the_context_list_follows_the_pages_of_a_long_list(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_dossier(gateway)

    def contract_page(request: object) -> dossier.ContractPage:
        assert isinstance(request, dossier.ListQuery)
        number = 2 if request.cursor == "page-2" else 1
        return dossier.ContractPage(
            dossier_id="D1", total=2, page=number, page_count=2, page_size=100,
            sort="policy_number", descending=False, last_cursor="page-2",
            next_cursor="page-2" if number == 1 else None,
            items=[dossier.Contract(
                contract_id=f"c{number}", policy_number=f"POL-{number}", insurer="AG Insurance",
                product="Brand", start_date=date(2024, 1, 1), annual_premium_cents=45000)])

    gateway.rpc.answer(dossier.LIST_CONTRACT_PAGE, contract_page)
    page = gateway.client.get("/admin/documents?dossier_id=D1")
    assert page.status_code == 200
    assert "POL-1 · Brand (AG Insurance)" in page.text
    assert "POL-2 · Brand (AG Insurance)" in page.text
    assert len(gateway.rpc.called(dossier.LIST_CONTRACT_PAGE)) == 2


def test_a_mistyped_context_in_the_address_shows_the_general_data(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_dossier(gateway)
    page = gateway.client.get("/admin/documents?dossier_id=D1&context=polis:1")
    assert page.status_code == 200
    assert '<option value="general" selected>' in page.text
    [listed] = gateway.rpc.called(documents.LIST_DOCUMENTS)
    assert isinstance(listed, documents.ListDocumentsQuery) and listed.context is None


def test_an_unknown_dossier_number_is_said_so(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(dossier.GET_DOSSIER_SUMMARY, Invalid("no such dossier"))
    page = gateway.client.get("/admin/documents?dossier_id=D9")
    assert page.status_code == 404
    assert "Geen enkel dossier heeft dit nummer." in page.text


def test_a_file_is_published_with_its_title_and_context_but_not_yet_announced(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc1", upload_url="http://s3.test/D1/doc1", max_size=1024))
    gateway.rpc.answer(documents.COMPLETE_UPLOAD, published)
    answer = send_file(gateway, token=csrf(gateway))
    assert answer == {"status": 201, "document_id": "doc1", "title": "Groene kaart",
                      "filename": "kaart.pdf"}
    [begun] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begun, documents.BeginUploadRequest)
    assert begun.title == "Groene kaart"
    assert begun.context == documents.DocumentContext(kind="contract", ref_id="c1")
    [completed] = gateway.rpc.called(documents.COMPLETE_UPLOAD)
    assert isinstance(completed, documents.CompleteUploadRequest) and completed.viewable_only
    assert gateway.store.objects["/D1/doc1"] == b"%PDF-1.4 kaart\n"
    assert gateway.rpc.called(documents.PUBLISH_BATCH) == []  # the batch comes at the end


def test_a_file_without_the_csrf_header_is_not_even_read(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    csrf(gateway)
    assert send_file(gateway, token=None)["status"] == 403
    assert send_file(gateway, token="forged")["status"] == 403
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []


def test_a_client_cannot_publish_through_the_office_page(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair(dossiers=("D1",)))
    gateway.client.post("/login", data={
        "email": "an@example.be", "password": "correct horse battery",
        "csrf_token": csrf(gateway)})
    response = gateway.client.post(
        "/admin/documents/D1/files", headers={"X-CSRF-Token": csrf(gateway)},
        files={"file": ("kaart.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert response.status_code == 403
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []


def test_refusals_are_readable_per_file(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    token = csrf(gateway)
    too_large = send_file(gateway, token=token, body=b"%PDF-" + b"x" * 2048)  # limit: 1 KiB
    assert too_large == {"status": 413, "error": "Het bestand is te groot."}

    gateway.rpc.answer(documents.BEGIN_UPLOAD, Invalid(
        "The document cannot be uploaded.",
        fields={"size": "The dossier's storage quota is used up."}))
    assert send_file(gateway, token=token) == {
        "status": 422, "error": "De opslagruimte van het dossier is opgebruikt."}

    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc2", upload_url="http://s3.test/D1/doc2", max_size=1024))
    gateway.rpc.answer(documents.COMPLETE_UPLOAD, Invalid(
        "MyBroker cannot show this type of file (unknown type).",
        fields={"file": "MyBroker cannot show this type of file (unknown type)."}))
    assert send_file(gateway, token=token) == {
        "status": 422, "error": "MyBroker kan dit soort bestand niet tonen (onbekend type)."}


def test_the_published_files_are_announced_as_one_batch(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    gateway.rpc.answer(documents.PUBLISH_BATCH, lambda request: documents.BatchPublic(
        batch_id="b" * 32, count=2))
    response = gateway.client.post("/admin/documents/D1/batches",
                                   headers={"X-CSRF-Token": csrf(gateway)},
                                   json={"document_ids": ["doc1", "doc2"]})
    assert response.status_code == 200
    assert response.json()["message"] == (
        "2 documenten gepubliceerd; de klant krijgt er één e-mail over.")
    [batch] = gateway.rpc.called(documents.PUBLISH_BATCH)
    assert isinstance(batch, documents.PublishBatchRequest)
    assert batch.dossier_id == "D1" and batch.document_ids == ["doc1", "doc2"]


def test_files_the_service_announced_before_the_pages_batch_came_count_as_published(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway, Role.AGENT)
    gateway.rpc.answer(documents.PUBLISH_BATCH, lambda request: documents.BatchPublic(
        batch_id="b" * 32, count=1, announced_before=2))
    response = gateway.client.post("/admin/documents/D1/batches",
                                   headers={"X-CSRF-Token": csrf(gateway)},
                                   json={"document_ids": ["doc1", "doc2", "doc3"]})
    assert response.json()["message"] == (
        "3 documenten gepubliceerd; de klant krijgt er één e-mail over.")
