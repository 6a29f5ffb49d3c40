"""The detail views find an object's contracts, claims and invoices by index ranges, and stay
right through re-imports, removals and a start on data stored by the previous version.

Two dossiers whose ids share a prefix (DOS-LINK, DOS-LINK1) hold the same object ids, and
contract and risk object ids that share a prefix (C1, C10; R1, R10): a range one character
too wide would show another dossier's or another object's claims.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from services.dossier.config import DossierSettings
from services.dossier.links import RISK_OBJECT_LINKS, RiskObjectLinks, reference_range
from services.dossier.main import DossierService, build
from services.dossier.store import COLLECTIONS, CONTRACT_KEY_FIELD, DERIVED_VERSION_FIELD
from tests.service.conftest import call_in_memory
from tests.service.test_dossier_import import upsert

MINE, OTHER = "DOS-LINK", "DOS-LINK1"
CLIENT = Caller(user_id="u-link", role=Role.CLIENT, dossier_ids=[MINE])


def record(dossier_id: str) -> dict[str, Any]:
    """Two vans and a trailer; C1 covers R1 and R10, C10 covers R10 only; a claim on both."""
    risk_objects = [{"risk_object_id": risk_id, "kind": "vehicle", "description": name}
                    for risk_id, name in (("R1", "Bestelwagen"), ("R10", "Aanhangwagen"),
                                          ("R2", "Vrachtwagen"))]
    contracts = [
        {"contract_id": "C1", "policy_number": "FL-1", "insurer": "Ethias",
         "product": "Vlootverzekering", "start_date": "2022-01-01",
         "renewal_date": "2027-01-01", "annual_premium_cents": 90_000,
         "risk_object_ids": ["R1", "R10"]},
        {"contract_id": "C10", "policy_number": "FL-10", "insurer": "AG Insurance",
         "product": "Vlootverzekering", "start_date": "2023-01-01",
         "renewal_date": "2027-06-01", "annual_premium_cents": 40_000,
         "risk_object_ids": ["R10"]},
        {"contract_id": "C2", "policy_number": "FL-2", "insurer": "Ethias",
         "product": "Vlootverzekering", "start_date": "2023-01-01",
         "annual_premium_cents": 50_000, "risk_object_ids": ["R2"]},
    ]
    claims = [
        {"claim_id": "S1", "claim_number": "SCH-1", "contract_id": "C1", "risk_object_id": "R1",
         "occurred_on": "2024-03-01", "description": "Spiegel", "status": "closed"},
        {"claim_id": "S2", "claim_number": "SCH-2", "contract_id": "C1",
         "risk_object_ids": ["R1", "R10"], "occurred_on": "2024-05-01",
         "description": "Aanrijding met aanhangwagen", "status": "open"},
        {"claim_id": "S3", "claim_number": "SCH-3", "contract_id": "C10",
         "risk_object_id": "R10", "occurred_on": "2024-06-01", "description": "Band",
         "status": "open"},
    ]
    invoices = [
        {"invoice_id": "F1", "invoice_number": "VF-1", "contract_id": "C1",
         "due_date": "2026-01-31", "amount_cents": 90_000, "status": "paid"},
        {"invoice_id": "F10", "invoice_number": "VF-10", "contract_id": "C10",
         "due_date": "2026-01-31", "amount_cents": 40_000, "status": "open"},
        {"invoice_id": "F11", "invoice_number": "VF-11", "contract_id": "C1",
         "due_date": "2027-01-31", "amount_cents": 90_000, "status": "open"},
    ]
    return {"dossier_id": dossier_id, "name": f"Transport {dossier_id}",
            "risk_objects": risk_objects, "contracts": contracts, "claims": claims,
            "invoices": invoices}


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    """Both dossiers imported; the other one's C1 and R1 carry claims of their own."""
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        await upsert(built, record(MINE))
        other = record(OTHER)
        other["claims"].append({
            "claim_id": "S9", "claim_number": "SCH-9", "contract_id": "C1",
            "risk_object_id": "R1", "occurred_on": "2024-09-01", "description": "Ruit",
            "status": "open"})
        other["invoices"].append({
            "invoice_id": "F9", "invoice_number": "VF-9", "contract_id": "C1",
            "due_date": "2026-03-31", "amount_cents": 1_000, "status": "open"})
        await upsert(built, other)
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def contract_detail(service: DossierService, contract_id: str
                          ) -> tuple[list[str], list[str], list[str]]:
    """What the contract's detail shows: its risk objects, claims (newest first), invoices."""
    detail = await call_in_memory(service.runtime.broker, dossier.GET_CONTRACT,
                                  dossier.ObjectQuery(caller=CLIENT, dossier_id=MINE,
                                                      object_id=contract_id))
    return ([risk.risk_object_id for risk in detail.risk_objects],
            [claim.claim_id for claim in detail.claims],
            [invoice.invoice_id for invoice in detail.invoices])


async def risk_object_detail(service: DossierService, risk_object_id: str
                             ) -> tuple[list[str], list[str], list[str]]:
    """What the risk object's detail shows: its contracts, what covers it, its claims."""
    detail = await call_in_memory(service.runtime.broker, dossier.GET_RISK_OBJECT,
                                  dossier.ObjectQuery(caller=CLIENT, dossier_id=MINE,
                                                      object_id=risk_object_id))
    return ([contract.contract_id for contract in detail.contracts],
            [cover.contract_id for cover in detail.covers],
            [claim.claim_id for claim in detail.claims])


async def covers_on_my_risks(service: DossierService) -> dict[str, list[str]]:
    """The contracts shown beside each risk object of the "My risks" list."""
    page = await call_in_memory(service.runtime.broker, dossier.LIST_RISK_OBJECTS,
                                dossier.ListQuery(caller=CLIENT, dossier_id=MINE))
    return {line.risk_object.risk_object_id: [cover.contract_id for cover in line.covers]
            for line in page.items}


async def stored_links(service: DossierService, dossier_id: str) -> set[tuple[str, str, str]]:
    """(kind, contract or claim, risk object) of every link stored for a dossier."""
    links = service.runtime.database[RISK_OBJECT_LINKS]
    return {(link["kind"], link["item_id"], link["risk_object_id"])
            async for link in links.find({}) if link["dossier_id"] == dossier_id}


EXPECTED_LINKS = {("contract", "C1", "R1"), ("contract", "C1", "R10"),
                  ("contract", "C10", "R10"), ("contract", "C2", "R2"),
                  ("claim", "S1", "R1"), ("claim", "S2", "R1"), ("claim", "S2", "R10"),
                  ("claim", "S3", "R10")}


async def test_a_contract_detail_shows_its_own_objects_only(service: DossierService) -> None:
    assert await contract_detail(service, "C1") == (["R1", "R10"], ["S2", "S1"], ["F1", "F11"])
    assert await contract_detail(service, "C10") == (["R10"], ["S3"], ["F10"])
    assert await contract_detail(service, "C2") == (["R2"], [], [])


async def test_a_risk_object_detail_shows_the_contracts_and_claims_on_it(
    service: DossierService,
) -> None:
    assert await risk_object_detail(service, "R1") == (["C1"], ["C1"], ["S2", "S1"])
    assert await risk_object_detail(service, "R10") == (
        ["C1", "C10"], ["C1", "C10"], ["S3", "S2"])
    assert await covers_on_my_risks(service) == {"R1": ["C1"], "R10": ["C1", "C10"],
                                                 "R2": ["C2"]}


async def test_changed_references_move_the_objects_between_details(
    service: DossierService,
) -> None:
    changed = record(MINE)
    changed["contracts"][0]["risk_object_ids"] = ["R1"]  # C1 no longer covers the trailer
    changed["claims"][1]["risk_object_ids"] = ["R10"]  # S2 was on the trailer only
    changed["claims"][2]["contract_id"] = "C1"  # S3 belongs to C1 after all
    changed["invoices"][1]["contract_id"] = "C1"
    report = await upsert(service, changed)
    assert (report.updated, report.unchanged) == (4, 8)

    assert await contract_detail(service, "C1") == (["R1"], ["S3", "S2", "S1"],
                                                    ["F1", "F10", "F11"])
    assert await contract_detail(service, "C10") == (["R10"], [], [])
    assert await risk_object_detail(service, "R1") == (["C1"], ["C1"], ["S1"])
    assert await risk_object_detail(service, "R10") == (["C10"], ["C10"], ["S3", "S2"])
    assert await covers_on_my_risks(service) == {"R1": ["C1"], "R10": ["C10"], "R2": ["C2"]}
    assert await stored_links(service, MINE) == {
        ("contract", "C1", "R1"), ("contract", "C10", "R10"), ("contract", "C2", "R2"),
        ("claim", "S1", "R1"), ("claim", "S2", "R10"), ("claim", "S3", "R10")}


async def test_removed_objects_leave_the_details_and_come_back_when_sent_again(
    service: DossierService,
) -> None:
    kept = record(MINE)
    kept["contracts"] = [c for c in kept["contracts"] if c["contract_id"] != "C10"]
    kept["claims"] = [c for c in kept["claims"] if c["claim_id"] in ("S1",)]
    kept["invoices"] = [i for i in kept["invoices"] if i["invoice_id"] == "F1"]
    report = await upsert(service, kept, remove_missing=True)
    assert report.removed == 5  # C10, S2, S3, F10, F11

    assert await contract_detail(service, "C1") == (["R1", "R10"], ["S1"], ["F1"])
    assert await risk_object_detail(service, "R10") == (["C1"], ["C1"], [])
    assert await stored_links(service, MINE) == {
        ("contract", "C1", "R1"), ("contract", "C1", "R10"), ("contract", "C2", "R2"),
        ("claim", "S1", "R1")}

    await upsert(service, record(MINE))
    assert await contract_detail(service, "C1") == (["R1", "R10"], ["S2", "S1"], ["F1", "F11"])
    assert await risk_object_detail(service, "R10") == (
        ["C1", "C10"], ["C1", "C10"], ["S3", "S2"])
    assert await stored_links(service, MINE) == EXPECTED_LINKS


async def test_data_of_the_previous_version_gets_its_keys_and_links_at_start(
    service: DossierService,
) -> None:
    database = service.runtime.database
    # As version 2 stored it: no reference keys, no links, and a removed claim.
    await upsert(service, {"dossier_id": MINE, "claims": record(MINE)["claims"][:2]},
                 remove_missing=True)
    for kind in ("contract", "claim", "invoice"):
        await database[COLLECTIONS[kind]].update_many({}, {"$set": {DERIVED_VERSION_FIELD: 2},
                                                           "$unset": {CONTRACT_KEY_FIELD: ""}})
    await database[RISK_OBJECT_LINKS].delete_many({})
    assert await contract_detail(service, "C1") == (["R1", "R10"], [], [])

    filled = await service.store.fill_derived_fields()

    assert filled == {"contract": 6, "claim": 7, "invoice": 7}  # both dossiers
    assert await contract_detail(service, "C1") == (["R1", "R10"], ["S2", "S1"], ["F1", "F11"])
    assert await risk_object_detail(service, "R10") == (["C1", "C10"], ["C1", "C10"], ["S2"])
    assert await stored_links(service, MINE) == EXPECTED_LINKS - {("claim", "S3", "R10")}
    removed = await database[COLLECTIONS["claim"]].find_one({"_id": f"{MINE}:S3"})
    assert removed is not None and CONTRACT_KEY_FIELD not in removed
    assert await service.store.fill_derived_fields() == {}


async def test_a_link_left_by_an_interrupted_write_shows_nothing_wrong(
    service: DossierService,
) -> None:
    # The links of a changed claim are added before the claim is written: cut off after that,
    # the store holds S1's old and new links while S1 is still on R1 only.
    links = RiskObjectLinks(service.runtime.database[RISK_OBJECT_LINKS])
    await links.add(MINE, "claim", [("S1", ["R2"])])

    assert await risk_object_detail(service, "R2") == (["C2"], ["C2"], [])
    assert await risk_object_detail(service, "R1") == (["C1"], ["C1"], ["S2", "S1"])


async def test_detail_lookups_are_index_searches(service: DossierService) -> None:
    """What makes them fast: each read is one range on one indexed field (no collection scan:
    nx-27017 names it `SEARCH ... USING INDEX`, MongoDB `IXSCAN`)."""
    database = service.runtime.database
    low, high = reference_range(MINE, "C1")
    reads = [
        (COLLECTIONS["claim"], {CONTRACT_KEY_FIELD: {"$gte": low, "$lt": high}}),
        (COLLECTIONS["invoice"], {CONTRACT_KEY_FIELD: {"$gte": low, "$lt": high}}),
        (RISK_OBJECT_LINKS, {"risk_key": {"$gte": reference_range(MINE, "claim\x1dR1")[0],
                                          "$lt": reference_range(MINE, "claim\x1dR1")[1]}}),
        (COLLECTIONS["contract"], {"_id": {"$in": [f"{MINE}:C1", f"{MINE}:C10"]}}),
    ]
    for collection, match in reads:
        explained = await database.command("explain", {"find": collection, "filter": match})
        plan = json.dumps(explained.get("queryPlanner", explained), default=str)
        assert "USING INDEX" in plan or "IXSCAN" in plan, (collection, plan)
        assert "SCAN " + collection not in plan, (collection, plan)


async def test_the_range_of_a_contract_holds_none_of_a_contract_whose_id_begins_alike(
    service: DossierService,
) -> None:
    claims = service.runtime.database[COLLECTIONS["claim"]]
    low, high = reference_range(MINE, "C1")
    found = {document["_id"] async for document in claims.find(
        {CONTRACT_KEY_FIELD: {"$gte": low, "$lt": high}})}
    assert found == {f"{MINE}:S1", f"{MINE}:S2"}  # not C10's S3, not DOS-LINK1's S9
