"""Stored bodies are checked whole before a range of them is served, and scrubbed in the
background: a body damaged in S3 is found, reported and never served."""

import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker
from minio import Minio
from prometheus_client import REGISTRY

from libs.contracts import documents
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone
from services.documents.config import DocumentsSettings
from services.documents.main import DocumentsService, build
from services.documents.object_storage import ObjectStorage
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (
    CLIENT,
    POLICY_PDF,
    bucket_fixture,  # noqa: F401 - the `bucket` fixture
    publish,
)
from tests.service.dossier_stand_in import DossierStandIn

ServiceMaker = Callable[..., AbstractAsyncContextManager[DocumentsService]]


@pytest.fixture(name="make_service")
def make_service_fixture(
    mongo_url: str, database_name: str, s3_settings: dict[str, str], bucket: str,
) -> ServiceMaker:
    """The documents service with its integrity settings as the test needs them."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[DocumentsService]:
        built = build(DocumentsSettings(
            mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
            s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
            s3_bucket=bucket, **settings), rpc=DossierStandIn())
        await built.store.ensure_indexes()
        await built.storage.ensure_bucket()
        async with TestRabbitBroker(built.runtime.broker):
            yield built
        await built.runtime.database.client.drop_database(database_name)

    return make


def overwrite_in_s3(s3_settings: dict[str, str], bucket: str, key: str, body: bytes) -> None:
    """Damage a stored body behind the service's back, as a failing disk would."""
    endpoint = httpx.URL(s3_settings["endpoint"])
    Minio(f"{endpoint.host}:{endpoint.port}", access_key=s3_settings["access_key"],
          secret_key=s3_settings["secret_key"], secure=False, region="us-east-1",
          ).put_object(bucket, key, io.BytesIO(body), len(body))


def flipped(body: bytes, at: int = 100) -> bytes:
    """The same body with one byte changed: same size, another hash."""
    return body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]


def damaged_count(found_by: str) -> float:
    return REGISTRY.get_sample_value("mybroker_documents_damaged_total",
                                     {"found_by": found_by}) or 0.0


async def open_ranged(service: DocumentsService, document_id: str,
                      variant: documents.BodyVariant = documents.BodyVariant.ORIGINAL,
                      ) -> documents.DownloadTicket:
    return await call_in_memory(service.runtime.broker, documents.OPEN_DOWNLOAD,
                                documents.OpenDownloadRequest(
                                    caller=CLIENT, dossier_id="D1", document_id=document_id,
                                    variant=variant, ranged=True))


def count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys the service reads back whole from now on."""
    hashed: list[str] = []
    real = ObjectStorage.hash_object

    async def counted(storage: ObjectStorage, key: str, **kwargs: Any) -> str | None:
        hashed.append(key)
        return await real(storage, key, **kwargs)

    monkeypatch.setattr(ObjectStorage, "hash_object", counted)
    return hashed


async def test_a_range_of_a_pdf_damaged_in_s3_is_refused_and_the_document_marked_damaged(
    make_service: ServiceMaker, s3_settings: dict[str, str], bucket: str,
) -> None:
    async with make_service() as service:
        document = await publish(service)
        overwrite_in_s3(s3_settings, bucket, f"D1/{document.document_id}", flipped(POLICY_PDF))
        before = damaged_count("range_check")

        with pytest.raises(Gone):
            await open_ranged(service, document.document_id)

        assert damaged_count("range_check") == before + 1
        stored = await service.store.get(document.document_id)
        assert stored is not None and stored.damaged
        with pytest.raises(Gone):  # nor is the whole file served any more
            await open_ranged(service, document.document_id)


async def test_a_range_of_an_intact_pdf_is_allowed_after_one_check_that_is_not_repeated(
    make_service: ServiceMaker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with make_service() as service:
        document = await publish(service)
        hashed = count_hashing(monkeypatch)

        first = await open_ranged(service, document.document_id)
        second = await open_ranged(service, document.document_id)

        assert first.ranges and second.ranges
        assert hashed == [f"D1/{document.document_id}"]
        stored = await service.store.get(document.document_id)
        assert stored is not None and stored.original_verified_at is not None


async def test_a_check_older_than_the_verification_lifetime_is_done_again(
    make_service: ServiceMaker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with make_service(verified_for_seconds=0) as service:
        document = await publish(service)
        hashed = count_hashing(monkeypatch)
        assert (await open_ranged(service, document.document_id)).ranges
        assert (await open_ranged(service, document.document_id)).ranges
        assert len(hashed) == 2


async def test_a_body_lost_from_s3_is_reported_before_a_range_is_served(
    make_service: ServiceMaker,
) -> None:
    async with make_service() as service:
        document = await publish(service)
        await service.storage.remove(f"D1/{document.document_id}")
        with pytest.raises(Gone):
            await open_ranged(service, document.document_id)
        stored = await service.store.get(document.document_id)
        assert stored is not None and stored.damaged


async def test_a_check_that_takes_too_long_serves_the_whole_body_meanwhile(
    make_service: ServiceMaker,
) -> None:
    async with make_service(range_check_wait_seconds=0) as service:
        document = await publish(service)
        ticket = await open_ranged(service, document.document_id)
        assert not ticket.ranges  # the gateway serves the whole body, verified on the way
        for _ in range(100):  # the check goes on; a later range finds it done
            if (await open_ranged(service, document.document_id)).ranges:
                break
        else:
            pytest.fail("the range check never finished")


async def test_a_range_of_anything_but_a_pdf_is_never_allowed(
    make_service: ServiceMaker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with make_service() as service:
        document = await publish(service, b"Polis AUTO-2024-0001\n" * 50, filename="polis.txt")
        hashed = count_hashing(monkeypatch)
        ticket = await open_ranged(service, document.document_id)
        assert not ticket.ranges and hashed == []


async def test_a_whole_download_the_gateway_verified_allows_ranges_without_a_check(
    make_service: ServiceMaker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with make_service() as service:
        document = await publish(service)

        async def report(sha256: str) -> Ack:
            return await call_in_memory(
                service.runtime.broker, documents.REPORT_VERIFIED,
                documents.ReportVerifiedRequest(
                    caller=CLIENT, dossier_id="D1", document_id=document.document_id,
                    variant=documents.BodyVariant.ORIGINAL, observed_sha256=sha256))

        await report("0" * 64)  # another body's hash proves nothing
        stored = await service.store.get(document.document_id)
        assert stored is not None and stored.original_verified_at is None
        await report(document.sha256)
        hashed = count_hashing(monkeypatch)
        assert (await open_ranged(service, document.document_id)).ranges
        assert hashed == []


async def test_the_scrubber_finds_a_body_damaged_in_s3_and_verifies_the_others(
    make_service: ServiceMaker, s3_settings: dict[str, str], bucket: str,
) -> None:
    async with make_service(verified_for_seconds=0) as service:
        intact = await publish(service, title="Intact")
        damaged = await publish(service, title="Damaged")
        overwrite_in_s3(s3_settings, bucket, f"D1/{damaged.document_id}", flipped(POLICY_PDF))
        before = damaged_count("scrub")

        assert await service.verifier.scrub_due() == 2

        assert damaged_count("scrub") == before + 1
        found = {document.title: document
                 for document in await service.store.get_many([intact.document_id,
                                                               damaged.document_id])}
        assert found["Damaged"].damaged and not found["Intact"].damaged
        assert found["Intact"].scrubbed_at is not None
        assert found["Intact"].original_verified_at is not None
        assert await service.verifier.scrub_due() == 1  # the damaged one is left alone now


async def test_the_scrubber_leaves_bodies_checked_within_the_lifetime_alone(
    make_service: ServiceMaker,
) -> None:
    async with make_service(verified_for_seconds=3600) as service:
        await publish(service)
        assert await service.verifier.scrub_due() == 0


async def test_the_scrubber_reads_no_faster_than_the_configured_pace(
    make_service: ServiceMaker,
) -> None:
    async with make_service() as service:
        body = b"%PDF-1.4\n" + bytes(range(256)) * 8192  # 2 MiB and a bit
        document = await publish(service, body)
        pace = 4 * 1024 * 1024
        started = time.monotonic()
        observed = await service.storage.hash_object(f"D1/{document.document_id}",
                                                     bytes_per_second=pace)
        assert observed == document.sha256
        # A lower bound only: the reader waits until the pace allows what it has read.
        assert time.monotonic() - started >= len(body) / pace
