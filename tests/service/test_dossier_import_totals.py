"""Imports of one dossier run one at a time, and the list totals always match what is stored."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from libs.contracts import dossier
from libs.contracts.dossier import ObjectKind
from libs.contracts.envelope import Event
from libs.servicekit.errors import ServiceError
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from services.dossier.store import COLLECTIONS, Stored
from tests.service.conftest import call_in_memory
from tests.service.test_dossier_import import AGENT, DUPONT, exported, upsert


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    """The dossier service on the in-memory broker and a database of its own."""
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def totals(service: DossierService) -> dict[str, int]:
    """The totals a client sees on top of each list page and in the dossier chooser."""
    broker = service.runtime.broker
    query = dossier.ListQuery(caller=AGENT, dossier_id=DUPONT)
    summary = await call_in_memory(broker, dossier.GET_DOSSIER_SUMMARY,
                                   dossier.DossierQuery(caller=AGENT, dossier_id=DUPONT))
    invoices = await call_in_memory(broker, dossier.LIST_INVOICES, query)
    return {
        "persons": summary.person_count,
        "risk objects": (await call_in_memory(broker, dossier.LIST_RISK_OBJECTS, query)).total,
        "contracts": (await call_in_memory(broker, dossier.LIST_CONTRACT_PAGE, query)).total,
        "claims": (await call_in_memory(broker, dossier.LIST_CLAIMS, query)).total,
        "invoices": invoices.total,
        "open cents": invoices.open_amount_cents,
        "overdue": invoices.overdue_count,
    }


DUPONT_TOTALS = {"persons": 3, "risk objects": 2, "contracts": 3, "claims": 1, "invoices": 2,
                 "open cents": 48720, "overdue": 1}


async def test_two_imports_of_the_same_dossier_at_once_both_succeed_one_after_the_other(
    service: DossierService,
) -> None:
    first, second = await asyncio.gather(upsert(service, exported()),
                                         upsert(service, exported()))

    reports = sorted([first, second], key=lambda report: report.created)
    assert (reports[0].created, reports[0].unchanged) == (0, 11)  # the later one found it all
    assert (reports[1].created, reports[1].unchanged) == (11, 0)
    assert await totals(service) == DUPONT_TOTALS
    contracts = service.runtime.database[COLLECTIONS["contract"]]
    assert await contracts.count_documents({"dossier_id": DUPONT}) == 3


async def test_an_interrupted_import_run_again_leaves_exact_totals(
    service: DossierService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_objects = service.store.write_objects

    async def crash_at_the_claims(dossier_id: str, kind: ObjectKind,
                                  writes: Sequence[tuple[BaseModel, Event, Stored]],
                                  first_position: int) -> None:
        if kind == "claim":
            raise ConnectionError("the database went away")
        await write_objects(dossier_id, kind, writes, first_position)

    monkeypatch.setattr(service.store, "write_objects", crash_at_the_claims)
    with pytest.raises(ServiceError):
        await upsert(service, exported())
    monkeypatch.setattr(service.store, "write_objects", write_objects)

    again = await upsert(service, exported())  # the lock of the crashed import is gone

    assert (again.created, again.unchanged) == (3, 8)  # the claim and the two invoices
    assert await totals(service) == DUPONT_TOTALS


async def test_removals_and_additions_keep_the_totals_exact(service: DossierService) -> None:
    await upsert(service, exported())
    data: dict[str, Any] = exported()
    data["invoices"] = [i for i in data["invoices"] if i["amount_cents"] != 48720]
    await upsert(service, {"dossier_id": DUPONT, "invoices": data["invoices"]},
                 remove_missing=True)
    assert await totals(service) == {**DUPONT_TOTALS, "invoices": 1, "open cents": 0,
                                     "overdue": 0}


async def test_a_person_still_insured_by_a_risk_object_stays(service: DossierService) -> None:
    data = exported()
    insured = data["persons"][-1]["person_id"]
    data["risk_objects"].append({
        "risk_object_id": "R-00417-9", "kind": "person", "description": "Hospitalisation",
        "insured_person": {"person_id": insured, "cover": "health"}})
    await upsert(service, data)

    persons = [p for p in data["persons"] if p["person_id"] != insured]
    report = await upsert(service, {"dossier_id": DUPONT, "persons": persons},
                          remove_missing=True)

    assert report.removed == 0
    [refusal] = report.rejections
    assert refusal.object_id == insured
    assert "still used by risk object R-00417-9" in refusal.reasons["persons"]
    assert (await totals(service))["persons"] == 3
