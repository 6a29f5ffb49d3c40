"""Transactional outbox: events are stored inside the changed document, in the same write.

MongoDB makes a single-document write atomic, so a state change and its events can never be
half-written. The relay publishes each pending event with publisher confirms, then marks it sent
by removing it from the document; a failed publish stays pending and is retried.

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
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.tracing import current_carrier, span

OUTBOX_FIELD = "outbox"
PENDING_COUNT_FIELD = "outbox_pending"
PENDING = {PENDING_COUNT_FIELD: {"$gt": 0}}

log = get_logger(__name__)
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
    ) -> None:
        self._broker = broker
        self._database = database
        self._collections = collections
        self._poll_seconds = poll_seconds
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
        while True:
            # Cleared before the pass, not after: a write notifying during the pass (its event
            # may be missed by the pass's query) starts the next pass at once, not a poll later.
            self._wakeup.clear()
            try:
                await self.relay_pending()
                delay = self._poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                publish_failures.inc()
                log.warning("outbox relay failed; will retry", exc_info=True, retry_in=delay)
                delay = min(delay * 2, 30.0)
                self._wakeup.clear()  # a failing bus is not retried faster for more writes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)
