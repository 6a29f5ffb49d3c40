"""Each service's part of a client's data export, on its real store and the real S3: the part's
JSON (and schema) lands under the export's prefix, holds the client's records and no other
dossier's, and `privacy.export.part_ready` is stored in the service's outbox (once)."""

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker
from minio import Minio
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.contracts.privacy import ExportPart, ExportRequested
from libs.servicekit.export_parts import EXPORT_PARTS, ExportPartWriter, PartBuilder
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import OUTBOX_FIELD
from services.documents.main import DocumentsService
from services.documents.privacy_export import DocumentsPartBuilder
from services.dossier.config import DossierSettings
from services.dossier.main import build as build_dossier
from services.dossier.privacy_export import DossiersPartBuilder
from services.notifier.privacy_export import MailsPartBuilder
from services.requests.privacy_export import RequestsPartBuilder
from services.signing.privacy_export import SignaturesPartBuilder
from tests.conftest import RUN_ID
from tests.service.conftest import call_in_memory
from tests.service.documents_support import (  # noqa: F401 - fixtures of the documents service
    bucket_fixture,
    publish,
    published_batches_fixture,
    published_events_fixture,
    service_fixture,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
DUPONT, PEETERS = "DOS-2019-00417", "DOS-2022-01288"
AGENT = Caller(user_id="agent-1", role=Role.AGENT)


@pytest.fixture(name="exports_bucket", scope="module")
def exports_bucket_fixture(s3_settings: dict[str, str]) -> Iterator[str]:
    """The exports bucket of this test run, emptied and removed afterwards."""
    name = f"test-exports-{RUN_ID}"
    yield name
    endpoint = httpx.URL(s3_settings["endpoint"])
    client = Minio(f"{endpoint.host}:{endpoint.port}", access_key=s3_settings["access_key"],
                   secret_key=s3_settings["secret_key"], secure=False, region="us-east-1")
    if client.bucket_exists(name):
        for stored in client.list_objects(name, recursive=True):
            client.remove_object(name, stored.object_name)
        client.remove_bucket(name)


@pytest.fixture(name="exports")
async def exports_fixture(s3_settings: dict[str, str], exports_bucket: str) -> ExportStorage:
    storage = ExportStorage(endpoint=s3_settings["endpoint"], access_key=s3_settings["access_key"],
                            secret_key=s3_settings["secret_key"], region="us-east-1",
                            bucket=exports_bucket, timeout_seconds=10.0)
    await storage.ensure_bucket()
    return storage


@pytest.fixture(name="database")
async def database_fixture(mongo_url: str, database_name: str
                           ) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    yield client[database_name]
    await client.drop_database(database_name)
    await client.close()


def requested(part: ExportPart, dossier_ids: list[str], *, email: str = "pieter@example.be"
              ) -> ExportRequested:
    export_id = f"export{RUN_ID}{part.value}"[:32]
    return ExportRequested(export_id=export_id, account_id="u-pieter", email=email,
                           dossier_ids=dossier_ids, parts=[part],
                           prefix=f"exports/{export_id}/")


async def write_part(database: AsyncDatabase[Document], storage: ExportStorage,
                     part: ExportPart, build: PartBuilder, event: ExportRequested
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the part twice (a redelivery); its JSON, and the report in the outbox."""
    writer = ExportPartWriter(database, storage, part, build)
    await writer.on_requested(event)
    await writer.on_requested(event)  # a redelivery writes nothing again
    records = [record async for record in database[EXPORT_PARTS].find(
        {"export_id": event.export_id})]
    assert len(records) == 1
    [entry] = records[0][OUTBOX_FIELD].values()
    body = await storage.read_bytes(f"{event.prefix}{part.value}/{part.value}.json")
    schema = await storage.read_bytes(f"{event.prefix}{part.value}/{part.value}.schema.json")
    assert body is not None and schema is not None
    assert json.loads(schema)["type"] == "object"
    return json.loads(body), entry


async def test_the_dossiers_part_holds_the_granted_dossiers_as_imported(
    mongo_url: str, database_name: str, exports: ExportStorage,
) -> None:
    service = build_dossier(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await service.store.ensure_indexes()
    async with TestRabbitBroker(service.runtime.broker):
        for name in ("dupont", "peeters"):
            data = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
            await call_in_memory(service.runtime.broker, dossier.IMPORT_DOSSIER,
                                 dossier.ImportDossierRequest(
                                     caller=AGENT, dossier=dossier.DossierImport.model_validate(
                                         data)))
        event = requested(ExportPart.DOSSIERS, [DUPONT])
        part, report = await write_part(service.runtime.database, exports, ExportPart.DOSSIERS,
                                        DossiersPartBuilder(service.store), event)
    await service.runtime.database.client.drop_database(database_name)
    imported = json.loads((FIXTURES / "dossier_dupont.json").read_text("utf-8"))
    [exported] = part["dossiers"]
    assert exported["dossier_id"] == DUPONT and exported["name"] == imported["name"]
    assert [person["person_id"] for person in exported["persons"]] == [
        person["person_id"] for person in imported["persons"]]
    assert len(exported["contracts"]) == len(imported["contracts"])
    assert len(exported["invoices"]) == len(imported["invoices"])
    assert PEETERS not in json.dumps(part)
    assert report["routing_key"] == "privacy.export.part_ready"
    assert report["payload"]["part"] == "dossiers"
    assert report["payload"]["records"] > len(imported["persons"])


async def test_the_documents_part_streams_each_original_into_the_export(
    service: DocumentsService, exports: ExportStorage,
) -> None:
    mine = await publish(service, b"%PDF-1.4\nmijn polis\n%%EOF", dossier_id="D1")
    await publish(service, b"%PDF-1.4\niemand anders\n%%EOF", dossier_id="D2")
    event = requested(ExportPart.DOCUMENTS, ["D1"])
    part, report = await write_part(service.runtime.database, exports, ExportPart.DOCUMENTS,
                                    DocumentsPartBuilder(service.runtime.database,
                                                         service.storage), event)
    [record] = part["records"]
    assert record["record_id"] == mine.document_id
    [stored] = part["files"]
    assert stored["record_id"] == mine.document_id
    assert await exports.read_bytes(event.prefix + stored["path"]) == (
        b"%PDF-1.4\nmijn polis\n%%EOF")
    assert stored["path"] in report["payload"]["keys"]
    assert "iemand anders" not in json.dumps(part)


async def insert(database: AsyncDatabase[Document], collection: str, *rows: Document) -> None:
    await database[collection].insert_many([dict(row) for row in rows])


@pytest.mark.parametrize(("part", "builder", "collections", "expected", "other"), [
    (ExportPart.REQUESTS, RequestsPartBuilder, {
        "requests": [{"_id": "r1", "dossier_id": DUPONT, "subject": "Nieuwe wagen",
                      "entries": [{"body": "Graag een offerte"}]},
                     {"_id": "r2", "dossier_id": PEETERS, "subject": "Van een ander"}],
        "client_sheets": [{"_id": "s1", "dossier_id": DUPONT, "answers": {"beroep": "bakker"}}],
        "form_drafts": [{"_id": f"u-pieter|{DUPONT}|claim|", "data": {"description": "deuk"}},
                        {"_id": f"u-other|{DUPONT}|claim|", "data": {"description": "niet"}}],
    }, {"r1", "s1", f"u-pieter|{DUPONT}|claim|"}, "Van een ander"),
    (ExportPart.SIGNATURES, SignaturesPartBuilder, {
        "signature_requests": [{"_id": "sig1", "dossier_id": DUPONT, "title": "Klantenfiche"},
                               {"_id": "sig2", "dossier_id": PEETERS, "title": "Andermans"}],
        "audit_records": [{"_id": "sig1:000000001", "action": "signed", "ip": "192.0.2.1"},
                          {"_id": "sig2:000000001", "action": "signed", "ip": "192.0.2.9"}],
    }, {"sig1", "sig1:000000001"}, "Andermans"),
    (ExportPart.MAILS, MailsPartBuilder, {
        "mails": [{"_id": "m1", "recipient": "Pieter Dupont <pieter@example.be>",
                   "subject": "Uw toegang", "created_at": utc_now()},
                  {"_id": "m2", "recipient": "an@example.be", "subject": "Voor An"}],
        "preferences": [{"_id": "u-pieter", "documents": "daily_digest", "language": "fr"},
                        {"_id": "u-an", "documents": "immediate", "language": "Voor An"}],
    }, {"m1", "u-pieter"}, "Voor An"),
])
async def test_a_records_part_holds_the_clients_records_only(
    database: AsyncDatabase[Document], exports: ExportStorage, part: ExportPart,
    builder: type[Any], collections: dict[str, list[Document]], expected: set[str], other: str,
) -> None:
    for name, rows in collections.items():
        await insert(database, name, *rows)
    event = requested(part, [DUPONT])
    written, report = await write_part(database, exports, part, builder(database), event)
    assert {record["record_id"] for record in written["records"]} == expected
    assert other not in json.dumps(written)
    assert report["payload"]["records"] == len(expected)


class Failing(BaseModel):
    pass


async def test_a_part_that_keeps_failing_is_reported_failed_with_its_reason(
    database: AsyncDatabase[Document], exports: ExportStorage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("libs.servicekit.export_parts.BUILD_PAUSES_SECONDS", (0.0,))
    calls: list[int] = []

    async def broken(event: ExportRequested, files: Any) -> tuple[BaseModel, int]:
        calls.append(1)
        raise RuntimeError("the store answered nonsense")

    event = requested(ExportPart.MAILS, [DUPONT])
    writer = ExportPartWriter(database, exports, ExportPart.MAILS, broken)
    await writer.on_requested(event)
    [record] = [record async for record in database[EXPORT_PARTS].find({})]
    [entry] = record[OUTBOX_FIELD].values()
    assert len(calls) == 2  # tried again once here, then reported
    assert entry["routing_key"] == "privacy.export.part_failed"
    assert "the store answered nonsense" in entry["payload"]["reason"]
