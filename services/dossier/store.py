"""The dossier service's MongoDB access: one collection per object kind.

`dossiers` holds one small document per dossier (name, broker reference). `persons`,
`risk_objects`, `contracts`, `claims` and `invoices` hold one document per object, `_id` =
"<dossier id>:<broker's object id>" (dossier ids cannot hold ":"), with the object's fields at
the top level (so lists sort and filter on indexed fields), a digest of its content (a re-import
of the same object is recognised as unchanged and not written), `present` (False once removed:
a tombstone keeps the removal's event in the same write) and the document's own outbox.

Why not one document per dossier any more: an office's biggest dossiers hold thousands of
contracts and claims; one document would be rewritten whole on every change and read whole for
one page. Each object write is single-document atomic and carries its change event, so no event
is ever lost or sent for a write that did not happen. An import writes only after every object
was judged (nothing of a refused object is written) and in reference order - risk objects
before the contracts using them, removals in the reverse order - so a reader never meets a
reference to a missing object; an interrupted import is completed by running it again.

Every read of a list page or a detail view is one range of one indexed key (nx-27017 serves
no equality with an index): `s_<sort>` list keys (`list_key`), `r_contract` for a contract's
claims and invoices (`reference_key`), and `risk_object_links` for the contracts and claims of
a risk object (`services.dossier.links`); objects are fetched by `_id`.

Dates are stored as ISO-8601 strings ("2024-03-01"): they compare in date order and round-trip
exactly, with no time zone to get wrong.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.dossier import (
    Claim,
    Contract,
    DossierSummary,
    Invoice,
    ObjectKind,
    Person,
    RiskObject,
)
from libs.contracts.envelope import Event, utc_now
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events
from services.dossier.import_plan import (
    ID_FIELDS,
    KIND_ORDER,
    LIST_NAMES,
    StoredState,
    claim_risk_object_ids,
    object_id,
)
from services.dossier.links import (
    RISK_OBJECT_LINKS,
    ItemRisks,
    RiskObjectLinks,
    reference_key,
    reference_range,
)

log = get_logger(__name__)
DOSSIERS = "dossiers"
COLLECTIONS: dict[ObjectKind, str] = dict(LIST_NAMES)
MODELS: dict[ObjectKind, type[BaseModel]] = {
    "person": Person, "risk_object": RiskObject, "contract": Contract, "claim": Claim,
    "invoice": Invoice,
}
# Fields each list may be sorted on (each has an index led by dossier_id and present).
SORT_FIELDS: dict[ObjectKind, tuple[str, ...]] = {
    "person": ("position",),
    "risk_object": ("position", "description", "kind"),
    "contract": ("position", "policy_number", "insurer", "product", "status", "renewal_date",
                 "start_date"),
    "claim": ("occurred_on", "claim_number", "status"),
    "invoice": ("due_date", "invoice_number", "status", "amount_cents"),
}
# The kinds that belong to one contract: `r_contract` (see `reference_key`) finds them.
OF_CONTRACT: tuple[ObjectKind, ...] = ("claim", "invoice")
CONTRACT_KEY_FIELD = "r_contract"
# The kinds that concern risk objects (a list of them): links find them (`RiskObjectLinks`).
ON_RISK_OBJECTS: tuple[ObjectKind, ...] = ("contract", "claim")
KINDS_OF_MODELS: dict[type[BaseModel], ObjectKind] = {
    model: kind for kind, model in MODELS.items()}
WRITE_BATCH = 500
LIST_KEY_PREFIX = "k"
SORTED_CHARACTERS = 200
# Version of the fields derived from each object (list keys, `overdue_from`, ...): objects
# stored with an older one get them again at start (`fill_derived_fields`). 2: list keys hold
# the dossier and begin with LIST_KEY_PREFIX, removed objects have none; invoices have
# `overdue_from`. 3: claims and invoices have `r_contract`, contracts and claims their links
# to risk objects.
DERIVED_VERSION = 3
DERIVED_VERSION_FIELD = "derived_version"
ModelT = TypeVar("ModelT", bound=BaseModel)
OPEN_INVOICE_STATUSES = ["open", "overdue"]
Stored = Literal["new", "present", "removed"]
"""How an object about to be written is stored: not at all, present, or removed (tombstone)."""


def document_id(dossier_id: str, item_id: str) -> str:
    """The `_id` of an object of a dossier."""
    return f"{dossier_id}:{item_id}"


def digest(item: BaseModel) -> str:
    """A fingerprint of an object's content: equal digests = nothing to write."""
    canonical = json.dumps(item.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def list_key(dossier_id: str, value: Any, item_id: str) -> str:
    """One string per object and sort field: the object's place in its dossier's list.

    It holds the dossier, the sort value and the object's id, so that one dossier's list
    sorted on a field is one range of one indexed field (`list_range`) and a page one indexed
    range past its boundary row's key. Why one field: nx-27017 turns every equality into
    "equal, or an array holding it", which no index serves - a page filtered on `dossier_id`
    scanned the whole collection; a range on a single field is an index search. The id makes
    the key unique (ties in the sort value keep one order: stable pages). Missing values come
    first, numbers are zero-padded to sort as numbers. The key begins with a letter: nx-27017
    takes a query string that begins like a date ("2024-03-01...", "01/03/2024...") for a
    datetime and compares SQLite's `datetime()` of both sides, NULL for "2024-03-01<id>" - a
    range on such keys matched nothing.
    """
    if value is None:
        shown = ""
    elif isinstance(value, int):
        shown = f"{value:015d}"
    else:  # a long description sorts on its start: the key stays short enough for a cursor
        shown = str(value)[:SORTED_CHARACTERS]
    return f"{LIST_KEY_PREFIX}{dossier_id}\x1d{shown}\x1f{item_id}"


def list_range(dossier_id: str) -> tuple[str, str]:
    """The bounds (both excluded) of every list key of a dossier's present objects.

    Dossier ids hold no control characters, so no other dossier's keys fall in between.
    """
    return f"{LIST_KEY_PREFIX}{dossier_id}\x1d", f"{LIST_KEY_PREFIX}{dossier_id}\x1e"


def risk_objects_of(kind: ObjectKind, item: BaseModel) -> list[str]:
    """The risk objects a contract covers or a claim concerns, once each (else none)."""
    if isinstance(item, Contract):
        return list(dict.fromkeys(item.risk_object_ids))
    if isinstance(item, Claim):
        return claim_risk_object_ids(item)
    return []


def overdue_from(invoice: Invoice) -> str:
    """The first day an invoice counts as overdue, as a string that sorts like a date.

    "0000-00-00" (before every date) once the broker's system marked it overdue, its due
    date while open, "9999-99-99" (after every date) once paid: "overdue on `today`" is
    then one indexed range query, `overdue_from < today`, on the dossier's invoices.
    """
    if invoice.status == "overdue":
        return "0000-00-00"
    if invoice.status == "open":
        return invoice.due_date.isoformat()
    return "9999-99-99"


def derived_fields(kind: ObjectKind, item: BaseModel, dossier_id: str) -> dict[str, Any]:
    """What the store keeps beside an object's own fields so lists sort and filter on indexes:
    the list keys (but `s_position`, set when the object arrives), a claim's risk objects in
    one array, an invoice's `overdue_from`, and the version of these rules."""
    values = item.model_dump(mode="json")
    item_id = object_id(kind, item)
    fields: dict[str, Any] = {
        f"s_{name}": list_key(dossier_id, values.get(name), item_id)
        for name in SORT_FIELDS[kind] if name != "position"}
    if isinstance(item, Claim):
        fields["all_risk_object_ids"] = claim_risk_object_ids(item)
    if isinstance(item, Claim | Invoice):
        fields[CONTRACT_KEY_FIELD] = reference_key(dossier_id, item.contract_id, item_id)
    if isinstance(item, Invoice):
        fields["overdue_from"] = overdue_from(item)
    fields[DERIVED_VERSION_FIELD] = DERIVED_VERSION
    return fields


def arrival_fields(kind: ObjectKind, item: BaseModel, dossier_id: str, position: int
                   ) -> dict[str, Any]:
    """The place of an object that arrives (new, or back after a removal) in the broker's
    order: after every object that came before it."""
    return {"position": position,
            "s_position": list_key(dossier_id, position, object_id(kind, item))}


def _fields(kind: ObjectKind, item: BaseModel, dossier_id: str) -> dict[str, Any]:
    fields = item.model_dump(mode="json")
    fields.update(derived_fields(kind, item, dossier_id))
    fields["digest"] = digest(item)
    fields["present"] = True
    fields["updated_at"] = utc_now()
    return fields


def _keys(kind: ObjectKind) -> dict[str, str]:
    """`$unset` of every list and reference key of `kind`: a removed object leaves every list
    and every detail view."""
    keys = {f"s_{name}": "" for name in SORT_FIELDS[kind]}
    if kind in OF_CONTRACT:
        keys[CONTRACT_KEY_FIELD] = ""
    return keys


def _by_position(documents: Iterable[Document], model: type[ModelT]) -> list[ModelT]:
    """Present objects in the broker's order (their `s_position` keys sort so)."""
    present = sorted((document for document in documents if document.get("present")),
                     key=lambda document: str(document.get("s_position", "")))
    return [model.model_validate(document) for document in present]


def _of_dossier(document: Document, dossier_id: str) -> bool:
    """True for an object of `dossier_id`: the last check of every read, whatever the query
    matched (defence in depth: no bound or key a client sent can bring in another dossier's
    object; such a row is left out and logged)."""
    if document.get("dossier_id") == dossier_id:
        return True
    log.error("a read met an object of another dossier; left out", dossier_id=dossier_id,
              object_id=str(document.get("_id")))
    return False


async def _count(collection: AsyncCollection[Document], match: Document) -> int:
    """How many documents match, by `$count`.

    On nx-27017 `count_documents` (a `$group` that sums) takes seconds over 10,000 invoices
    where `$count` takes milliseconds, and a `find` on an index range missed documents.
    """
    async for result in await collection.aggregate([{"$match": match}, {"$count": "n"}]):
        return int(result["n"])
    return 0


class DossierStore:
    """Dossiers and their objects, each object a document with its pending events."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._dossiers = database[DOSSIERS]
        self._objects: dict[ObjectKind, AsyncCollection[Document]] = {
            kind: database[name] for kind, name in COLLECTIONS.items()}
        self._links = RiskObjectLinks(database[RISK_OBJECT_LINKS])

    async def ensure_indexes(self) -> None:
        """Indexes the list pages, the detail lookups and the outbox relay rely on."""
        await self._dossiers.create_index([(PENDING_COUNT_FIELD, ASCENDING)])
        for kind, collection in self._objects.items():
            await collection.create_index([(PENDING_COUNT_FIELD, ASCENDING)])
            await collection.create_index([("dossier_id", ASCENDING), ("present", ASCENDING)])
            for name in SORT_FIELDS[kind]:  # list pages: one range of one field (list_key)
                await collection.create_index([(f"s_{name}", ASCENDING)])
            if kind == "invoice":
                await collection.create_index([
                    ("dossier_id", ASCENDING), ("present", ASCENDING),
                    ("overdue_from", ASCENDING)])
            if kind in OF_CONTRACT:  # a contract's claims and invoices: one range (r_contract)
                await collection.create_index([(CONTRACT_KEY_FIELD, ASCENDING)])
        await self._links.ensure_indexes()

    async def fill_derived_fields(self) -> dict[str, int]:
        """Derive again the fields of objects stored by an older version (`DERIVED_VERSION`);
        how many objects of each kind were brought up to date.

        Invoices stored before `overdue_from` existed were not counted overdue, objects
        with sort keys of the older form (without their dossier) were in no list page, and
        objects without reference keys or links in no detail view. Run at
        every start, before the service answers: idempotent (an object of the current version
        is not touched), writes no event (the object itself did not change), and also recounts
        the dossiers whose totals were never counted.
        """
        filled: dict[str, int] = {}
        older = {"$or": [{DERIVED_VERSION_FIELD: {"$exists": False}},
                         {DERIVED_VERSION_FIELD: {"$lt": DERIVED_VERSION}}]}
        for kind, collection in self._objects.items():
            model = MODELS[kind]
            operations: list[UpdateOne] = []
            links: dict[str, list[ItemRisks]] = {}  # by dossier
            async for document in collection.find(older):
                item = model.model_validate(document)
                dossier_id = document["dossier_id"]
                present = bool(document.get("present"))
                links.setdefault(dossier_id, []).append((
                    object_id(kind, item), risk_objects_of(kind, item) if present else []))
                if not present:  # removed: in no list
                    operations.append(UpdateOne({"_id": document["_id"]}, {
                        "$unset": _keys(kind),
                        "$set": {DERIVED_VERSION_FIELD: DERIVED_VERSION}}))
                    continue
                fields = derived_fields(kind, item, dossier_id)
                fields["s_position"] = list_key(
                    dossier_id, document.get("position"), object_id(kind, item))
                operations.append(UpdateOne({"_id": document["_id"]}, {"$set": fields}))
            if kind in ON_RISK_OBJECTS:
                for dossier_id, items in links.items():
                    await self._links.add(dossier_id, kind, items)
            for start in range(0, len(operations), WRITE_BATCH):
                await collection.bulk_write(operations[start:start + WRITE_BATCH])
            if kind in ON_RISK_OBJECTS:
                for dossier_id, items in links.items():
                    await self._links.prune(dossier_id, kind, items)
            if operations:
                filled[kind] = len(operations)
        uncounted = [header["_id"] async for header in self._dossiers.find(
            {"$or": [{"counts": {"$exists": False}},
                     {"open_invoice_cents": {"$exists": False}}]}, {"_id": 1})]
        for dossier_id in uncounted:
            await self.recount(dossier_id)
        if uncounted:
            filled["dossier"] = len(uncounted)
        return filled

    # --- the dossier itself --------------------------------------------------------------------

    async def get_header(self, dossier_id: str) -> Document | None:
        """The stored dossier document (name, broker reference, counts), or None."""
        return await self._dossiers.find_one(
            {"_id": dossier_id},
            {"name": 1, "broker_reference": 1, "counts": 1, "open_invoice_cents": 1})

    async def recount(self, dossier_id: str) -> None:
        """Count the dossier's present objects of each kind and its unpaid amount, exactly.

        Run at the end of every import: the list pages read their totals here (nx-27017
        counts by scanning, so a page does not count 10,000 claims), and a count made from
        what is stored cannot drift - an interrupted import, run again, ends on the truth.
        """
        counts = {kind: await _count(collection, {"dossier_id": dossier_id, "present": True})
                  for kind, collection in self._objects.items()}
        unpaid = 0
        async for group in await self._objects["invoice"].aggregate([
                {"$match": {"dossier_id": dossier_id, "present": True,
                            "status": {"$in": OPEN_INVOICE_STATUSES}}},
                {"$group": {"_id": None, "total": {"$sum": "$amount_cents"}}}]):
            unpaid = int(group["total"])
        await self._dossiers.update_one({"_id": dossier_id}, {"$set": {
            "counts": counts, "open_invoice_cents": unpaid}})

    @staticmethod
    def total(header: Document, kind: ObjectKind) -> int:
        """The number of present objects of `kind` recorded in a dossier document."""
        counts: dict[str, int] = header.get("counts") or {}
        return int(counts.get(kind, 0))

    async def save_header(self, dossier_id: str, fields: dict[str, Any], *events: Event) -> None:
        """Create or update the dossier document with `events` in its outbox."""
        update = {"$set": {**fields, "imported_at": utc_now()}}
        await self._dossiers.update_one(
            {"_id": dossier_id}, record_events(update, *events) if events else update,
            upsert=True)

    async def get_summary(self, dossier_id: str) -> DossierSummary | None:
        """The summary of one dossier, or None if it was never imported."""
        header = await self.get_header(dossier_id)
        return None if header is None else await self._summary(header)

    async def list_summaries(self, dossier_ids: list[str]) -> list[DossierSummary]:
        """Summaries of the imported dossiers among `dossier_ids`, in the order asked."""
        cursor = self._dossiers.find({"_id": {"$in": dossier_ids}},
                                     {"name": 1, "broker_reference": 1, "counts": 1})
        found = {document["_id"]: await self._summary(document) async for document in cursor}
        return [found[dossier_id] for dossier_id in dossier_ids if dossier_id in found]

    async def _summary(self, header: Document) -> DossierSummary:
        return DossierSummary(
            dossier_id=header["_id"], name=header["name"],
            broker_reference=header.get("broker_reference"),
            person_count=self.total(header, "person"),
            contract_count=self.total(header, "contract"),
        )

    # --- writing objects -----------------------------------------------------------------------

    async def stored_state(self, dossier_id: str, kinds: set[ObjectKind], *,
                           with_references: bool) -> StoredState:
        """The ids present of `kinds`, and who uses whom when `with_references` (removals).

        An import reads only what its checks need: nx-27017 reads by scanning, and the
        biggest dossiers hold tens of thousands of objects.
        """
        state = StoredState()
        projection = {"present": 1, "risk_object_ids": 1, "contract_id": 1,
                      "all_risk_object_ids": 1, "insured_person": 1} if with_references else {}
        for kind in KIND_ORDER:
            if kind not in kinds:
                continue
            id_field = ID_FIELDS[kind]
            cursor = self._objects[kind].find(
                {"dossier_id": dossier_id, "present": True}, {**projection, id_field: 1})
            async for document in cursor:
                item_id = document[id_field]
                state.ids[kind].add(item_id)
                if not with_references:
                    continue
                if kind == "contract":
                    state.contract_risk_objects[item_id] = set(document["risk_object_ids"])
                elif kind == "claim":
                    state.claim_contract[item_id] = document["contract_id"]
                    state.claim_risk_objects[item_id] = set(document["all_risk_object_ids"])
                elif kind == "invoice":
                    state.invoice_contract[item_id] = document["contract_id"]
                elif kind == "risk_object" and (document.get("insured_person") or {}).get(
                        "person_id"):
                    state.risk_object_person[item_id] = document["insured_person"]["person_id"]
        return state

    async def stored_digests(self, dossier_id: str, kind: ObjectKind,
                             item_ids: list[str]) -> dict[str, str | None]:
        """Digest of the stored objects among `item_ids` (None for a removed one), by id."""
        cursor = self._objects[kind].find(
            {"_id": {"$in": [document_id(dossier_id, item_id) for item_id in item_ids]}},
            {"digest": 1, "present": 1, ID_FIELDS[kind]: 1})
        return {document[ID_FIELDS[kind]]: (document["digest"] if document["present"] else None)
                async for document in cursor}

    async def reserve_positions(self, dossier_id: str, kind: ObjectKind, count: int) -> int:
        """The first of `count` new places in the broker's order of `kind` (arrival order)."""
        header = await self._dossiers.find_one_and_update(
            {"_id": dossier_id}, {"$inc": {f"next_position.{kind}": count}},
            projection={"next_position": 1}, return_document=ReturnDocument.AFTER)
        reserved: int = (header or {}).get("next_position", {}).get(kind, count)
        return reserved - count

    async def write_objects(
        self, dossier_id: str, kind: ObjectKind,
        writes: Sequence[tuple[BaseModel, Event, Stored]], first_position: int,
    ) -> None:
        """Insert (new) or update (stored, maybe removed) objects, each with its event, in
        batches; an object that arrives - new, or back after a removal - takes the next place
        from `first_position` on in the broker's order. A contract's or claim's links to its
        risk objects are added before it is written and the ones it lost removed after."""
        for start in range(0, len(writes), WRITE_BATCH):
            await self._write_batch(dossier_id, kind, writes[start:start + WRITE_BATCH],
                                    first_position + start)

    async def _write_batch(
        self, dossier_id: str, kind: ObjectKind,
        writes: Sequence[tuple[BaseModel, Event, Stored]], first_position: int,
    ) -> None:
        links = [(object_id(kind, item), risk_objects_of(kind, item)) for item, _, _ in writes]
        # A new object has no links to lose (a link left by an interrupted earlier write
        # shows nothing: readers check the object's references).
        stored_links = [link for link, (_, _, stored) in zip(links, writes, strict=True)
                        if stored != "new"]
        if kind in ON_RISK_OBJECTS:
            await self._links.add(dossier_id, kind, links)
        operations: list[InsertOne[Document] | UpdateOne] = []
        for offset, (item, event, stored) in enumerate(writes):
            key = document_id(dossier_id, object_id(kind, item))
            fields = _fields(kind, item, dossier_id)
            if stored != "present":
                fields.update(arrival_fields(kind, item, dossier_id, first_position + offset))
            if stored == "new":
                operations.append(InsertOne({
                    "_id": key, "dossier_id": dossier_id, **fields,
                    **new_document_events(event)}))
            else:
                operations.append(UpdateOne({"_id": key}, record_events({"$set": fields}, event)))
        await self._objects[kind].bulk_write(operations)
        if kind in ON_RISK_OBJECTS and stored_links:
            await self._links.prune(dossier_id, kind, stored_links)

    async def remove_objects(
        self, dossier_id: str, kind: ObjectKind, removals: Sequence[tuple[str, Event]]
    ) -> None:
        """Mark objects removed (tombstones), each with its event; their links go after."""
        operations = [
            UpdateOne({"_id": document_id(dossier_id, item_id)}, record_events(
                {"$set": {"present": False, "digest": None, "updated_at": utc_now()},
                 "$unset": _keys(kind)}, event))
            for item_id, event in removals]
        for start in range(0, len(operations), WRITE_BATCH):
            await self._objects[kind].bulk_write(operations[start:start + WRITE_BATCH])
        if kind in ON_RISK_OBJECTS:
            await self._links.prune(dossier_id, kind, [(item_id, []) for item_id, _ in removals])

    # --- reading objects -----------------------------------------------------------------------

    async def page(
        self, dossier_id: str, model: type[ModelT], *, sort: str, descending: bool,
        after: str | None, backward: bool, limit: int,
    ) -> list[tuple[str, ModelT]]:
        """Up to `limit` present objects past the list key `after` (keyset paging; from the
        list's start without one), each with its key, in the list's order - or, `backward`,
        those before it, nearest first.

        One range on one indexed field, `s_<sort>` (see `list_key`): nx-27017 searches its
        index and reads only the page, the last page as fast as the first. (The service tests
        walk a whole list of thousands of rows with ties both ways: nx-27017 has lost rows in
        range queries before.)
        """
        field = f"s_{sort}"
        ascending = descending == backward  # reading backward turns the list's order
        low, high = list_range(dossier_id)
        # The boundary only narrows the dossier's range, never widens it: a key from outside
        # (a forged cursor: "k" or "k\uffff" read every dossier before or after this one)
        # leaves the range as it is, or empty.
        if after is not None and ascending:
            low = max(low, after)
        elif after is not None:
            high = min(high, after)
        if low >= high:
            return []
        cursor = self._objects[KINDS_OF_MODELS[model]].find(
            {field: {"$gt": low, "$lt": high}}).sort(
            field, ASCENDING if ascending else DESCENDING).limit(limit)
        return [(document[field], model.model_validate(document))
                async for document in cursor if _of_dossier(document, dossier_id)]

    async def find(self, dossier_id: str, model: type[ModelT], **match: Any) -> list[ModelT]:
        """The present objects of `model`'s kind matching `match`, in the broker's order."""
        cursor = self._objects[KINDS_OF_MODELS[model]].find(
            {"dossier_id": dossier_id, "present": True, **match}).sort("s_position", ASCENDING)
        return [model.model_validate(document) async for document in cursor
                if _of_dossier(document, dossier_id)]

    async def get_many(self, dossier_id: str, model: type[ModelT], item_ids: Sequence[str]
                       ) -> list[ModelT]:
        """The present objects among `item_ids`, in the broker's order (an `_id` `$in` is an
        index search on nx-27017)."""
        if not item_ids:
            return []
        cursor = self._objects[KINDS_OF_MODELS[model]].find({"_id": {"$in": [
            document_id(dossier_id, item_id) for item_id in dict.fromkeys(item_ids)]}})
        return _by_position([document async for document in cursor
                             if _of_dossier(document, dossier_id)], model)

    async def of_contract(self, dossier_id: str, model: type[ModelT], contract_id: str
                          ) -> list[ModelT]:
        """The present claims or invoices of a contract, in the broker's order: one range on
        the indexed `r_contract` (see `reference_key`)."""
        low, high = reference_range(dossier_id, contract_id)
        cursor = self._objects[KINDS_OF_MODELS[model]].find(
            {CONTRACT_KEY_FIELD: {"$gte": low, "$lt": high}})
        return _by_position([document async for document in cursor
                             if document.get("contract_id") == contract_id
                             and _of_dossier(document, dossier_id)], model)

    async def on_risk_objects(self, dossier_id: str, model: type[ModelT],
                              risk_object_ids: Sequence[str]) -> list[ModelT]:
        """The present contracts covering, or claims concerning, any of `risk_object_ids`, in
        the broker's order: their links (`RiskObjectLinks`), then the objects by `_id`."""
        kind = KINDS_OF_MODELS[model]
        linked = await self._links.items_of(dossier_id, kind, risk_object_ids)
        wanted = set(risk_object_ids)
        return [item for item in await self.get_many(dossier_id, model, linked)
                if wanted.intersection(risk_objects_of(kind, item))]  # a link too many: no

    async def get(self, dossier_id: str, model: type[ModelT], item_id: str) -> ModelT | None:
        """One present object, or None."""
        document = await self._objects[KINDS_OF_MODELS[model]].find_one(
            {"_id": document_id(dossier_id, item_id), "present": True})
        if document is None or not _of_dossier(document, dossier_id):
            return None
        return model.model_validate(document)

    async def overdue_invoice_count(self, dossier_id: str, today: date) -> int:
        """How many present invoices are overdue on `today` (one indexed range query).

        A `$count` aggregate, not a `find`: nx-27017 compares date-like strings with SQLite's
        `datetime()`, NULL for "0000-00-00", so a `find` missed the invoices marked overdue.
        """
        return await _count(self._objects["invoice"], {
            "dossier_id": dossier_id, "present": True,
            "overdue_from": {"$lt": today.isoformat()}})
