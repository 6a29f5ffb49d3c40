"""The documents service: staff publish documents into a dossier, clients attach files; they list
and download them.

Runs on the in-memory broker, the real Mongo-wire server and the real S3 (SeaweedFS/MinIO).
"""

import hashlib
import time
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import documents
from libs.servicekit.errors import Conflict, Gone, Invalid, NotFound
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from services.documents.sniffing import HEAD_BYTES, UNPACKS_TOO_LARGE
from tests.document_samples import zip_bomb_docx
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures
    CLIENT,
    POLICY_PDF,
    STAFF,
    begin,
    bucket_fixture,
    complete,
    listed,
    open_download,
    publish,
    published_batches_fixture,
    published_events_fixture,
    put,
    service_fixture,
)
from tests.service.dossier_stand_in import DossierStandIn


async def test_a_published_pdf_is_listed_and_downloads_byte_for_byte(
    service: DocumentsService, published_events: list[dict[str, Any]]
) -> None:
    slot = await begin(service, POLICY_PDF)
    assert slot.max_size == 50 * 1024 * 1024
    await put(slot, POLICY_PDF)
    document = await complete(service, slot, POLICY_PDF)

    assert document.size == len(POLICY_PDF)
    assert document.sha256 == hashlib.sha256(POLICY_PDF).hexdigest()
    assert await listed(service) == ["Polis auto"]
    ticket = await open_download(service, document.document_id)
    assert ticket.document == document
    async with httpx.AsyncClient() as http:
        downloaded = await http.get(ticket.download_url)
    assert downloaded.status_code == 200
    assert downloaded.content == POLICY_PDF

    assert await service.relay.relay_pending() == 1
    assert [(e["document_id"], e["dossier_id"], e["title"], e["correlation_id"])
            for e in published_events] == [(document.document_id, "D1", "Polis auto", "corr-1")]


async def test_a_client_attaches_a_file_to_a_claim_of_their_own_dossier(
    service: DocumentsService,
) -> None:
    claim = documents.DocumentContext(kind=documents.ContextKind.CLAIM, ref_id="CL1")
    slot = await begin(service, POLICY_PDF, caller=CLIENT, context=claim, title="Foto schade")
    assert slot.max_size == 2 * 1024 * 1024
    await put(slot, POLICY_PDF)
    attached = await complete(service, slot, POLICY_PDF, caller=CLIENT)
    assert (attached.uploader_kind, attached.uploaded_by) == (documents.UploaderKind.CLIENT, "u1")
    assert attached.context == claim
    assert await listed(service, context=claim) == ["Foto schade"]


async def test_a_client_attachment_over_two_megabytes_is_refused(
    service: DocumentsService,
) -> None:
    request = documents.BeginUploadRequest(
        caller=CLIENT, dossier_id="D1", title="Groot", filename="groot.pdf",
        content_type="application/pdf", size=2 * 1024 * 1024 + 1)
    with pytest.raises(Invalid) as refused:
        await call_in_memory(service.runtime.broker, documents.BEGIN_UPLOAD, request)
    assert refused.value.fields == {"size": "The file is larger than the 2 MB allowed."}


async def test_a_client_cannot_complete_someone_elses_upload(service: DocumentsService) -> None:
    slot = await begin(service, POLICY_PDF)
    await put(slot, POLICY_PDF)
    with pytest.raises(NotFound):
        await complete(service, slot, POLICY_PDF, caller=CLIENT)


async def test_a_context_other_than_the_general_data_must_name_its_object(
    service: DocumentsService,
) -> None:
    with pytest.raises(Invalid) as refused:
        await begin(service, POLICY_PDF,
                    context=documents.DocumentContext(kind=documents.ContextKind.CONTRACT))
    assert refused.value.fields is not None and "context" in refused.value.fields


async def test_the_declared_type_is_ignored_the_bytes_decide(service: DocumentsService) -> None:
    document = await publish(service, b"GIF89a" + b"\x00" * 64, filename="foto.pdf")
    assert document.content_type == "image/gif"


async def test_a_file_name_with_a_right_to_left_override_is_kept_and_listed_without_it(
    service: DocumentsService,
) -> None:
    # Shown as it arrives, "factuur\u202efdp.exe" reads "factuurexe.pdf" in any browser.
    document = await publish(service, filename="factuur\u202efdp.exe",
                             title="Factuur \u2066juni\u2069\u200f")
    assert (document.filename, document.title) == ("factuurfdp.exe", "Factuur juni")
    stored = await service.store.get(document.document_id)
    assert stored is not None and stored.filename == "factuurfdp.exe"
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1")
    page = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
    assert [d.filename for d in page.documents] == ["factuurfdp.exe"]


async def test_a_zip_bomb_docx_is_refused_at_once_and_never_unpacked(
    service: DocumentsService, published_events: list[dict[str, Any]],
) -> None:
    bomb = zip_bomb_docx(200)  # ~200 KB that inflate to 200 MiB
    slot = await begin(service, bomb, filename="polis.docx")
    await put(slot, bomb)
    started = time.monotonic()
    with pytest.raises(Invalid, match="possible zip bomb"):
        await complete(service, slot, bomb)
    assert time.monotonic() - started < 2.0  # the directory was read, nothing inflated

    # Never published, so never converted, announced nor offered; the body is gone from S3.
    assert await listed(service) == []
    assert await service.relay.relay_pending() == 0
    assert published_events == []
    assert await service.storage.stored_size(f"D1/{slot.document_id}") is None
    problems = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENT_PROBLEMS,
                                    documents.DocumentProblemsQuery(caller=STAFF))
    [problem] = problems.problems
    assert problem.document_id == slot.document_id and problem.problem == "upload_failed"
    assert problem.reason == UNPACKS_TOO_LARGE


async def test_a_file_over_fifty_megabytes_is_refused_before_any_upload(
    service: DocumentsService,
) -> None:
    request = documents.BeginUploadRequest(
        caller=STAFF, dossier_id="D1", title="Te groot", filename="groot.pdf",
        content_type="application/pdf", size=50 * 1024 * 1024 + 1)
    with pytest.raises(Invalid) as refused:
        await call_in_memory(service.runtime.broker, documents.BEGIN_UPLOAD, request)
    assert refused.value.fields == {"size": "The file is larger than the 50 MB allowed."}


async def test_a_size_other_than_stored_is_refused_and_the_document_stays_unpublished(
    service: DocumentsService, published_events: list[dict[str, Any]]
) -> None:
    slot = await begin(service, POLICY_PDF)
    await put(slot, POLICY_PDF)
    with pytest.raises(Invalid, match="not the"):
        await complete(service, slot, POLICY_PDF, size=len(POLICY_PDF) + 1)

    assert await listed(service) == []
    with pytest.raises(NotFound):
        await open_download(service, slot.document_id)
    with pytest.raises(Conflict, match="refused"):
        await complete(service, slot, POLICY_PDF)
    assert await service.relay.relay_pending() == 0
    assert published_events == []


async def test_a_zip_announced_as_pdf_is_kept_as_zip_and_offered_only_as_download(
    service: DocumentsService,
) -> None:
    archive = b"PK\x03\x04" + b"\x00" * 100
    document = await publish(service, archive)
    assert document.content_type == "application/zip"
    assert document.rendition.state == documents.RenditionState.FAILED
    assert document.rendition.reason is not None
    original = await open_download(service, document.document_id)
    assert original.content_type == "application/zip"
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, documents.OPEN_DOWNLOAD,
                             documents.OpenDownloadRequest(
                                 caller=CLIENT, dossier_id="D1", document_id=document.document_id,
                                 variant=documents.BodyVariant.VIEW))


async def test_the_staff_page_refuses_a_type_mybroker_cannot_show_and_removes_its_body(
    service: DocumentsService, published_events: list[dict[str, Any]],
) -> None:
    archive = b"PK\x03\x04" + b"\x00" * 100
    slot = await begin(service, archive, filename="archief.zip")
    await put(slot, archive)
    request = documents.CompleteUploadRequest(
        caller=STAFF, document_id=slot.document_id, size=len(archive),
        sha256=hashlib.sha256(archive).hexdigest(), viewable_only=True)
    with pytest.raises(Invalid, match="unknown type"):
        await call_in_memory(service.runtime.broker, documents.COMPLETE_UPLOAD, request)

    assert await listed(service) == []
    assert await service.storage.stored_size(f"D1/{slot.document_id}") is None
    assert await service.relay.relay_pending() == 0
    assert published_events == []


async def test_completing_before_the_body_arrived_is_refused_and_can_be_retried(
    service: DocumentsService,
) -> None:
    slot = await begin(service, POLICY_PDF)
    with pytest.raises(Invalid, match="Nothing was uploaded"):
        await complete(service, slot, POLICY_PDF)
    await put(slot, POLICY_PDF)
    await complete(service, slot, POLICY_PDF)
    assert await listed(service) == ["Polis auto"]


async def test_the_stored_size_and_the_sniffed_head_come_from_one_ranged_read(
    service: DocumentsService,
) -> None:
    body = POLICY_PDF + b"%" + b"x" * (3 * HEAD_BYTES)  # well past the head the sniffer reads
    document = await publish(service, body)
    assert (document.size, document.content_type) == (len(body), "application/pdf")
    slot = await begin(service, b"x")
    await put(slot, b"")  # an empty object has no first byte to range over
    key = f"D1/{slot.document_id}"
    assert await service.storage.size_and_head(key, HEAD_BYTES) == (0, b"")
    assert await service.storage.size_and_head(f"D1/{'0' * 24}", HEAD_BYTES) is None


async def test_completing_the_same_upload_twice_publishes_it_once(
    service: DocumentsService, published_events: list[dict[str, Any]]
) -> None:
    slot = await begin(service, POLICY_PDF)
    await put(slot, POLICY_PDF)
    first = await complete(service, slot, POLICY_PDF)
    again = await complete(service, slot, POLICY_PDF)

    assert again == first
    assert await listed(service) == ["Polis auto"]
    await service.relay.relay_pending()
    assert len(published_events) == 1


async def test_documents_are_listed_newest_first(service: DocumentsService) -> None:
    await publish(service, title="Polis brand")
    await publish(service, title="Attest")
    assert await listed(service) == ["Attest", "Polis brand"]


async def test_another_clients_dossier_is_not_found(service: DocumentsService) -> None:
    other_dossiers_document = await publish(service, dossier_id="D2")
    with pytest.raises(NotFound):
        await listed(service, "D2")
    with pytest.raises(NotFound):
        await open_download(service, other_dossiers_document.document_id, "D2")
    # Asking through a dossier the client may see does not reveal another dossier's document.
    with pytest.raises(NotFound):
        await open_download(service, other_dossiers_document.document_id, "D1")


async def test_a_document_is_opened_only_through_its_own_dossier(
    service: DocumentsService,
) -> None:
    document = await publish(service, dossier_id="D3")
    with pytest.raises(NotFound):
        await open_download(service, document.document_id, "D1")
    assert (await open_download(service, document.document_id, "D3")).document == document


async def test_staff_see_the_documents_of_every_dossier(service: DocumentsService) -> None:
    await publish(service, dossier_id="D2", title="Klantenfiche")
    assert await listed(service, "D2", caller=STAFF) == ["Klantenfiche"]


async def test_a_context_lists_its_own_documents_and_the_general_data_lists_all(
    service: DocumentsService,
) -> None:
    contract = documents.DocumentContext(kind=documents.ContextKind.CONTRACT, ref_id="c1")
    risk = documents.DocumentContext(kind=documents.ContextKind.RISK_OBJECT, ref_id="r1")
    await publish(service, title="Polis", context=contract)
    await publish(service, title="Foto wagen", context=risk)
    await publish(service, title="Algemeen")
    assert await listed(service, context=contract) == ["Polis"]
    assert await listed(service, context=risk) == ["Foto wagen"]
    assert await listed(service, context=documents.DocumentContext()) == [
        "Algemeen", "Foto wagen", "Polis"]


async def test_the_list_is_paginated_and_filtered_by_type(service: DocumentsService) -> None:
    for number in range(3):
        await publish(service, title=f"Polis {number}")
    await publish(service, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, title="Foto",
                  filename="foto.png")
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1", page_size=2)
    first = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
    assert [document.title for document in first.documents] == ["Foto", "Polis 2"]
    page = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS,
                                query.model_copy(update={"cursor": first.next_cursor}))
    assert [document.title for document in page.documents] == ["Polis 1", "Polis 0"]
    assert page.total == 4 and page.next_cursor is None
    assert await listed(service, content_type="image/") == ["Foto"]
    assert await listed(service, content_type="application/pdf") == [
        "Polis 2", "Polis 1", "Polis 0"]


async def test_walking_the_list_by_its_cursors_shows_every_document_once_newest_first(
    service: DocumentsService,
) -> None:
    """Ties included: documents of the same millisecond keep one order by their id."""
    for number in range(7):
        await publish(service, title=f"Polis {number}")
    await publish(service, title="Elders", dossier_id="D3")
    store = service.runtime.database["documents"]
    same = await store.find_one({"title": "Polis 3"})
    assert same is not None
    moment = same["list_key"].partition("\x1f")[0]
    async for tied in store.find({"title": {"$in": ["Polis 2", "Polis 4"]}}):
        # Three documents of one moment: their ids order them.
        await store.update_one({"_id": tied["_id"]},
                               {"$set": {"list_key": f"{moment}\x1f{tied['_id']}"}})
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1", page_size=2)
    titles: list[str] = []
    while True:
        page = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
        titles += [document.title for document in page.documents]
        assert page.total == 7
        if page.next_cursor is None:
            break
        query = query.model_copy(update={"cursor": page.next_cursor})
    assert sorted(titles) == [f"Polis {number}" for number in range(7)]
    assert titles[:2] == ["Polis 6", "Polis 5"] and titles[-2:] == ["Polis 1", "Polis 0"]
    assert sorted(titles[2:5]) == ["Polis 2", "Polis 3", "Polis 4"]


async def test_documents_published_before_the_list_key_are_keyed_and_listed(
    service: DocumentsService,
) -> None:
    for number in range(3):
        await publish(service, title=f"Polis {number}")
    store = service.runtime.database["documents"]
    await store.update_many({}, {"$unset": {"list_key": ""}})
    await service.store.ensure_indexes()
    assert await listed(service, page_size=2) == ["Polis 2", "Polis 1"]
    assert await listed(service) == ["Polis 2", "Polis 1", "Polis 0"]


async def test_a_dossier_over_its_quota_refuses_more_uploads(
    mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
) -> None:
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket, dossier_quota_bytes=len(POLICY_PDF) + 10), rpc=DossierStandIn())
    async with TestRabbitBroker(built.runtime.broker):
        await publish(built)
        with pytest.raises(Invalid) as refused:
            await begin(built, POLICY_PDF)
    await built.runtime.database.client.drop_database(database_name)
    assert refused.value.fields == {"size": "The dossier's storage quota is used up."}


async def test_a_document_reported_damaged_is_never_served_again(
    service: DocumentsService,
) -> None:
    document = await publish(service)
    await call_in_memory(service.runtime.broker, documents.REPORT_DAMAGED,
                         documents.ReportDamagedRequest(
                             caller=CLIENT, dossier_id="D1", document_id=document.document_id,
                             variant=documents.BodyVariant.ORIGINAL, observed_sha256="0" * 64))
    query = documents.ListDocumentsQuery(caller=CLIENT, dossier_id="D1")
    [listed_document] = (await call_in_memory(
        service.runtime.broker, documents.LIST_DOCUMENTS, query)).documents
    assert listed_document.damaged
    with pytest.raises(Gone):
        await open_download(service, document.document_id)
