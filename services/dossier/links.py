"""Which contracts and claims concern a risk object: one link document per pair, two range keys.

A contract covers a list of risk objects, a claim concerns a list of them. nx-27017 serves no
query on an array's elements with an index (`risk_object_ids: {$in: [...]}` reads every
contract of every dossier), so the store keeps beside them one small document per (contract or
claim, risk object), with two keys that sort the pairs both ways: `risk_key` finds the contracts
(or claims) of a risk object, `item_key` the links of one contract (or claim) when it changes.
Each is one range of one indexed field (see `reference_range`).

A link is written in another document than its object, so not in the same write: links are
added before the object is written and the ones it no longer has removed after. An interrupted
write leaves at most a link too many, never one missing, and readers keep only the objects that
do refer to the risk object.
"""

import asyncio
import json
from collections.abc import Iterable, Sequence

from pymongo import ASCENDING, DeleteMany, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from libs.contracts.dossier import ObjectKind
from libs.servicekit.mongo import Document

RISK_OBJECT_LINKS = "risk_object_links"
KEY_PREFIX = "k"  # as list keys: a key beginning like a date is compared as one by nx-27017
WRITE_BATCH = 500

ItemRisks = tuple[str, Sequence[str]]
"""A contract's (or claim's) id and the ids of the risk objects it concerns."""


def reference_key(dossier_id: str, referenced_id: str, item_id: str) -> str:
    """One string per (object, object it refers to): the object's place among those of the
    referenced one, e.g. a claim's among the claims of its contract.

    The detail views read the objects of another one as one range of one indexed field
    (`reference_range`): nx-27017 turns every equality into "equal, or an array holding it",
    which no index serves, while a range on one field is an index search. It begins with a
    letter for the reason `list_key` gives.
    """
    return f"{KEY_PREFIX}{dossier_id}\x1d{referenced_id}\x1f{item_id}"


def reference_range(dossier_id: str, referenced_id: str) -> tuple[str, str]:
    """The bounds (low included, high excluded) of the reference keys to `referenced_id`.

    Ids that only begin alike ("C1", "C10") fall outside: the referenced id is followed by
    \\x1f in a key, by \\x20 in the bound; dossier ids hold no control characters. (An object
    id holding control characters could still reach in: readers check each reference.)
    """
    prefix = f"{KEY_PREFIX}{dossier_id}\x1d{referenced_id}"
    return f"{prefix}\x1f", f"{prefix}\x20"


def _of(kind: ObjectKind, item_id: str) -> str:
    """What a key refers to: the kind keeps a contract's links apart from a claim's."""
    return f"{kind}\x1d{item_id}"


def link_document(dossier_id: str, kind: ObjectKind, item_id: str, risk_object_id: str
                  ) -> Document:
    """The link of a contract (or claim) to one risk object it concerns."""
    return {
        # JSON of the four parts: one id per pair, whatever characters the ids hold.
        "_id": json.dumps([dossier_id, kind, item_id, risk_object_id]),
        "dossier_id": dossier_id, "kind": kind, "item_id": item_id,
        "risk_object_id": risk_object_id,
        "item_key": reference_key(dossier_id, _of(kind, item_id), risk_object_id),
        "risk_key": reference_key(dossier_id, _of(kind, risk_object_id), item_id),
    }


class RiskObjectLinks:
    """The links of a store's contracts and claims to their risk objects."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._links = collection

    async def ensure_indexes(self) -> None:
        """Both ways of reading links are one range of one indexed key."""
        await self._links.create_index([("risk_key", ASCENDING)])
        await self._links.create_index([("item_key", ASCENDING)])

    async def add(self, dossier_id: str, kind: ObjectKind, items: Iterable[ItemRisks]) -> None:
        """Make sure every link of `items` is stored (before the objects are written)."""
        operations = [
            UpdateOne({"_id": link["_id"]}, {"$set": link}, upsert=True)
            for item_id, risk_object_ids in items for risk_object_id in risk_object_ids
            for link in [link_document(dossier_id, kind, item_id, risk_object_id)]]
        for start in range(0, len(operations), WRITE_BATCH):
            await self._links.bulk_write(operations[start:start + WRITE_BATCH], ordered=False)

    async def prune(self, dossier_id: str, kind: ObjectKind, items: Iterable[ItemRisks]
                    ) -> None:
        """Remove the links `items` no longer have (after the objects are written); an item
        with no risk object (a removed one) loses them all."""
        operations = []
        for item_id, risk_object_ids in items:
            low, high = reference_range(dossier_id, _of(kind, item_id))
            match: Document = {"item_key": {"$gte": low, "$lt": high}}
            if risk_object_ids:
                match["risk_object_id"] = {"$nin": list(risk_object_ids)}
            operations.append(DeleteMany(match))
        for start in range(0, len(operations), WRITE_BATCH):
            await self._links.bulk_write(operations[start:start + WRITE_BATCH], ordered=False)

    async def items_of(self, dossier_id: str, kind: ObjectKind,
                       risk_object_ids: Sequence[str]) -> list[str]:
        """The ids of the contracts (or claims) linked to any of `risk_object_ids`.

        One indexed range per risk object, read side by side: nx-27017 answers an `$or` of
        ranges by reading the whole collection.
        """
        async def linked(risk_object_id: str) -> list[str]:
            low, high = reference_range(dossier_id, _of(kind, risk_object_id))
            cursor = self._links.find({"risk_key": {"$gte": low, "$lt": high}}, {"item_id": 1})
            return [document["item_id"] async for document in cursor]

        found = await asyncio.gather(*(linked(risk_object_id)
                                       for risk_object_id in dict.fromkeys(risk_object_ids)))
        return list(dict.fromkeys(item_id for item_ids in found for item_id in item_ids))
