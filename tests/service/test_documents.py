"""The documents service: staff publish PDFs into a dossier; its clients list and download them.

Runs on the in-memory broker, the real Mongo-wire server and the real S3 (SeaweedFS/MinIO).
"""

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from faststream.rabbit import RabbitQueue, TestRabbitBroker
from minio import Minio

from libs.contracts import documents
from libs.contracts.caller import Caller, Role
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from tests.conftest import RUN_ID
from tests.service.conftest import call_in_memory

STAFF = Caller(user_id="staff1", role=Role.AGENT)
CLIENT = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1", "D3"])
POLICY_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 40 + b"%%EOF"


@pytest.fixture(scope="module")
def bucket(s3_settings: dict[str, str]) -> Iterator[str]:
    """A bucket of this test run, emptied and removed afterwards."""
    name = f"test-documents-{RUN_ID}"
    yield name
    endpoint = httpx.URL(s3_settings["endpoint"])
    client = Minio(f"{endpoint.host}:{endpoint.port}", access_key=s3_settings["access_key"],
                   secret_key=s3_settings["secret_key"], secure=endpoint.scheme == "https",
                   region="us-east-1")
    if client.bucket_exists(name):
        for stored in client.list_objects(name, recursive=True):
            client.remove_object(name, stored.object_name)
        client.remove_bucket(name)


@pytest.fixture
def published_events() -> list[dict[str, Any]]:
    """DocumentPublished events the outbox relay sent out."""
    return []


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
    published_events: list[dict[str, Any]],
) -> AsyncIterator[DocumentsService]:
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket))
    queue = RabbitQueue("test.documents-published",
                        routing_key=documents.DocumentPublished.routing_key)

    @built.runtime.broker.subscriber(queue, EVENTS)
    async def collect(body: dict[str, Any]) -> None:
        published_events.append(body)

    await built.store.ensure_indexes()
    await built.storage.ensure_bucket()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def begin(
    service: DocumentsService, body: bytes, *, caller: Caller = STAFF, dossier_id: str = "D1",
    content_type: str = "application/pdf", title: str = "Polis auto",
) -> documents.UploadSlot:
    request = documents.BeginUploadRequest(
        caller=caller, dossier_id=dossier_id, title=title, filename="polis.pdf",
        content_type=content_type, size=len(body))
    return await call_in_memory(service.runtime.broker, documents.BEGIN_UPLOAD, request)


async def put(slot: documents.UploadSlot, body: bytes) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(slot.upload_url, content=body,
                                  headers={"Content-Type": "application/pdf"})
    response.raise_for_status()


async def complete(
    service: DocumentsService, slot: documents.UploadSlot, body: bytes, *, size: int | None = None
) -> documents.DocumentPublic:
    request = documents.CompleteUploadRequest(
        caller=STAFF, document_id=slot.document_id, size=len(body) if size is None else size,
        sha256=hashlib.sha256(body).hexdigest(), correlation_id="corr-1")
    return await call_in_memory(service.runtime.broker, documents.COMPLETE_UPLOAD, request)


async def publish(service: DocumentsService, body: bytes = POLICY_PDF, *, dossier_id: str = "D1",
                  title: str = "Polis auto") -> documents.DocumentPublic:
    slot = await begin(service, body, dossier_id=dossier_id, title=title)
    await put(slot, body)
    return await complete(service, slot, body)


async def listed(service: DocumentsService, dossier_id: str = "D1",
                 caller: Caller = CLIENT) -> list[str]:
    query = documents.ListDocumentsQuery(caller=caller, dossier_id=dossier_id)
    reply = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
    return [document.title for document in reply.documents]


async def open_download(service: DocumentsService, document_id: str, dossier_id: str = "D1",
                        caller: Caller = CLIENT) -> documents.DownloadTicket:
    request = documents.OpenDownloadRequest(caller=caller, dossier_id=dossier_id,
                                            document_id=document_id)
    return await call_in_memory(service.runtime.broker, documents.OPEN_DOWNLOAD, request)


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


async def test_a_client_cannot_publish_documents(service: DocumentsService) -> None:
    with pytest.raises(Forbidden):
        await begin(service, POLICY_PDF, caller=CLIENT)


async def test_a_file_announced_as_another_type_than_pdf_is_refused(
    service: DocumentsService,
) -> None:
    with pytest.raises(Invalid) as refused:
        await begin(service, b"GIF89a", content_type="image/gif")
    assert refused.value.fields is not None and "content_type" in refused.value.fields


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


async def test_a_body_that_is_not_a_pdf_is_refused_even_when_announced_as_pdf(
    service: DocumentsService,
) -> None:
    word_file = b"PK\x03\x04" + b"\x00" * 100
    slot = await begin(service, word_file)
    await put(slot, word_file)
    with pytest.raises(Invalid, match="not a PDF"):
        await complete(service, slot, word_file)
    assert await listed(service) == []


async def test_completing_before_the_body_arrived_is_refused_and_can_be_retried(
    service: DocumentsService,
) -> None:
    slot = await begin(service, POLICY_PDF)
    with pytest.raises(Invalid, match="Nothing was uploaded"):
        await complete(service, slot, POLICY_PDF)
    await put(slot, POLICY_PDF)
    await complete(service, slot, POLICY_PDF)
    assert await listed(service) == ["Polis auto"]


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
