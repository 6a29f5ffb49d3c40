"""Staff publish documents in batches: the documents service announces each batch once, so the
client gets one mail per batch, not one per file.

Runs on the in-memory broker, the real Mongo-wire server and the real S3 (SeaweedFS/MinIO).
"""

from typing import Any

import pytest

from libs.contracts import documents
from libs.contracts.envelope import new_id
from libs.servicekit.errors import Forbidden, Invalid, NotFound
from services.documents.main import DocumentsService
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures
    CLIENT,
    POLICY_PDF,
    STAFF,
    begin,
    bucket_fixture,
    complete,
    publish,
    published_batches_fixture,
    published_events_fixture,
    put,
    service_fixture,
)

CONTRACT = documents.DocumentContext(kind=documents.ContextKind.CONTRACT, ref_id="C-1")


async def publish_batch(
    service: DocumentsService, document_ids: list[str], *, batch_id: str | None = None,
    dossier_id: str = "D1", caller: Any = STAFF,
) -> documents.BatchPublic:
    request = documents.PublishBatchRequest(
        caller=caller, dossier_id=dossier_id, batch_id=batch_id or new_id(),
        document_ids=document_ids, correlation_id="corr-batch")
    return await call_in_memory(service.runtime.broker, documents.PUBLISH_BATCH, request)


async def test_a_batch_of_two_files_is_announced_once_with_its_titles_and_context(
    service: DocumentsService, published_batches: list[dict[str, Any]],
    published_events: list[dict[str, Any]],
) -> None:
    first = await publish(service, title="Polis auto", context=CONTRACT)
    second = await publish(service, title="Groene kaart", context=CONTRACT)
    batch_id = new_id()

    reply = await publish_batch(service, [first.document_id, second.document_id],
                                batch_id=batch_id)

    assert (reply.batch_id, reply.count) == (batch_id, 2)
    await service.relay.relay_pending()
    assert len(published_events) == 2  # one per file, for the renditions
    [announced] = published_batches
    assert announced["batch_id"] == batch_id
    assert announced["dossier_id"] == "D1"
    assert announced["titles"] == ["Polis auto", "Groene kaart"]
    assert announced["count"] == 2
    assert announced["context"] == {"kind": "contract", "ref_id": "C-1"}
    assert announced["correlation_id"] == "corr-batch"


async def test_the_same_batch_sent_twice_is_announced_once(
    service: DocumentsService, published_batches: list[dict[str, Any]]
) -> None:
    document = await publish(service)
    batch_id = new_id()
    await publish_batch(service, [document.document_id], batch_id=batch_id)
    again = await publish_batch(service, [document.document_id], batch_id=batch_id)
    assert again.count == 1
    await service.relay.relay_pending()
    assert len(published_batches) == 1


async def test_only_staff_announce_a_batch(service: DocumentsService) -> None:
    document = await publish(service)
    with pytest.raises(Forbidden):
        await publish_batch(service, [document.document_id], caller=CLIENT)


async def test_a_batch_with_a_document_of_another_dossier_or_unknown_is_refused(
    service: DocumentsService, published_batches: list[dict[str, Any]]
) -> None:
    ours = await publish(service)
    theirs = await publish(service, dossier_id="D2")
    with pytest.raises(NotFound):
        await publish_batch(service, [ours.document_id, theirs.document_id])
    with pytest.raises(NotFound):
        await publish_batch(service, [ours.document_id, new_id()])
    await service.relay.relay_pending()
    assert published_batches == []


async def test_an_upload_not_yet_completed_is_not_announced(service: DocumentsService) -> None:
    slot = await begin(service, POLICY_PDF)
    with pytest.raises(NotFound):
        await publish_batch(service, [slot.document_id])
    await put(slot, POLICY_PDF)
    await complete(service, slot, POLICY_PDF)
    assert (await publish_batch(service, [slot.document_id])).count == 1


async def test_a_clients_attachment_is_not_announced_as_the_offices_batch(
    service: DocumentsService,
) -> None:
    slot = await begin(service, POLICY_PDF, caller=CLIENT)
    await put(slot, POLICY_PDF)
    attached = await complete(service, slot, POLICY_PDF, caller=CLIENT)
    with pytest.raises(Invalid):
        await publish_batch(service, [attached.document_id])


async def test_a_batch_spans_one_context(service: DocumentsService) -> None:
    general = await publish(service)
    contract = await publish(service, context=CONTRACT)
    with pytest.raises(Invalid):
        await publish_batch(service, [general.document_id, contract.document_id])
