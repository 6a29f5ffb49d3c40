"""Transactional outbox: events are stored inside the changed document, in the same write.

MongoDB makes a single-document write atomic, so a state change and its events can never be
half-written. The relay publishes each pending event with publisher confirms, then marks it sent
by removing it from the document; a failed publish stays pending and is retried.

With replicas, the backlog is scanned on a timer by one replica only, the holder of the relay's
lease (lease.py); a replica that has just stored events relays them at once itself, so a
submission never waits for the timer. Either way each event is claimed (`claimed_until_ms` in its
entry, a compare-and-set) before it is published: two replicas never publish the same event at
the same moment. An event whose publisher died after the claim is published again once the claim
has expired (consumers deduplicate on the event id).

Pending events are a map `outbox.<event_id>` plus a counter `outbox_pending`, not an array: the
Mongo-wire server used here stores `$push`ed sub-documents as strings and cannot query `$ne: []`.
"""

import asyncio
import contextlib
from typing import Any

from faststream.rabbit import RabbitBroker
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.envelope import Event, utc_now
from libs.servicekit.bus import EVENTS
from libs.servicekit.lease import Lease
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.tracing import current_carrier, span

OUTBOX_FIELD = "outbox"
PENDING_COUNT_FIELD = "outbox_pending"
PENDING = {PENDING_COUNT_FIELD: {"$gt": 0}}

log = get_logger(__name__)
# A failed pass costs one query and one refused publish; waiting longer only delays the backlog
# after the bus returns (at 30 s a 20 s broker restart left the outbox waiting 20 s more).
RETRY_SECONDS_AT_MOST = 4.0
events_published = Counter(
    "mybroker_outbox_events_published_total", "Events relayed from the outbox", ["routing_key"]
)
publish_failures = Counter(
    "mybroker_outbox_publish_failures_total", "Outbox publish attempts that failed"
)
backlog = Gauge(
    "mybroker_outbox_backlog_events", "Events stored but not yet published (at the last pass)",
    ["collection"],
)
TRACE_FIELD = "trace"
CLAIM_FIELD = "claimed_until_ms"
CLAIM_SECONDS = 30.0  # far above a publish with confirms (2 s at most, rpc.py's cap)


def _entry(event: Event) -> Document:
    entry: Document = {
        "event_id": event.event_id,
        "routing_key": event.routing_key,
        "payload": event.model_dump(mode="json"),
        "stored_at": utc_now(),
    }
    # The trace of the action that caused the event: the relay publishes inside it.
    if carrier := current_carrier():
        entry[TRACE_FIELD] = carrier
    return entry


def new_document_events(*events: Event) -> Document:
    """Fields to include in a document being inserted together with `events`."""
    return {
        OUTBOX_FIELD: {event.event_id: _entry(event) for event in events},
        PENDING_COUNT_FIELD: len(events),
    }


def record_events(update: dict[str, Any], *events: Event) -> dict[str, Any]:
    """`update` extended so the same write stores `events` in the document's outbox."""
    extended = {operator: dict(fields) for operator, fields in update.items()}
    extended.setdefault("$set", {}).update(
        {f"{OUTBOX_FIELD}.{event.event_id}": _entry(event) for event in events}
    )
    extended.setdefault("$inc", {})[PENDING_COUNT_FIELD] = len(events)
    return extended


class OutboxRelay:
    """Publishes pending events of the given collections; wake it with `notify()` after a write."""

    def __init__(
        self,
        broker: RabbitBroker,
        database: AsyncDatabase[Document],
        collections: list[str],
        *,
        poll_seconds: float = 1.0,
        lease: Lease | None = None,
    ) -> None:
        self._broker = broker
        self._database = database
        self._collections = collections
        self._poll_seconds = poll_seconds
        # The timed scan runs in one replica at a time (every service's outbox is its own
        # database's, so one lease name per database is enough).
        self._lease = lease if lease is not None else Lease(database, "outbox-relay")
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        """A write just stored events: relay now rather than at the next poll."""
        self._wakeup.set()

    async def relay_pending(self) -> int:
        """Publish every pending event once; return how many went out."""
        sent = 0
        for name in self._collections:
            collection = self._database[name]
            pending = [document async for document in collection.find(PENDING, {OUTBOX_FIELD: 1})]
            backlog.labels(name).set(sum(len(document[OUTBOX_FIELD]) for document in pending))
            for document in pending:
                for entry in document[OUTBOX_FIELD].values():
                    if not await self._claim(collection, document["_id"], entry["event_id"]):
                        continue  # another replica is publishing it
                    await self._publish(entry)
                    await collection.update_one(
                        {"_id": document["_id"]},
                        {
                            "$unset": {f"{OUTBOX_FIELD}.{entry['event_id']}": ""},
                            "$inc": {PENDING_COUNT_FIELD: -1},
                        },
                    )
                    backlog.labels(name).dec()
                    events_published.labels(entry["routing_key"]).inc()
                    log.info("event published", routing_key=entry["routing_key"],
                             event_id=entry["event_id"])
                    sent += 1
        return sent

    async def _claim(self, collection: Any, document_id: Any, event_id: str) -> bool:
        """Claim one pending event for this replica: True unless another replica holds an
        unexpired claim on it (or published it meanwhile)."""
        now = int(utc_now().timestamp() * 1000)
        field = f"{OUTBOX_FIELD}.{event_id}.{CLAIM_FIELD}"
        claimed = await collection.update_one(
            {"_id": document_id, f"{OUTBOX_FIELD}.{event_id}.event_id": event_id,
             "$or": [{field: {"$exists": False}}, {field: {"$lt": now}}]},
            {"$set": {field: now + int(CLAIM_SECONDS * 1000)}})
        return bool(claimed.matched_count)

    async def _publish(self, entry: Document) -> None:
        with span(f"publish {entry['routing_key']}", SpanKind.PRODUCER,
                  parent=entry.get(TRACE_FIELD) or {},
                  attributes={"messaging.message.id": entry["event_id"]}):
            await self._broker.publish(
                entry["payload"],
                exchange=EVENTS,
                routing_key=entry["routing_key"],
                message_id=entry["event_id"],
                correlation_id=entry["payload"].get("correlation_id"),
                content_type="application/json",
                persist=True,
                mandatory=False,
                headers=dict(current_carrier()),  # the consumers continue the trace
            )

    async def run(self) -> None:
        """Relay until cancelled; failures are logged and retried with back-off."""
        delay = self._poll_seconds
        try:
            while True:
                delay = await self._one_pass(delay)
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a stop that
                # arrives as the wake-up does, and this loop (and the service) would run on.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wakeup.wait()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._lease.release())

    async def _one_pass(self, delay: float) -> float:
        """Relay after a write of this replica, or on the timer when this replica holds the
        lease; return the delay until the next timed pass."""
        woken = self._wakeup.is_set()
        self._wakeup.clear()  # a write during this pass wakes the next one
        try:
            if woken or await self._lease.acquire():
                await self.relay_pending()
            return self._poll_seconds
        except asyncio.CancelledError:
            raise
        except Exception:
            publish_failures.inc()
            log.warning("outbox relay failed; will retry", exc_info=True, retry_in=delay)
            return min(delay * 2, RETRY_SECONDS_AT_MOST)
