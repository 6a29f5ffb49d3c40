"""Bulk import by the broker's references: idempotent, partial, per-object refusals, events."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.rabbit import RabbitQueue, TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Forbidden
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from services.dossier.store import COLLECTIONS, DOSSIERS
from tests.service.conftest import call_in_memory

FIXTURES = Path(__file__).parents[1] / "fixtures"
DUPONT = "DOS-2019-00417"
AGENT = Caller(user_id="agent-1", role=Role.AGENT)
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])


def exported(name: str = "dupont") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
    return data


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()

    @built.runtime.broker.subscriber(
        RabbitQueue("test.dossier-changes", routing_key="dossier.#"), EVENTS)
    async def _listen(body: dict[str, Any]) -> None:
        """Another service keeping what it needs of the dossier's changes."""

    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def upsert(service: DossierService, record: dict[str, Any], *,
                 remove_missing: bool = False, caller: Caller = AGENT) -> dossier.ImportReport:
    request = dossier.UpsertDossierRequest(
        caller=caller, record=dossier.DossierRecord.model_validate(record),
        remove_missing=remove_missing)
    return await call_in_memory(service.runtime.broker, dossier.UPSERT_DOSSIER, request)


async def stored_events(service: DossierService) -> list[dict[str, Any]]:
    """Every event waiting in an outbox, over every collection."""
    events: list[dict[str, Any]] = []
    for name in (DOSSIERS, *COLLECTIONS.values()):
        async for document in service.runtime.database[name].find({}, {"outbox": 1}):
            events.extend(document.get("outbox", {}).values())
    return events


def counts(report: dossier.ImportReport) -> tuple[str, int, int, int, int, int]:
    return (report.dossier, report.created, report.updated, report.unchanged, report.removed,
            report.rejected)


async def test_the_same_import_twice_changes_nothing_the_second_time(
    service: DossierService,
) -> None:
    first = await upsert(service, exported())
    assert counts(first) == ("created", 11, 0, 0, 0, 0)
    events_after_first = await stored_events(service)
    assert len(events_after_first) == 12  # the dossier + one per object

    second = await upsert(service, exported())

    assert counts(second) == ("unchanged", 0, 0, 11, 0, 0)
    assert len(await stored_events(service)) == 12  # no new event, no duplicate
    contracts = service.runtime.database[COLLECTIONS["contract"]]
    assert await contracts.count_documents({"dossier_id": DUPONT}) == 3


async def test_each_change_emits_a_changed_event_of_its_object(service: DossierService) -> None:
    await upsert(service, exported())
    await service.relay.relay_pending()  # TestRabbitBroker: published events need a listener
    changed = exported()
    changed["contracts"][0]["annual_premium_cents"] = 119900

    report = await upsert(service, {"dossier_id": DUPONT, "contracts": changed["contracts"]})

    assert counts(report) == ("unchanged", 0, 1, 2, 0, 0)
    [event] = await stored_events(service)
    assert event["routing_key"] == "dossier.contract.changed"
    assert event["payload"]["change"] == "updated"
    assert event["payload"]["contract"]["annual_premium_cents"] == 119900
    assert event["payload"]["contract"]["risk_object_ids"] == ["R-00417-1"]
    assert event["payload"]["dossier_id"] == DUPONT


async def test_a_refused_object_is_reported_and_the_valid_ones_go_in(
    service: DossierService,
) -> None:
    data = exported()
    data["risk_objects"][0]["vehicle"]["license_plate"] = "AB-123-CD"

    report = await upsert(service, data)

    assert counts(report) == ("created", 7, 0, 0, 0, 4)
    assert [(r.path, r.object_id) for r in report.rejections] == [
        ("risk_objects[0]", "R-00417-1"), ("contracts[0]", "C-00417-AUTO"),
        ("claims[0]", "S-00417-1"), ("invoices[0]", "F-00417-1")]
    listed = await call_in_memory(service.runtime.broker, dossier.LIST_CONTRACTS,
                                  dossier.DossierQuery(caller=PIETER, dossier_id=DUPONT))
    assert [c.contract_id for c in listed.contracts] == ["C-00417-WONING", "C-00417-BAF"]
    # Nothing of a refused object was written, not even half of it.
    risks = service.runtime.database[COLLECTIONS["risk_object"]]
    assert await risks.count_documents({"risk_object_id": "R-00417-1"}) == 0


async def test_removal_of_missing_objects_happens_only_when_asked(
    service: DossierService,
) -> None:
    await upsert(service, exported())
    await service.relay.relay_pending()
    data = exported()
    data["invoices"] = data["invoices"][:1]

    kept = await upsert(service, data)
    assert counts(kept) == ("unchanged", 0, 0, 10, 0, 0)

    removed = await upsert(service, data, remove_missing=True)
    assert counts(removed) == ("unchanged", 0, 0, 10, 1, 0)
    [event] = await stored_events(service)
    assert (event["routing_key"], event["payload"]["change"], event["payload"]["invoice_id"]) == (
        "dossier.invoice.changed", "removed", "F-00417-2")
    page = await call_in_memory(service.runtime.broker, dossier.LIST_INVOICES, dossier.ListQuery(
        caller=PIETER, dossier_id=DUPONT))
    assert [i.invoice_id for i in page.items] == ["F-00417-1"]


async def test_a_removed_object_imported_again_is_created_again(service: DossierService) -> None:
    await upsert(service, exported())
    data = exported()
    data["invoices"] = data["invoices"][:1]
    await upsert(service, data, remove_missing=True)

    report = await upsert(service, exported())

    assert counts(report) == ("unchanged", 1, 0, 10, 0, 0)


async def test_a_new_dossier_needs_a_name(service: DossierService) -> None:
    report = await upsert(service, {"dossier_id": "DOS-NEW", "persons": []})
    assert report.dossier == "rejected"
    assert report.rejections[0].reasons == {"name": "required: this dossier is new"}
    assert await service.runtime.database[DOSSIERS].count_documents({}) == 0


async def test_a_client_may_not_upsert(service: DossierService) -> None:
    with pytest.raises(Forbidden):
        await upsert(service, exported(), caller=PIETER)
