"""Staff files the publish page sent but never announced (the browser closed before its batch
call) are announced by the documents service itself, one batch per dossier, once the dossier
received none for the configured delay; no document is ever announced twice, also when the
page's batch comes late or races with the service.

Runs on the in-memory broker, the real Mongo-wire server and the real S3 (SeaweedFS/MinIO).
"""

import asyncio
from datetime import timedelta
from typing import Any

from libs.contracts.envelope import new_id, utc_now
from services.documents.main import DocumentsService
from services.documents.store import DOCUMENTS
from tests.service.documents_support import (  # noqa: F401 - fixtures
    CLIENT,
    POLICY_PDF,
    begin,
    bucket_fixture,
    complete,
    publish,
    published_batches_fixture,
    published_events_fixture,
    put,
    service_fixture,
)
from tests.service.test_document_batches import CONTRACT, publish_batch

DELAY = timedelta(seconds=600)  # the setting's default: ten minutes


def later(service: DocumentsService, after: timedelta) -> None:
    service.announcer._clock = lambda: utc_now() + after


async def announced_titles(
    service: DocumentsService, published_batches: list[dict[str, Any]]
) -> list[tuple[str, list[str]]]:
    await service.relay.relay_pending()
    return sorted((batch["dossier_id"], batch["titles"]) for batch in published_batches)


async def test_files_whose_batch_never_came_are_announced_once_per_dossier_after_the_delay(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    await publish(service, title="Polis auto", context=CONTRACT)
    await publish(service, title="Groene kaart")
    await publish(service, title="Polis woning", dossier_id="D2")
    slot = await begin(service, POLICY_PDF, caller=CLIENT, title="Foto schade")
    await put(slot, POLICY_PDF)
    await complete(service, slot, POLICY_PDF, caller=CLIENT)  # a client's: never announced

    later(service, DELAY - timedelta(minutes=1))
    assert await service.announcer.announce_overdue() == []

    later(service, DELAY + timedelta(minutes=1))
    assert len(await service.announcer.announce_overdue()) == 2
    assert await announced_titles(service, published_batches) == [
        ("D1", ["Polis auto", "Groene kaart"]), ("D2", ["Polis woning"])]
    d1 = next(batch for batch in published_batches if batch["dossier_id"] == "D1")
    # Two contexts in one batch: the mail names the general data, which lists them all.
    assert d1["context"] == {"kind": "general", "ref_id": None}
    assert d1["count"] == 2

    assert await service.announcer.announce_overdue() == []  # once only
    await service.relay.relay_pending()
    assert len(published_batches) == 2


async def test_the_pages_late_batch_announces_only_what_the_service_did_not(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    first = await publish(service, title="Polis auto", context=CONTRACT)
    later(service, DELAY + timedelta(minutes=1))
    await service.announcer.announce_overdue()
    second = await publish(service, title="Groene kaart", context=CONTRACT)

    late = await publish_batch(service, [first.document_id, second.document_id])

    assert (late.count, late.announced_before) == (1, 1)
    assert await announced_titles(service, published_batches) == [
        ("D1", ["Groene kaart"]), ("D1", ["Polis auto"])]
    fully_late = await publish_batch(service, [first.document_id, second.document_id])
    assert (fully_late.count, fully_late.announced_before) == (0, 2)
    await service.relay.relay_pending()
    assert len(published_batches) == 2


async def test_a_page_batch_racing_the_service_announces_each_file_once(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    files = [await publish(service, title=f"Bijlage {number}") for number in range(6)]
    later(service, DELAY + timedelta(minutes=1))

    page, _ = await asyncio.gather(
        publish_batch(service, [document.document_id for document in files]),
        service.announcer.announce_overdue())

    await service.relay.relay_pending()
    titles = sorted(title for batch in published_batches for title in batch["titles"])
    assert titles == [f"Bijlage {number}" for number in range(6)]
    assert page.count + page.announced_before == 6


async def test_a_batch_left_open_by_a_crash_is_announced_by_the_next_check(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    document = await publish(service, title="Polis auto")
    batch_id = new_id()
    # The page's batch call claimed the file, then the service stopped before closing it.
    await service.store.open_batch(batch_id, dossier_id="D1",
                                   document_ids=[document.document_id], now=utc_now())
    await service.store.claim_for_batch(batch_id, "D1", [document.document_id])
    assert await service.announcer.announce_overdue() == []  # may still be on its way

    later(service, DELAY + timedelta(minutes=1))
    assert await service.announcer.announce_overdue() == [batch_id]
    assert await announced_titles(service, published_batches) == [("D1", ["Polis auto"])]
    assert published_batches[0]["batch_id"] == batch_id
    assert await service.announcer.announce_overdue() == []


async def test_documents_stored_before_announcements_were_tracked_keep_their_batch(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    announced = await publish(service, title="Polis auto")
    await publish_batch(service, [announced.document_id])
    await publish(service, title="Groene kaart")  # its page closed before the batch call
    await service.relay.relay_pending()
    published_batches.clear()
    await service.runtime.database[DOCUMENTS].update_many({}, {"$unset": {"announced_in": ""}})

    await service.store.ensure_indexes()  # what a starting service does
    later(service, DELAY + timedelta(minutes=1))
    await service.announcer.announce_overdue()

    assert await announced_titles(service, published_batches) == [("D1", ["Groene kaart"])]


async def test_a_batch_of_one_context_keeps_its_context(
    service: DocumentsService, published_batches: list[dict[str, Any]],
) -> None:
    await publish(service, title="Polis auto", context=CONTRACT)
    later(service, DELAY + timedelta(minutes=1))
    await service.announcer.announce_overdue()
    await service.relay.relay_pending()
    assert published_batches[0]["context"] == CONTRACT.model_dump(mode="json")
