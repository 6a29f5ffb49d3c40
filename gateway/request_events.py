"""Live request changes for the client's open pages and the mobile app (server-sent events).

The gateway hears every `requests.request.*` event on a queue of this instance only (exclusive,
auto-deleted: nothing piles up for an instance that is gone) and hands each one, in memory, to
the streams opened on that event's dossier. A stream is authorized when it opens and then only
ever receives its own dossier's changes. Nothing here is the truth: a change tells a page to
fetch its part again, through the same authorized routes as a reload. So a stream that falls
behind, or a bus outage that may have lost events, turns into one "resync" instead of a backlog.
"""

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, ValidationError

from libs.contracts.envelope import new_id
from libs.contracts.topology import EVENTS_EXCHANGE
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
ROUTING_KEY = "requests.request.*"
# What a client is told of; an assignment is the office's own business.
CLIENT_VISIBLE = {"submitted", "replied", "status_changed"}
RESYNC = "resync"

streams_open = Gauge("mybroker_gateway_request_streams", "Open request-event streams")
events_fanned_out = Counter(
    "mybroker_gateway_request_events_total",
    "Request events handed to open streams, by outcome (delivered, resync when a stream's "
    "queue was full)", ["outcome"])


class RequestChange(BaseModel):
    """What a stream says of one event: which request changed, how, when. The fields a page or
    the app needs to know what to fetch again; never a message body or an office note."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    change: str  # submitted | replied | status_changed | resync
    request_id: str | None = None
    occurred_at: datetime | None = None
    status: str | None = None  # the new status, on status_changed
    author: str | None = None  # client | office, on replied


class _Envelope(BaseModel):
    """The fields of a `requests.request.*` event the gateway keeps (unknown ones ignored)."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    dossier_id: str | None = None
    occurred_at: datetime | None = None
    request_id: str | None = None
    new_status: str | None = None
    author: str | None = None


def change_of(routing_key: str, body: bytes) -> tuple[str, RequestChange] | None:
    """(dossier id, change) of a bus message, or None for what no client is told of."""
    change = routing_key.rsplit(".", 1)[-1]
    if change not in CLIENT_VISIBLE:
        return None
    try:
        event = _Envelope.model_validate_json(body)
    except ValidationError:
        log.warning("ignored a malformed request event", routing_key=routing_key)
        return None
    if not event.dossier_id or not event.request_id:
        return None
    return event.dossier_id, RequestChange(
        event_id=event.event_id, change=change, request_id=event.request_id,
        occurred_at=event.occurred_at, status=event.new_status, author=event.author)


class TooManyStreams(Exception):
    """The account (or this instance) has as many streams open as it may."""


@dataclass(eq=False)
class Subscription:
    """One open stream: its dossier, its account, and a bounded queue of changes."""

    dossier_id: str
    user_id: str
    queue: asyncio.Queue[RequestChange]
    overflowed: bool = False

    def offer(self, change: RequestChange) -> bool:
        """Queue `change`; a full queue is emptied and replaced by one resync (the page fetches
        everything again instead of the gateway buffering for a slow reader)."""
        if self.overflowed:
            return False
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RequestChange(event_id=new_id(), change=RESYNC))
            return False
        return True

    async def next(self, timeout_seconds: float) -> RequestChange | None:
        """The next change, or None after `timeout_seconds` of quiet (time for a heartbeat)."""
        try:  # asyncio.timeout: a closed stream's cancel is never lost to a change (3.11)
            async with asyncio.timeout(timeout_seconds):
                change = await self.queue.get()
        except TimeoutError:
            return None
        if change.change == RESYNC:
            self.overflowed = False
        return change


@dataclass
class RequestEventHub:
    """The streams open in this gateway instance, by dossier; bounded per account and in all."""

    queue_size: int = 32
    per_account: int = 8
    max_streams: int = 5000
    _by_dossier: dict[str, set[Subscription]] = field(default_factory=lambda: defaultdict(set))
    _by_account: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _count: int = 0
    ending: bool = False

    @property
    def open_streams(self) -> int:
        """How many streams are open now."""
        return self._count

    def open(self, dossier_id: str, user_id: str) -> Subscription:
        """A new stream of `dossier_id`'s changes (the caller checked the grant)."""
        if self._count >= self.max_streams or self._by_account[user_id] >= self.per_account:
            raise TooManyStreams
        subscription = Subscription(dossier_id, user_id, asyncio.Queue(self.queue_size))
        self._by_dossier[dossier_id].add(subscription)
        self._by_account[user_id] += 1
        self._count += 1
        streams_open.inc()
        return subscription

    def close(self, subscription: Subscription) -> None:
        """Forget a stream that ended."""
        streams = self._by_dossier.get(subscription.dossier_id)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        if not streams:
            del self._by_dossier[subscription.dossier_id]
        self._by_account[subscription.user_id] -= 1
        if self._by_account[subscription.user_id] <= 0:
            del self._by_account[subscription.user_id]
        self._count -= 1
        streams_open.dec()

    def publish(self, dossier_id: str, change: RequestChange) -> None:
        """Hand `change` to every stream of `dossier_id`, and to no other."""
        for subscription in self._by_dossier.get(dossier_id, ()):
            events_fanned_out.labels(
                "delivered" if subscription.offer(change) else "resync").inc()

    def end_all(self) -> None:
        """End every stream (the instance stops): each ends after its next wake-up."""
        self.ending = True
        for streams in self._by_dossier.values():
            for subscription in streams:
                subscription.offer(RequestChange(event_id=new_id(), change=RESYNC))

    def resync_all(self) -> None:
        """Tell every stream to fetch again: events may have been lost (a bus outage)."""
        for streams in self._by_dossier.values():
            for subscription in streams:
                subscription.offer(RequestChange(event_id=new_id(), change=RESYNC))


class RequestEventListener:
    """Feeds the hub from the events exchange; after a reconnect every stream resyncs."""

    def __init__(self, amqp_url: str, hub: RequestEventHub, *,
                 exchange: str = EVENTS_EXCHANGE) -> None:
        self._amqp_url = amqp_url
        self._hub = hub
        self._exchange = exchange
        self._connection: AbstractRobustConnection | None = None

    @property
    def connected(self) -> bool:
        """Whether events arrive now."""
        return self._connection is not None and not self._connection.is_closed

    async def start(self) -> None:
        """Connect, declare and bind this instance's queue, and consume (no ack: a live view,
        redelivery after a crash would reach streams that no longer exist)."""
        connection = await aio_pika.connect_robust(self._amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self._exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(
                f"gateway.request-events.{new_id()}", exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=ROUTING_KEY)
            await queue.consume(self._on_message, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        connection.reconnect_callbacks.add(self._on_reconnect)
        self._connection = connection

    def _on_reconnect(self, *_: object) -> None:
        log.info("request event listener reconnected; open streams resync")
        self._hub.resync_all()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        found = change_of(message.routing_key or "", message.body)
        if found is not None:
            self._hub.publish(*found)

    async def close(self) -> None:
        """Stop listening; the exclusive queue disappears with the connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


@dataclass(frozen=True)
class StreamLimits:
    """How a stream behaves: the heartbeat, and the longest it stays open before the client
    must reconnect (and so be authorized again with a current token)."""

    heartbeat_seconds: float
    until: float  # loop time at which the stream ends


def sse_frame(event: str, data: str, event_id: str | None = None) -> bytes:
    """One server-sent event."""
    lines = [f"event: {event}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


async def stream_changes(
    hub: RequestEventHub, subscription: Subscription, limits: StreamLimits, *,
    page: bool, still_allowed: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """The body of one stream: a first `ready` event (with a reconnect delay), then each
    change as it comes, a heartbeat comment in quiet times; it ends at `limits.until` or when
    the session is no longer allowed (logged out, dossier taken away).

    `page`: the htmx pages listen by event name: `changed` for any request of the dossier and
    `request-<id>` for one request; the app reads `request` events and their JSON.
    """
    loop = asyncio.get_running_loop()
    try:
        yield b"retry: 3000\n" + sse_frame("ready", json.dumps({"ready": True}))
        while (left := limits.until - loop.time()) > 0:
            change = await subscription.next(min(limits.heartbeat_seconds, left))
            if hub.ending or not still_allowed():
                return
            if change is None:
                yield b": heartbeat\n\n"
                continue
            data = change.model_dump_json(exclude_none=True)
            if not page:
                yield sse_frame("request", data, change.event_id)
            elif change.change == RESYNC:
                yield sse_frame("changed", data, change.event_id)
            else:
                yield (sse_frame("changed", data, change.event_id)
                       + sse_frame(f"request-{change.request_id}", data))
    finally:
        hub.close(subscription)

