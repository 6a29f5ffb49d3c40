"""The orphan sweep: a crash between the metadata and S3 writes is found and repaired."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import documents
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Forbidden, Gone, NotFound
from services.documents.config import DocumentsSettings
from services.documents.domain import DocumentState
from services.documents.main import DocumentsService, build
from services.documents.orphans import OrphanSweep
from tests.conftest import RUN_ID
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (
    CLIENT,
    POLICY_PDF,
    STAFF,
    begin,
    complete,
    listed,
    open_download,
    publish,
    put,
)
from tests.service.dossier_stand_in import DossierStandIn


@pytest.fixture(name="service")
async def own_bucket_service(
    mongo_url: str, database_name: str, s3_settings: dict[str, str]
) -> AsyncIterator[DocumentsService]:
    """The service on a bucket of its own: the sweep sees only this test's objects."""
    built = build(DocumentsSettings(
        mongo_url=mongo_url, mongo_db=database_name, s3_endpoint=s3_settings["endpoint"],
        s3_access_key=s3_settings["access_key"], s3_secret_key=s3_settings["secret_key"],
        s3_bucket=f"test-orphans-{RUN_ID}"), rpc=DossierStandIn())
    await built.store.ensure_indexes()
    await built.storage.ensure_bucket()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    for key in await built.storage.keys_older_than(utc_now() + timedelta(days=1)):
        await built.storage.remove(key)
    await built.runtime.database.client.drop_database(database_name)


def sweep_now(service: DocumentsService) -> OrphanSweep:
    return OrphanSweep(service.store, service.storage, grace=timedelta(seconds=-5))


async def test_an_upload_killed_between_its_writes_is_found_rejected_and_its_body_removed(
    service: DocumentsService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    slot = await begin(service, POLICY_PDF)  # first write: the metadata
    await put(slot, POLICY_PDF)  # second write: the body in S3

    async def killed(*args: object, **kwargs: object) -> bool:
        raise SystemExit("documents service killed before it recorded the upload")

    monkeypatch.setattr(service.store, "publish", killed)
    with pytest.raises(SystemExit):
        await service.handlers.complete_upload(documents.CompleteUploadRequest(
            caller=STAFF, document_id=slot.document_id, size=len(POLICY_PDF), sha256="0" * 64))
    monkeypatch.undo()
    assert await service.storage.stored_size(f"D1/{slot.document_id}") == len(POLICY_PDF)

    report = await sweep_now(service).sweep()

    assert report.abandoned_uploads == [slot.document_id]
    assert await service.storage.stored_size(f"D1/{slot.document_id}") is None
    stored = await service.store.get(slot.document_id)
    assert stored is not None and stored.state == DocumentState.REJECTED
    assert await listed(service) == []


async def test_a_published_document_whose_body_was_lost_is_marked_damaged(
    service: DocumentsService,
) -> None:
    document = await publish(service)
    await service.storage.remove(f"D1/{document.document_id}")

    report = await sweep_now(service).sweep()

    assert report.missing_bodies == [document.document_id]
    with pytest.raises(Gone):
        await open_download(service, document.document_id)


async def test_an_object_without_metadata_is_removed_and_a_healthy_document_is_left_alone(
    service: DocumentsService,
) -> None:
    healthy = await publish(service)
    stray = await begin(service, POLICY_PDF)
    await put(stray, POLICY_PDF)
    await service.runtime.database["documents"].delete_one({"_id": stray.document_id})

    report = await sweep_now(service).sweep()

    assert report.stray_objects == [f"D1/{stray.document_id}"]
    assert report.abandoned_uploads == [] and report.missing_bodies == []
    assert (await open_download(service, healthy.document_id)).document == healthy
    with pytest.raises(NotFound):
        await complete(service, stray, POLICY_PDF)


async def test_an_upload_within_the_grace_period_is_left_to_finish(
    service: DocumentsService,
) -> None:
    slot = await begin(service, POLICY_PDF)
    await put(slot, POLICY_PDF)
    report = await OrphanSweep(service.store, service.storage,
                               grace=timedelta(hours=1)).sweep()
    assert report.abandoned_uploads == [] and report.stray_objects == []
    assert (await complete(service, slot, POLICY_PDF)).size == len(POLICY_PDF)


async def test_staff_see_the_swept_upload_and_the_lost_body_among_the_document_problems(
    service: DocumentsService,
) -> None:
    lost = await publish(service)
    await service.storage.remove(f"D1/{lost.document_id}")
    abandoned = await begin(service, POLICY_PDF)
    await sweep_now(service).sweep()

    problems = await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENT_PROBLEMS,
                                    documents.DocumentProblemsQuery(caller=STAFF))

    by_id = {problem.document_id: problem for problem in problems.problems}
    assert by_id[abandoned.document_id].problem == "upload_failed"
    assert by_id[abandoned.document_id].reason == "The upload was never completed."
    assert by_id[lost.document_id].problem == "damaged"
    assert by_id[lost.document_id].reason == "The stored file is missing."
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, documents.LIST_DOCUMENT_PROBLEMS,
                             documents.DocumentProblemsQuery(caller=CLIENT))
