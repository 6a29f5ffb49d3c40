"""A service's part in the erasure of a dossier (GDPR art. 17): the saga's participant.

Each service declares, for every collection of its database, what an erasure does there (the
registry `rules`; a test compares it with the collections a running stack really holds, so a
new collection cannot be forgotten). On `privacy.erasure.requested` the participant applies the
rules, then reports `privacy.erasure.completed` through its outbox: the report is written with
the event in one document, so the report is never lost once the erasure is done.

Erasing is idempotent (deleting what is already gone deletes nothing), so a re-request after a
crash simply runs again; the report keeps the counts of the first run that found something.
"""

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faststream.rabbit import RabbitBroker
from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.envelope import utc_now
from libs.contracts.privacy import ErasureCompleted, ErasureRequested, KeptEvidence
from libs.servicekit.bus import subscribe_event
from libs.servicekit.export_parts import EXPORT_PARTS
from libs.servicekit.inbox import PROCESSED_EVENTS
from libs.servicekit.lease import LEASES
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import record_events

log = get_logger(__name__)
ERASURE_REPORTS = "erasure_reports"
erased_items = Counter("mybroker_erasure_deleted_total",
                       "Items deleted by dossier erasures", ["service", "collection"])


@dataclass(frozen=True)
class DeleteWhere:
    """Delete the documents whose `field` is the dossier id (or holds it, for an array)."""

    field: str


@dataclass(frozen=True)
class DeleteMentioning:
    """Delete every document that mentions the dossier id anywhere (scanned: for collections
    whose documents name the dossier only inside keys or nested values)."""


@dataclass(frozen=True)
class KeepAsEvidence:
    """Kept: the law requires it. `field` finds the dossier's documents, to count them (or
    `count`, when they name the dossier only through another collection)."""

    reason: str
    field: str | None = None
    count: Callable[[str], Awaitable[int]] | None = None


@dataclass(frozen=True)
class HoldsNoDossierData:
    """The collection holds nothing of a dossier (why, in `reason`)."""

    reason: str


ErasureRule = DeleteWhere | DeleteMentioning | KeepAsEvidence | HoldsNoDossierData

# Collections the servicekit gives every service.
COMMON_RULES: dict[str, ErasureRule] = {
    PROCESSED_EVENTS: DeleteMentioning(),
    EXPORT_PARTS: DeleteMentioning(),  # each service's record of its part of a data export
    LEASES: HoldsNoDossierData("which replica runs a periodic job"),
    ERASURE_REPORTS: HoldsNoDossierData(
        "the erasure reports: counts per collection, no dossier id (GDPR art. 5(2))"),
}

BeforeErasing = Callable[[str], Awaitable[dict[str, int]]]


def mentions(document: Document, dossier_id: str) -> bool:
    """True when `dossier_id` occurs in the document as a whole id (not inside a longer one)."""
    text = json.dumps(document, default=str, ensure_ascii=False)
    pattern = rf"(?<![A-Za-z0-9_.-]){re.escape(dossier_id)}(?![A-Za-z0-9_-])"
    return re.search(pattern, text) is not None


class ErasureParticipant:
    """Erases one service's data of a dossier and reports it."""

    def __init__(
        self, database: AsyncDatabase[Document], service: str, rules: Mapping[str, ErasureRule],
        *, before: BeforeErasing | None = None, notify: Callable[[], None] = lambda: None,
    ) -> None:
        self._database = database
        self.service = service
        self.rules: dict[str, ErasureRule] = {**COMMON_RULES, **rules}
        self._before = before
        self._notify = notify

    async def erase(self, dossier_id: str) -> tuple[dict[str, int], list[KeptEvidence]]:
        """Apply every rule to `dossier_id`; what was deleted and what was kept."""
        deleted: dict[str, int] = {}
        if self._before is not None:  # e.g. object bodies, found through documents erased next
            deleted.update(await self._before(dossier_id))
        kept: list[KeptEvidence] = []
        for name, rule in self.rules.items():
            collection = self._database[name]
            if isinstance(rule, DeleteWhere):
                result = await collection.delete_many({rule.field: dossier_id})
                deleted[name] = deleted.get(name, 0) + result.deleted_count
            elif isinstance(rule, DeleteMentioning):
                ids = [document["_id"] async for document in collection.find({})
                       if mentions(document, dossier_id)]
                if ids:
                    result = await collection.delete_many({"_id": {"$in": ids}})
                    deleted[name] = deleted.get(name, 0) + result.deleted_count
                else:
                    deleted.setdefault(name, 0)
            elif isinstance(rule, KeepAsEvidence):
                count = (await collection.count_documents({rule.field: dossier_id})
                         if rule.field else await rule.count(dossier_id) if rule.count else 0)
                kept.append(KeptEvidence(collection=name, count=count, reason=rule.reason))
        for name, count in deleted.items():
            if count:
                erased_items.labels(self.service, name).inc(count)
        return deleted, kept

    async def on_requested(self, event: ErasureRequested) -> None:
        """Erase the dossier of `event`, then report (through the outbox)."""
        assert event.dossier_id is not None
        deleted, kept = await self.erase(event.dossier_id)
        reports = self._database[ERASURE_REPORTS]
        earlier = await reports.find_one({"_id": event.erasure_id})
        if earlier is not None and any(earlier.get("deleted", {}).values()):
            deleted = {**deleted, **{k: v for k, v in earlier["deleted"].items() if v}}
        completed = ErasureCompleted(
            erasure_id=event.erasure_id, service=self.service, deleted=deleted, kept=kept,
            correlation_id=event.correlation_id)
        update: dict[str, Any] = record_events({"$set": {
            "service": self.service, "deleted": deleted,
            "kept": [item.model_dump() for item in kept], "reported_at": utc_now()}}, completed)
        await reports.update_one({"_id": event.erasure_id}, update, upsert=True)
        self._notify()
        log.info("dossier erased", service=self.service, erasure_id=event.erasure_id,
                 deleted=sum(deleted.values()))



def subscribe_erasure(broker: RabbitBroker, participant: ErasureParticipant) -> None:
    """Consume erasure requests on the queue `<service>.privacy-erasure`."""
    subscribe_event(broker, consumer=participant.service, purpose="privacy-erasure",
                    event_type=ErasureRequested, handle=participant.on_requested, prefetch=1)
