"""The auth service owns the clients' data exports: one running per account, a few a day, the
parts' reports, a failed part asked again, the ZIP assembled in S3 when every part is in, the
time limit, and nobody but the account sees an export."""

import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import privacy
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.contracts.privacy import EXPORT_PARTS, ExportPart, ExportState
from libs.servicekit.errors import Forbidden, Gone, NotFound, RateLimited
from libs.servicekit.outbox import OUTBOX_FIELD
from services.auth.main import AuthService, build
from services.auth.privacy.export_rules import zip_filename
from services.auth.privacy.store import EXPORTS
from tests.conftest import RUN_ID
from tests.service.conftest import call_in_memory, settings
from tests.service.dossier_stand_in import DossierStandIn
from tests.service.test_auth import activate, invite, log_in
from tests.service.test_privacy_export_parts import (  # noqa: F401 - the exports bucket
    exports_bucket_fixture,
)

AGENT = Caller(user_id="agent-1", role=Role.AGENT)


@pytest.fixture(name="service")
async def auth_service(mongo_url: str, database_name: str, s3_settings: dict[str, str],
                       exports_bucket: str) -> AsyncIterator[AuthService]:
    built = build(settings(
        mongo_url, database_name, export_s3_endpoint=s3_settings["endpoint"],
        export_s3_access_key=s3_settings["access_key"],
        export_s3_secret_key=s3_settings["secret_key"], export_s3_bucket=exports_bucket,
        export_limit_per_day=2), rpc=DossierStandIn())
    await built.prepare_database()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def client(service: AuthService, email: str) -> Caller:
    """An invited, activated client of D1 who logged in once."""
    _, token = await invite(service, email=email, dossier_ids=("D1",))
    await activate(service, token)
    await log_in(service, email)
    account = await service.runtime.database["users"].find_one({"email": email})
    assert account is not None
    return Caller(user_id=account["_id"], role=Role.CLIENT, dossier_ids=["D1"])


async def ask(service: AuthService, caller: Caller) -> privacy.ExportStarted:
    return await call_in_memory(service.runtime.broker, privacy.REQUEST_EXPORT,
                                privacy.RequestExport(caller=caller, language="fr"))


async def stored(service: AuthService, export_id: str) -> dict[str, Any]:
    found = await service.runtime.database[EXPORTS].find_one({"_id": export_id})
    assert found is not None
    return found


def outbox(found: dict[str, Any], routing_key: str) -> list[dict[str, Any]]:
    return [entry["payload"] for entry in (found.get(OUTBOX_FIELD) or {}).values()
            if entry["routing_key"] == routing_key]


async def write_every_part(service: AuthService, export: dict[str, Any]) -> None:
    """What the six services do: each part's JSON in the bucket, then its report."""
    storage = service.privacy_exports._storage
    for part in EXPORT_PARTS:
        keys = [f"{part.value}/{part.value}.json", f"{part.value}/{part.value}.schema.json"]
        for key in keys:
            await storage.put_bytes(export["prefix"] + key, json.dumps(
                {"part": part.value}).encode(), "application/json")
        if part == ExportPart.DOCUMENTS:
            keys.append("documents/files/d1-polis.pdf")
            await storage.put_bytes(export["prefix"] + keys[-1], b"%PDF-1.4 polis",
                                    "application/pdf")
        await service.privacy_exports.on_part_ready(privacy.ExportPartReady(
            export_id=export["export_id"], part=part, attempt=1, keys=keys, records=1,
            size=10))


async def test_a_client_asks_once_and_a_second_ask_shows_the_running_export(
        service: AuthService) -> None:
    pieter = await client(service, f"pieter.{RUN_ID}@example.be")
    first = await ask(service, pieter)
    again = await ask(service, pieter)
    assert first.created and not again.created
    assert again.export.export_id == first.export.export_id
    assert again.export.state == ExportState.RUNNING
    [event] = outbox(await stored(service, first.export.export_id), "privacy.export.requested")
    assert event["account_id"] == pieter.user_id and event["dossier_ids"] == ["D1"]
    assert event["parts"] == [part.value for part in EXPORT_PARTS]
    assert event["email"] == f"pieter.{RUN_ID}@example.be"
    with pytest.raises(Forbidden):
        await ask(service, AGENT)


async def test_every_part_in_makes_the_zip_and_the_ready_mail_event(
        service: AuthService) -> None:
    pieter = await client(service, f"pieter2.{RUN_ID}@example.be")
    started = await ask(service, pieter)
    export_id = started.export.export_id
    [event] = outbox(await stored(service, export_id), "privacy.export.requested")
    await write_every_part(service, {"export_id": export_id, "prefix": event["prefix"]})

    found = await stored(service, export_id)
    assert found["state"] == "ready"
    [ready] = outbox(found, "privacy.export.ready")
    assert ready["email"] == f"pieter2.{RUN_ID}@example.be" and ready["language"] == "fr"
    download = await call_in_memory(service.runtime.broker, privacy.OPEN_EXPORT_DOWNLOAD,
                                    privacy.ExportQuery(caller=pieter, export_id=export_id))
    async with httpx.AsyncClient() as http:
        body = (await http.get(download.download_url)).content
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.read("documents/files/d1-polis.pdf") == b"%PDF-1.4 polis"
    assert "Vos données chez MyBroker" in archive.read("index.html").decode()
    manifest = json.loads(archive.read("manifest.json"))
    assert [entry["part"] for entry in manifest["parts"]] == [p.value for p in EXPORT_PARTS]
    # The parts went into the ZIP: only the ZIP stays in the bucket.
    storage = service.privacy_exports._storage
    assert await storage.read_bytes(event["prefix"] + "mails/mails.json") is None
    # Someone else, a client of the same dossier included, does not find it.
    an = await client(service, f"an.{RUN_ID}@example.be")
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, privacy.GET_EXPORT,
                             privacy.ExportQuery(caller=an, export_id=export_id))
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, privacy.OPEN_EXPORT_DOWNLOAD,
                             privacy.ExportQuery(caller=an, export_id=export_id))
    # A new one may be asked now that it is done; after the day's limit, no more.
    assert (await ask(service, pieter)).created
    await service.runtime.database["privacy_exports_running"].delete_many({})
    with pytest.raises(RateLimited):
        await ask(service, pieter)


async def test_a_failed_part_is_asked_again_then_fails_the_export_with_its_reason(
        service: AuthService) -> None:
    pieter = await client(service, f"pieter3.{RUN_ID}@example.be")
    export_id = (await ask(service, pieter)).export.export_id
    for attempt in (1, 2, 3):
        await service.privacy_exports.on_part_failed(privacy.ExportPartFailed(
            export_id=export_id, part=ExportPart.DOCUMENTS, attempt=attempt,
            reason=f"S3 refused ({attempt})"))
    found = await stored(service, export_id)
    retried = [event for event in outbox(found, "privacy.export.requested")
               if event["parts"] == ["documents"]]
    assert [event["attempt"] for event in retried] == [2, 3]
    assert found["state"] == "failed"
    mine = await call_in_memory(service.runtime.broker, privacy.GET_EXPORT,
                                privacy.ExportQuery(caller=pieter, export_id=export_id))
    assert mine.failed_parts == {"documents": "S3 refused (3)"}
    office = await call_in_memory(service.runtime.broker, privacy.LIST_EXPORTS,
                                  privacy.StaffExportsQuery(caller=AGENT, state="failed"))
    assert export_id in [export.export_id for export in office.exports]
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, privacy.LIST_EXPORTS,
                             privacy.StaffExportsQuery(caller=pieter))


async def test_an_export_past_its_time_limit_fails_and_an_expired_zip_is_gone(
        service: AuthService) -> None:
    pieter = await client(service, f"pieter4.{RUN_ID}@example.be")
    late = (await ask(service, pieter)).export.export_id
    await service.privacy_exports.on_part_ready(privacy.ExportPartReady(
        export_id=late, part=ExportPart.ACCOUNT, attempt=1, keys=[], records=1, size=1))
    past_ms = int((utc_now() - timedelta(minutes=1)).timestamp() * 1000)
    exports = service.runtime.database[EXPORTS]
    await exports.update_one({"_id": late}, {"$set": {"deadline_ms": past_ms}})
    await service.privacy_exports.sweep()
    mine = await call_in_memory(service.runtime.broker, privacy.GET_EXPORT,
                                privacy.ExportQuery(caller=pieter, export_id=late))
    assert mine.state == ExportState.FAILED
    assert mine.failed_parts["documents"] == "no answer within the time limit"
    assert "account" not in mine.failed_parts

    ready = (await ask(service, pieter)).export.export_id
    [event] = outbox(await stored(service, ready), "privacy.export.requested")
    await write_every_part(service, {"export_id": ready, "prefix": event["prefix"]})
    await exports.update_one({"_id": ready}, {"$set": {"expires_ms": past_ms}})
    await service.privacy_exports.sweep()
    with pytest.raises(Gone):
        await call_in_memory(service.runtime.broker, privacy.OPEN_EXPORT_DOWNLOAD,
                             privacy.ExportQuery(caller=pieter, export_id=ready))
    storage = service.privacy_exports._storage
    assert await storage.remove_prefix(event["prefix"]) == 0  # nothing was left


async def test_a_dossier_s_erasure_takes_its_exports_and_their_files_away(
        service: AuthService) -> None:
    pieter = await client(service, f"pieter5.{RUN_ID}@example.be")
    export_id = (await ask(service, pieter)).export.export_id
    [event] = outbox(await stored(service, export_id), "privacy.export.requested")
    await write_every_part(service, {"export_id": export_id, "prefix": event["prefix"]})
    storage = service.privacy_exports._storage
    zip_key = event["prefix"] + zip_filename(export_id)
    assert await storage.read_bytes(zip_key), "the ZIP is stored"

    forgotten = await service.privacy_exports.forget_dossier("D1")

    assert forgotten == {EXPORTS: 1}
    assert await service.runtime.database[EXPORTS].find_one({"_id": export_id}) is None
    assert await storage.read_bytes(zip_key) is None, "no file outlives its record"
    assert await service.privacy_exports.forget_dossier("D1") == {}  # erasing again: nothing
