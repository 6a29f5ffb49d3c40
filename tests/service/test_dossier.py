"""The dossier service stores imported dossiers and shows each caller only what they may see."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.rabbit import RabbitQueue, TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Forbidden, Invalid, NotFound
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from services.dossier.store import COLLECTIONS, DOSSIERS
from tests.service.conftest import call_in_memory

FIXTURES = Path(__file__).parents[1] / "fixtures"
DUPONT = "DOS-2019-00417"
PEETERS = "DOS-2022-01288"
AGENT = Caller(user_id="agent-1", role=Role.AGENT)
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])


def exported(name: str) -> dict[str, Any]:
    """A sample dossier as the broker's management system exports it."""
    data: dict[str, Any] = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
    return data


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def import_dossier(
    service: DossierService, data: dict[str, Any], caller: Caller = AGENT
) -> dossier.DossierSummary:
    request = dossier.ImportDossierRequest(
        caller=caller, dossier=dossier.DossierImport.model_validate(data)
    )
    return await call_in_memory(service.runtime.broker, dossier.IMPORT_DOSSIER, request)


async def list_contracts(
    service: DossierService, dossier_id: str, caller: Caller = PIETER
) -> dossier.ContractList:
    query = dossier.DossierQuery(caller=caller, dossier_id=dossier_id)
    return await call_in_memory(service.runtime.broker, dossier.LIST_CONTRACTS, query)


async def pending_events(service: DossierService, dossier_id: str) -> list[dict[str, Any]]:
    """The events stored with the dossier document (dossier-level events)."""
    stored = await service.runtime.database[DOSSIERS].find_one({"_id": dossier_id})
    return [] if stored is None else list(stored.get("outbox", {}).values())


async def stored_objects(service: DossierService) -> int:
    """How many object documents every collection holds (removed ones included)."""
    database = service.runtime.database
    return sum([await database[name].count_documents({}) for name in COLLECTIONS.values()])


async def test_an_imported_dossier_lists_its_contracts_with_the_risk_objects_they_cover(
    service: DossierService,
) -> None:
    summary = await import_dossier(service, exported("dupont"))
    assert (summary.dossier_id, summary.person_count, summary.contract_count) == (DUPONT, 3, 3)

    listed = await list_contracts(service, DUPONT)
    assert [c.policy_number for c in listed.contracts] == [
        "AU-7712.345.219", "WO-2019-0088412", "FA-55.120.774"
    ]
    car = listed.contracts[0]
    assert [g.code for g in car.guarantees] == ["BA-AUTO", "OMNIUM", "BIJSTAND"]
    assert car.start_date.isoformat() == "2021-03-15"
    assert car.annual_premium_cents == 114532
    assert [r.details.get("license_plate") for r in listed.risk_objects] == ["1-ABC-123", None]


async def test_a_reimport_replaces_the_dossier(service: DossierService) -> None:
    await import_dossier(service, exported("dupont"))
    update = exported("dupont")
    update["name"] = "Gezin Dupont"
    update["contracts"] = [c for c in update["contracts"] if c["contract_id"] != "C-00417-WONING"]
    update["invoices"] = [i for i in update["invoices"] if i["contract_id"] != "C-00417-WONING"]

    summary = await import_dossier(service, update)

    assert (summary.name, summary.contract_count) == ("Gezin Dupont", 2)
    listed = await list_contracts(service, DUPONT)
    assert [c.contract_id for c in listed.contracts] == ["C-00417-AUTO", "C-00417-BAF"]
    assert [r.risk_object_id for r in listed.risk_objects] == ["R-00417-1"]
    assert await service.runtime.database[DOSSIERS].count_documents({}) == 1
    routing_keys = sorted(e["routing_key"] for e in await pending_events(service, DUPONT))
    assert routing_keys == ["dossier.dossier.changed", "dossier.dossier.changed",
                            "dossier.dossier.imported", "dossier.dossier.imported"]


async def test_an_invalid_import_writes_nothing_and_names_the_bad_fields(
    service: DossierService,
) -> None:
    broken = exported("dupont")
    broken["contracts"][1]["risk_object_ids"] = ["R9"]
    broken["claims"][0]["contract_id"] = "C9"

    with pytest.raises(Invalid) as refused:
        await import_dossier(service, broken)

    assert refused.value.fields == {
        "contracts[1].risk_object_ids[0]": "unknown risk object R9",
        "claims[0].contract_id": "unknown contract C9",
    }
    assert await service.runtime.database[DOSSIERS].count_documents({}) == 0
    assert await stored_objects(service) == 0
    with pytest.raises(NotFound):
        await list_contracts(service, DUPONT, caller=AGENT)


async def test_an_invalid_reimport_leaves_the_stored_dossier_as_it_was(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    broken = exported("dupont")
    broken["contracts"] = broken["contracts"][:1]  # the home's invoice now has no contract
    broken["name"] = "Should not be stored"

    with pytest.raises(Invalid) as refused:
        await import_dossier(service, broken)

    assert refused.value.fields == {"invoices[1].contract_id": "unknown contract C-00417-WONING"}
    query = dossier.DossierQuery(caller=PIETER, dossier_id=DUPONT)
    summary = await call_in_memory(service.runtime.broker, dossier.GET_DOSSIER_SUMMARY, query)
    assert (summary.name, summary.contract_count) == ("Gezin Dupont - Claes", 3)
    assert len(await pending_events(service, DUPONT)) == 2  # of the first import only


async def test_a_malformed_date_is_refused_with_its_field(service: DossierService) -> None:
    broken = exported("peeters")
    broken["contracts"][0]["start_date"] = "31/02/2022"
    request = {"caller": AGENT.model_dump(), "dossier": broken}
    response = await service.runtime.broker.request(request, queue=dossier.IMPORT_DOSSIER.queue)
    reply = await response.decode()
    assert isinstance(reply, dict)
    assert reply["error"]["code"] == "invalid"
    assert "dossier.contracts.0.start_date" in reply["error"]["fields"]
    assert await service.runtime.database[DOSSIERS].count_documents({}) == 0


async def test_a_client_may_not_import_a_dossier(service: DossierService) -> None:
    with pytest.raises(Forbidden):
        await import_dossier(service, exported("dupont"), caller=PIETER)
    assert await service.runtime.database[DOSSIERS].count_documents({}) == 0


async def test_a_client_gets_not_found_for_a_dossier_not_granted(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    await import_dossier(service, exported("peeters"))
    query = dossier.DossierQuery(caller=PIETER, dossier_id=PEETERS)

    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, dossier.LIST_CONTRACTS, query)
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, dossier.GET_DOSSIER_SUMMARY, query)


async def test_staff_see_every_dossier(service: DossierService) -> None:
    await import_dossier(service, exported("peeters"))
    listed = await list_contracts(service, PEETERS, caller=AGENT)
    assert [c.product for c in listed.contracts] == ["Brandverzekering huurder"]


async def test_the_dossier_chooser_shows_only_granted_dossiers_that_exist(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    await import_dossier(service, exported("peeters"))
    query = dossier.DossierListQuery(
        caller=PIETER, dossier_ids=[PEETERS, DUPONT, "DOS-NEVER-IMPORTED", DUPONT]
    )
    reply = await call_in_memory(service.runtime.broker, dossier.LIST_DOSSIER_SUMMARIES, query)
    assert [d.name for d in reply.dossiers] == ["Gezin Dupont - Claes"]

    granted_both = Caller(user_id="u-an", role=Role.CLIENT, dossier_ids=[PEETERS, DUPONT])
    query = dossier.DossierListQuery(caller=granted_both, dossier_ids=[PEETERS, DUPONT])
    reply = await call_in_memory(service.runtime.broker, dossier.LIST_DOSSIER_SUMMARIES, query)
    assert [d.dossier_id for d in reply.dossiers] == [PEETERS, DUPONT]


async def test_an_import_is_announced_on_the_events_exchange(
    mongo_url: str, database_name: str
) -> None:
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    received: list[dict[str, Any]] = []

    @built.runtime.broker.subscriber(
        RabbitQueue("test.dossier-events", routing_key="dossier.#"), EVENTS)
    async def _listen(body: dict[str, Any]) -> None:
        received.append(body)

    try:
        async with TestRabbitBroker(built.runtime.broker):
            await import_dossier(built, exported("peeters"))
            assert len(await pending_events(built, PEETERS)) == 2  # changed (created), imported

            assert await built.relay.relay_pending() == 6  # + person, risk, contract, invoice

            imported = [dossier.DossierImported.model_validate(body) for body in received
                        if body.get("name") and "change" not in body]
            assert [(e.dossier_id, e.name) for e in imported] == [(PEETERS, "An Peeters")]
            assert await pending_events(built, PEETERS) == []
            assert await built.relay.relay_pending() == 0
    finally:
        await built.runtime.database.client.drop_database(database_name)
