"""What a client reads of their dossier (manual 3.1): lists by page and sortable, and details."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Invalid, NotFound
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from tests.service.conftest import call_in_memory

FIXTURES = Path(__file__).parents[1] / "fixtures"
DUPONT = "DOS-2019-00417"
PEETERS = "DOS-2022-01288"
AGENT = Caller(user_id="agent-1", role=Role.AGENT)
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])


def exported(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"dossier_{name}.json").read_text("utf-8"))
    return data


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        for name in ("dupont", "peeters"):
            await call_in_memory(built.runtime.broker, dossier.IMPORT_DOSSIER,
                                 dossier.ImportDossierRequest(
                                     caller=AGENT,
                                     dossier=dossier.DossierImport.model_validate(exported(name))))
        yield built
    await built.runtime.database.client.drop_database(database_name)


def listing(**fields: Any) -> dossier.ListQuery:
    return dossier.ListQuery(caller=PIETER, dossier_id=DUPONT, **fields)


def item(object_id: str, caller: Caller = PIETER, dossier_id: str = DUPONT) -> dossier.ObjectQuery:
    return dossier.ObjectQuery(caller=caller, dossier_id=dossier_id, object_id=object_id)


async def test_my_data_lists_the_household(service: DossierService) -> None:
    reply = await call_in_memory(service.runtime.broker, dossier.LIST_PERSONS,
                                 dossier.DossierQuery(caller=PIETER, dossier_id=DUPONT))
    assert [(p.first_name, p.role) for p in reply.persons] == [
        ("Pieter", "policyholder"), ("Sofie", "partner"), ("Lotte", "child")]


async def test_my_risks_show_renewal_and_what_covers_each_at_a_glance(
    service: DossierService,
) -> None:
    page = await call_in_memory(service.runtime.broker, dossier.LIST_RISK_OBJECTS, listing())
    assert page.total == 2
    car = page.items[0]
    assert car.risk_object.vehicle is not None and car.risk_object.vehicle.license_plate == \
        "1-ABC-123"
    assert car.next_renewal is not None and car.next_renewal.isoformat() == "2026-03-15"
    [cover] = car.covers
    assert cover.included == ["BA auto (burgerlijke aansprakelijkheid motorrijtuigen)",
                              "Volledige omnium"]
    assert cover.optional == ["Pechbijstand Benelux"]


async def test_the_vehicle_detail_shows_its_contracts_guarantees_and_claims(
    service: DossierService,
) -> None:
    detail = await call_in_memory(service.runtime.broker, dossier.GET_RISK_OBJECT,
                                  item("R-00417-1"))
    assert [c.policy_number for c in detail.contracts] == ["AU-7712.345.219"]
    assert [g.code for g in detail.contracts[0].guarantees] == ["BA-AUTO", "OMNIUM", "BIJSTAND"]
    assert [c.claim_number for c in detail.claims] == ["SCH-2024-018832"]


async def test_the_contract_detail_holds_risk_objects_claims_and_invoices(
    service: DossierService,
) -> None:
    detail = await call_in_memory(service.runtime.broker, dossier.GET_CONTRACT,
                                  item("C-00417-AUTO"))
    assert [r.risk_object_id for r in detail.risk_objects] == ["R-00417-1"]
    assert [c.insurer_reference for c in detail.claims] == ["AG-SIN-2024-5518772"]
    assert [i.invoice_number for i in detail.invoices] == ["VF-2025-031177"]


async def test_the_claim_detail_names_its_contract(service: DossierService) -> None:
    detail = await call_in_memory(service.runtime.broker, dossier.GET_CLAIM, item("S-00417-1"))
    assert detail.contract is not None and detail.contract.contract_id == "C-00417-AUTO"
    assert [r.risk_object_id for r in detail.risk_objects] == ["R-00417-1"]


async def test_lists_are_paginated_and_sortable(service: DossierService) -> None:
    first = await call_in_memory(service.runtime.broker, dossier.LIST_CONTRACT_PAGE, listing(
        page_size=2, sort="insurer", descending=True))
    second = await call_in_memory(service.runtime.broker, dossier.LIST_CONTRACT_PAGE, listing(
        page_size=2, sort="insurer", descending=True, cursor=first.next_cursor))
    assert (first.total, first.sort, first.descending) == (3, "insurer", True)
    assert (first.page, first.page_count, second.page, second.next_cursor) == (1, 2, 2, None)
    assert [c.insurer for c in first.items + second.items] == [
        "Ethias", "Baloise Belgium", "AG Insurance"]
    with pytest.raises(Invalid):
        await call_in_memory(service.runtime.broker, dossier.LIST_CLAIMS, listing(sort="secret"))


async def test_my_invoices_give_the_open_amount_and_count_the_overdue(
    service: DossierService,
) -> None:
    page = await call_in_memory(service.runtime.broker, dossier.LIST_INVOICES, listing())
    assert [i.invoice_number for i in page.items] == ["VF-2025-031177", "VF-2025-064520"]
    assert page.open_amount_cents == 48720  # the home's invoice; the car's is paid
    assert page.overdue_count == 1  # due 2025-07-01 and still open


async def test_another_clients_dossier_and_objects_are_not_found(
    service: DossierService,
) -> None:
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, dossier.LIST_CLAIMS, dossier.ListQuery(
            caller=PIETER, dossier_id=PEETERS))
    with pytest.raises(NotFound):  # An's contract asked for inside Pieter's own dossier
        await call_in_memory(service.runtime.broker, dossier.GET_CONTRACT, item("C-01288-HUUR"))
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, dossier.GET_CONTRACT,
                             item("C-01288-HUUR", dossier_id=PEETERS))
    staff = await call_in_memory(service.runtime.broker, dossier.GET_CONTRACT,
                                 item("C-01288-HUUR", caller=AGENT, dossier_id=PEETERS))
    assert staff.contract.product == "Brandverzekering huurder"


async def test_a_person_related_risk_names_its_insured_person(service: DossierService) -> None:
    record = dossier.DossierRecord(dossier_id=DUPONT, risk_objects=[dossier.RiskObject(
        risk_object_id="R-00417-LEVEN", kind="person", description="Schuldsaldoverzekering",
        insured_person=dossier.InsuredPersonDetails(person_id="P-00417-2", cover="life"))])
    report = await call_in_memory(service.runtime.broker, dossier.UPSERT_DOSSIER,
                                  dossier.UpsertDossierRequest(caller=AGENT, record=record))
    assert report.created == 1, report
    detail = await call_in_memory(service.runtime.broker, dossier.GET_RISK_OBJECT,
                                  item("R-00417-LEVEN"))
    assert detail.insured_person is not None
    assert (detail.insured_person.first_name, detail.insured_person.role) == ("Sofie", "partner")
    car = await call_in_memory(service.runtime.broker, dossier.GET_RISK_OBJECT, item("R-00417-1"))
    assert car.insured_person is None
