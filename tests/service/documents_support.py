"""Shared pieces of the documents service tests: the service on the in-memory broker, the real
Mongo-wire server and the real S3, and helpers that upload, complete, list and open documents."""

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
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from tests.conftest import RUN_ID
from tests.service.conftest import call_in_memory
from tests.service.dossier_stand_in import DossierStandIn

STAFF = Caller(user_id="staff1", role=Role.AGENT)
CLIENT = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D1", "D3"])
POLICY_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 40 + b"%%EOF"


@pytest.fixture(name="bucket", scope="module")
def bucket_fixture(s3_settings: dict[str, str]) -> Iterator[str]:
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


@pytest.fixture(name="published_events")
def published_events_fixture() -> list[dict[str, Any]]:
    """DocumentPublished events the outbox relay sent out."""
    return []


@pytest.fixture(name="published_batches")
def published_batches_fixture() -> list[dict[str, Any]]:
    """DocumentsBatchPublished events the outbox relay sent out."""
    return []


@pytest.fixture(name="service")
async def service_fixture(
    mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
    published_events: list[dict[str, Any]], published_batches: list[dict[str, Any]],
) -> AsyncIterator[DocumentsService]:
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=bucket), rpc=DossierStandIn())
    queue = RabbitQueue("test.documents-published",
                        routing_key=documents.DocumentPublished.routing_key)

    @built.runtime.broker.subscriber(queue, EVENTS)
    async def collect(body: dict[str, Any]) -> None:
        published_events.append(body)

    @built.runtime.broker.subscriber(
        RabbitQueue("test.documents-batches",
                    routing_key=documents.DocumentsBatchPublished.routing_key), EVENTS)
    async def collect_batch(body: dict[str, Any]) -> None:
        published_batches.append(body)

    await built.store.ensure_indexes()
    await built.storage.ensure_bucket()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def begin(
    service: DocumentsService, body: bytes, *, caller: Caller = STAFF, dossier_id: str = "D1",
    content_type: str = "application/pdf", title: str = "Polis auto", filename: str = "polis.pdf",
    context: documents.DocumentContext | None = None,
) -> documents.UploadSlot:
    request = documents.BeginUploadRequest(
        caller=caller, dossier_id=dossier_id, title=title, filename=filename,
        content_type=content_type, size=len(body),
        context=context or documents.DocumentContext())
    return await call_in_memory(service.runtime.broker, documents.BEGIN_UPLOAD, request)


async def put(slot: documents.UploadSlot, body: bytes) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(slot.upload_url, content=body,
                                  headers={"Content-Type": "application/pdf"})
    response.raise_for_status()


async def complete(
    service: DocumentsService, slot: documents.UploadSlot, body: bytes, *, size: int | None = None,
    caller: Caller = STAFF,
) -> documents.DocumentPublic:
    request = documents.CompleteUploadRequest(
        caller=caller, document_id=slot.document_id, size=len(body) if size is None else size,
        sha256=hashlib.sha256(body).hexdigest(), correlation_id="corr-1")
    return await call_in_memory(service.runtime.broker, documents.COMPLETE_UPLOAD, request)


async def publish(service: DocumentsService, body: bytes = POLICY_PDF, *, dossier_id: str = "D1",
                  title: str = "Polis auto", filename: str = "polis.pdf",
                  context: documents.DocumentContext | None = None,
                  ) -> documents.DocumentPublic:
    slot = await begin(service, body, dossier_id=dossier_id, title=title, filename=filename,
                       context=context)
    await put(slot, body)
    return await complete(service, slot, body)


async def listed(service: DocumentsService, dossier_id: str = "D1",
                 caller: Caller = CLIENT, **filters: Any) -> list[str]:
    query = documents.ListDocumentsQuery(caller=caller, dossier_id=dossier_id, **filters)
    reply = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENTS, query)
    return [document.title for document in reply.documents]


async def open_download(service: DocumentsService, document_id: str, dossier_id: str = "D1",
                        caller: Caller = CLIENT) -> documents.DownloadTicket:
    request = documents.OpenDownloadRequest(caller=caller, dossier_id=dossier_id,
                                            document_id=document_id)
    return await call_in_memory(service.runtime.broker, documents.OPEN_DOWNLOAD, request)


