"""Lists page by cursor (keyset paging) on the real Mongo-wire server, and old invoices are
brought up to date at start.

nx-27017 has missed documents in indexed range queries before: these tests walk a whole sorted
list of thousands of claims with many ties, page by page, both ways, and check that every claim
comes exactly once and in order.
"""

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import dossier
from libs.contracts.rpc import RpcMethod
from libs.servicekit.errors import Invalid
from libs.servicekit.outbox import OUTBOX_FIELD
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService, build
from services.dossier.store import (
    COLLECTIONS,
    DERIVED_VERSION_FIELD,
    document_id,
)
from tests.service.conftest import call_in_memory
from tests.service.test_dossier_import import AGENT, DUPONT, PIETER, exported, upsert

FLEET = "DOS-FLEET"
CLAIMS = 2_500
STATUSES = ["open", "in_progress", "closed"]
PAGE_SIZE = 100


@pytest.fixture(scope="module")
def fleet_record() -> dict[str, Any]:
    """A fleet dossier: 2,500 claims on 10 vans, three statuses, a few hundred loss dates."""
    rng = random.Random(7)
    vans = [{"risk_object_id": f"R{n}", "kind": "vehicle", "description": f"Bestelwagen {n}"}
            for n in range(10)]
    contracts = [{"contract_id": f"C{n}", "policy_number": f"FL-{n:04d}", "insurer": "Ethias",
                  "product": "Vlootverzekering", "start_date": "2020-01-01",
                  "annual_premium_cents": 90_000, "risk_object_ids": [f"R{n}"]}
                 for n in range(10)]
    claims = [{"claim_id": f"S{n:05d}", "claim_number": f"SCH-{rng.randrange(10**7):07d}",
               "contract_id": f"C{n % 10}", "risk_object_id": f"R{n % 10}",
               "occurred_on": (date(2020, 1, 1) + timedelta(days=rng.randrange(300))).isoformat(),
               "description": "Blikschade", "status": rng.choice(STATUSES)}
              for n in range(CLAIMS)]
    return {"dossier_id": FLEET, "name": "Transport Janssens NV", "risk_objects": vans,
            "contracts": contracts, "claims": claims}


@pytest.fixture(scope="module")
async def service(mongo_url: str, fleet_record: dict[str, Any]
                  ) -> AsyncIterator[DossierService]:
    """The dossier service with the fleet imported once for the whole module."""
    name = f"test_keyset_{random.Random().randrange(10**9)}"
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        report = await upsert(built, fleet_record)
        assert report.created == 10 + 10 + CLAIMS
        yield built
    await built.runtime.database.client.drop_database(name)


async def claims_page(service: DossierService, sort: str, descending: bool,
                      cursor: str | None = None, page_size: int = PAGE_SIZE
                      ) -> dossier.ClaimPage:
    return await call_in_memory(service.runtime.broker, dossier.LIST_CLAIMS, dossier.ListQuery(
        caller=AGENT, dossier_id=FLEET, sort=sort, descending=descending, cursor=cursor,
        page_size=page_size))


def expected_order(record: dict[str, Any], sort: str, descending: bool) -> list[str]:
    """Claim ids as a client must see them: by the sort value, ties by the claim's id."""
    ordered = sorted(record["claims"], key=lambda claim: (claim[sort], claim["claim_id"]),
                     reverse=descending)
    return [claim["claim_id"] for claim in ordered]


SORTS = [("status", False), ("status", True), ("occurred_on", True), ("claim_number", False)]


@pytest.mark.parametrize(("sort", "descending"), SORTS)
async def test_walking_forward_shows_every_claim_once_in_order(
    service: DossierService, fleet_record: dict[str, Any], sort: str, descending: bool,
) -> None:
    seen: list[str] = []
    numbers: list[int] = []
    page = await claims_page(service, sort, descending)
    while True:
        seen += [claim.claim_id for claim in page.items]
        numbers.append(page.page)
        if page.next_cursor is None:
            break
        page = await claims_page(service, sort, descending, page.next_cursor)
    assert seen == expected_order(fleet_record, sort, descending)
    assert numbers == list(range(1, 26)) and page.page_count == 25


@pytest.mark.parametrize(("sort", "descending"), SORTS)
async def test_walking_back_from_the_last_page_shows_every_claim_once_in_order(
    service: DossierService, fleet_record: dict[str, Any], sort: str, descending: bool,
) -> None:
    first = await claims_page(service, sort, descending, page_size=99)
    page = await claims_page(service, sort, descending, first.last_cursor, page_size=99)
    assert (page.page, page.page_count, len(page.items)) == (26, 26, CLAIMS - 25 * 99)
    assert page.next_cursor is None
    pages: list[list[str]] = []
    while True:
        pages.insert(0, [claim.claim_id for claim in page.items])
        if page.previous_cursor is None:
            break
        page = await claims_page(service, sort, descending, page.previous_cursor, page_size=99)
    assert page.page == 1
    assert [claim_id for ids in pages for claim_id in ids] == expected_order(
        fleet_record, sort, descending)
    assert [len(ids) for ids in pages] == [99] * 25 + [25]  # the same pages as walked forward


async def test_a_shared_cursor_opens_the_same_page_again(service: DossierService) -> None:
    first = await claims_page(service, "status", False)
    assert first.next_cursor is not None
    once = await claims_page(service, "status", False, first.next_cursor)
    again = await claims_page(service, "status", False, first.next_cursor)
    assert once == again and once.page == 2
    back = await claims_page(service, "status", False, once.previous_cursor)
    assert back.items == first.items and back.page == 1 and back.previous_cursor is None


@pytest.mark.parametrize("damaged", ["not-a-cursor", "e30", "eyJ2IjoxfQ", "%%%"])
async def test_a_damaged_cursor_is_refused(service: DossierService, damaged: str) -> None:
    with pytest.raises(Invalid) as refused:
        await claims_page(service, "status", False, damaged)
    assert refused.value.fields == {"cursor": "not a cursor of this list"}


async def test_a_cursor_of_another_sort_order_or_list_is_refused(
    service: DossierService,
) -> None:
    page = await claims_page(service, "status", False)
    assert page.next_cursor is not None
    with pytest.raises(Invalid):
        await claims_page(service, "status", True, page.next_cursor)
    with pytest.raises(Invalid):
        await claims_page(service, "occurred_on", False, page.next_cursor)
    with pytest.raises(Invalid):
        await call_in_memory(service.runtime.broker, dossier.LIST_INVOICES, dossier.ListQuery(
            caller=AGENT, dossier_id=FLEET, sort="status", cursor=page.next_cursor))


# --- invoices stored before `overdue_from` existed -------------------------------------------


@pytest.fixture
async def dupont_service(mongo_url: str, database_name: str) -> AsyncIterator[DossierService]:
    built = build(DossierSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        await upsert(built, exported())
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def test_invoices_stored_before_overdue_from_are_counted_overdue_after_a_restart(
    dupont_service: DossierService,
) -> None:
    database = dupont_service.runtime.database
    invoices = database[COLLECTIONS["invoice"]]
    # As the version before stored them: no `overdue_from`, sort keys of the older form
    # ("<value>\x1f<id>", without the dossier), no version of the derived fields, and a dossier
    # whose totals were never counted.
    async for document in invoices.find():
        await invoices.update_one({"_id": document["_id"]}, {
            "$unset": {"overdue_from": "", DERIVED_VERSION_FIELD: ""},
            "$set": {name: value.split("\x1d", 1)[1] for name, value in document.items()
                     if name.startswith("s_")}})
    await database["dossiers"].update_one(
        {"_id": DUPONT}, {"$unset": {"counts": "", "open_invoice_cents": ""}})
    query = dossier.ListQuery(caller=PIETER, dossier_id=DUPONT)
    before = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_INVOICES, query)
    assert (before.overdue_count, before.total, before.items) == (0, 0, [])  # the old defect
    pending_before = await invoices.find_one({"_id": document_id(DUPONT, "F-00417-2")})

    assert await dupont_service.store.fill_derived_fields() == {"invoice": 2, "dossier": 1}

    after = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_INVOICES, query)
    assert after.overdue_count == 1  # F-00417-2, due 2025-07-01 and still open
    assert after.open_amount_cents == 48720 and after.total == 2
    assert [invoice.invoice_number for invoice in after.items] == [
        "VF-2025-031177", "VF-2025-064520"]
    by_amount = await call_in_memory(
        dupont_service.runtime.broker, dossier.LIST_INVOICES,
        dossier.ListQuery(caller=PIETER, dossier_id=DUPONT, sort="amount_cents"))
    assert [invoice.amount_cents for invoice in by_amount.items] == [48720, 114532]
    # Filling in is no change of the invoice: no event, and a second start finds nothing to do.
    pending_after = await invoices.find_one({"_id": document_id(DUPONT, "F-00417-2")})
    assert pending_before is not None and pending_after is not None
    assert pending_after[OUTBOX_FIELD] == pending_before[OUTBOX_FIELD]
    assert await dupont_service.store.fill_derived_fields() == {}


async def test_an_up_to_date_store_is_left_alone_at_start(
    dupont_service: DossierService,
) -> None:
    invoices = dupont_service.runtime.database[COLLECTIONS["invoice"]]
    stamps = {document["_id"]: document["updated_at"] async for document in invoices.find()}
    assert await dupont_service.store.fill_derived_fields() == {}
    assert {document["_id"]: document["updated_at"]
            async for document in invoices.find()} == stamps


async def test_a_removed_invoice_leaves_the_list_and_comes_back_when_sent_again(
    dupont_service: DossierService,
) -> None:
    record = exported()
    paid, unpaid = record["invoices"]
    query = dossier.ListQuery(caller=PIETER, dossier_id=DUPONT, sort="invoice_number")
    await upsert(dupont_service, {"dossier_id": DUPONT, "invoices": [paid]}, remove_missing=True)
    page = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_INVOICES, query)
    assert [invoice.invoice_id for invoice in page.items] == [paid["invoice_id"]]
    assert page.total == 1

    await upsert(dupont_service, {"dossier_id": DUPONT, "invoices": [paid, unpaid]})
    page = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_INVOICES, query)
    assert [invoice.invoice_id for invoice in page.items] == [
        paid["invoice_id"], unpaid["invoice_id"]]


async def test_a_list_never_shows_objects_of_a_dossier_whose_id_begins_the_same(
    dupont_service: DossierService,
) -> None:
    neighbour = exported()
    neighbour["dossier_id"] = f"{DUPONT}0"  # "DOS-2019-004170": the same id and one more digit
    await upsert(dupont_service, neighbour)
    staff = dossier.ListQuery(caller=AGENT, dossier_id=DUPONT, page_size=100)
    lists: list[RpcMethod[dossier.ListQuery, Any]] = [
        dossier.LIST_RISK_OBJECTS, dossier.LIST_CONTRACT_PAGE, dossier.LIST_CLAIMS,
        dossier.LIST_INVOICES]
    for method in lists:
        page = await call_in_memory(dupont_service.runtime.broker, method, staff)
        assert len(page.items) == page.total, method.queue
    contracts = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_CONTRACT_PAGE,
                                     staff)
    assert [c.contract_id for c in contracts.items] == [
        c["contract_id"] for c in exported()["contracts"]]


async def test_a_list_sorted_on_long_descriptions_pages_on(
    dupont_service: DossierService,
) -> None:
    long_ones = [{"risk_object_id": f"R-LONG-{n}", "kind": "other",
                  "description": "Kunstcollectie " + "zeer lange beschrijving " * 60 + str(n)}
                 for n in range(3)]
    await upsert(dupont_service, {"dossier_id": DUPONT, "risk_objects": long_ones})
    query = dossier.ListQuery(caller=PIETER, dossier_id=DUPONT, sort="description", page_size=2)
    seen: list[str] = []
    page = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_RISK_OBJECTS, query)
    while True:
        seen += [line.risk_object.risk_object_id for line in page.items]
        if page.next_cursor is None:
            break
        page = await call_in_memory(dupont_service.runtime.broker, dossier.LIST_RISK_OBJECTS,
                                    query.model_copy(update={"cursor": page.next_cursor}))
    assert sorted(seen) == sorted(["R-00417-1", "R-00417-2", "R-LONG-0", "R-LONG-1", "R-LONG-2"])
    assert len(seen) == 5
