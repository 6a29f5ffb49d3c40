"""RabbitMQ topology: the events exchange, per-consumer durable queues with dead-lettering."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

from faststream import AckPolicy
from faststream.exceptions import RejectMessage
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.annotations import RabbitMessage
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from pymongo.errors import ConnectionFailure

from libs.contracts.envelope import Event, utc_now
from libs.contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EVENTS_EXCHANGE,
    MAX_DELIVERIES,
)
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.tracing import span

EventT = TypeVar("EventT", bound=Event)

EVENTS = RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.FANOUT, durable=True)

log = get_logger(__name__)
# How often a lost bus connection is tried again (aio-pika's default is 5 s): a service is
# back within about a second of RabbitMQ, so calls queued for it meanwhile wait little.
RECONNECT_SECONDS = 1.0
events_consumed = Counter(
    "mybroker_events_consumed_total", "Events handled, by queue and outcome (ok or failed)",
    ["queue", "outcome"],
)
event_handle_seconds = Histogram(
    "mybroker_event_handle_seconds", "Time to handle one event", ["queue"]
)
events_waiting = Counter(
    "mybroker_events_waiting_for_dependency_total",
    "Times an event's handling waited for its database or another service to come back",
    ["queue"],
)
# An event whose database or RPC partner is away is kept (unacked) and tried again in-process
# with these pauses (then the last one, repeatedly) until DEPENDENCY_PATIENCE_SECONDS: a
# requeue would count towards the delivery limit, and a 20-second database outage would
# dead-letter every event that arrived meanwhile.
DEPENDENCY_BACKOFF_SECONDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0)
DEPENDENCY_PATIENCE_SECONDS = 300.0
DEPENDENCY_AWAY = (ConnectionFailure, Unavailable)
event_lag_seconds = Histogram(
    "mybroker_event_lag_seconds", "From the event's occurrence to the start of its handling "
    "(outbox relay + queue wait)", ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


class DeadLetter(Exception):
    """Raised by a handler that gave up on an event after its own retries: the event goes to
    the dead-letter queue at once (rejected, not requeued for more deliveries)."""


def create_broker(amqp_url: str, service: str) -> RabbitBroker:
    """A broker for one service; publisher confirms are on (faststream's default). Its
    connection is robust: consumers and declarations come back by themselves after an outage."""
    return RabbitBroker(amqp_url, app_id=f"mybroker-{service}", fail_fast=False, logger=None,
                        reconnect_interval=RECONNECT_SECONDS)


def consumer_queue(consumer: str, purpose: str, routing_key: str) -> RabbitQueue:
    """The durable queue `<consumer>.<purpose>`: quorum, dead-lettered after MAX_DELIVERIES."""
    return RabbitQueue(
        f"{consumer}.{purpose}",
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=routing_key,
        arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-delivery-limit": MAX_DELIVERIES,
        },
    )


async def declare_dead_letters(broker: RabbitBroker) -> None:
    """Make sure poison messages land in a queue someone can inspect, never nowhere."""
    exchange = await broker.declare_exchange(DEAD_LETTERS)
    queue = await broker.declare_queue(
        RabbitQueue(DEAD_LETTER_QUEUE, queue_type=QueueType.QUORUM, durable=True)
    )
    await queue.bind(exchange)


def subscribe_event(
    broker: RabbitBroker,
    *,
    consumer: str,
    purpose: str,
    event_type: type[EventT],
    handle: Callable[[EventT], Awaitable[None]],
    prefetch: int = 16,
) -> None:
    """Consume one event type on the queue `<consumer>.<purpose>`.

    The message is acked after `handle` returns; on an exception it is requeued, and after
    MAX_DELIVERIES the queue dead-letters it. When the database or another service is away,
    `handle` is called again in-process until it is back (patiently: that is no poison).
    `handle` must be idempotent (see inbox.Inbox).
    """

    async def consume(event: Event, message: RabbitMessage) -> None:
        queue = f"{consumer}.{purpose}"
        if event.occurred_at.tzinfo is not None:
            event_lag_seconds.labels(queue).observe(
                max(0.0, (utc_now() - event.occurred_at).total_seconds()))
        token = correlation_id.set(event.correlation_id)
        started = time.perf_counter()
        outcome = "failed"
        try:
            with span(f"consume {queue}", SpanKind.CONSUMER, parent=message.headers,
                      attributes={"messaging.destination.name": queue,
                                  "messaging.message.id": event.event_id}):
                log.info("handling event", routing_key=event_type.routing_key,
                         event_id=event.event_id)
                try:
                    await _waiting_for_dependencies(handle, cast(EventT, event), queue)
                except DeadLetter as gave_up:
                    log.error("event dead-lettered by its handler", queue=queue,
                              event_id=event.event_id, reason=str(gave_up))
                    outcome = "dead_lettered"
                    raise RejectMessage from gave_up
            outcome = "ok"
        finally:
            correlation_id.reset(token)
            events_consumed.labels(queue, outcome).inc()
            event_handle_seconds.labels(queue).observe(time.perf_counter() - started)

    # faststream validates the body into the handler's annotated type and documents that type's
    # schema (AsyncAPI): the annotation must be the concrete event class, known only here. A
    # body that does not validate fails the delivery like any error (requeued, then dead-lettered).
    consume.__annotations__["event"] = event_type
    broker.subscriber(
        consumer_queue(consumer, purpose, event_type.routing_key),
        EVENTS,
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{consumer}.{purpose}",
        description=event_type.__doc__,
    )(consume)


async def _waiting_for_dependencies(
    handle: Callable[[EventT], Awaitable[None]], event: EventT, queue: str
) -> None:
    waited = 0.0
    for attempt in range(1_000_000):
        try:
            await handle(event)
            return
        except DEPENDENCY_AWAY as error:
            if waited >= DEPENDENCY_PATIENCE_SECONDS:
                raise
            pause = DEPENDENCY_BACKOFF_SECONDS[min(attempt, len(DEPENDENCY_BACKOFF_SECONDS) - 1)]
            events_waiting.labels(queue).inc()
            log.warning("a dependency is away; the event is kept and tried again", queue=queue,
                        event_id=event.event_id, error=str(error), retry_in=pause)
            await asyncio.sleep(pause)
            waited += pause


def declare_emitted_events(
    broker: RabbitBroker, *, producer: str, events: Sequence[type[Event]]
) -> None:
    """Declare the events `producer` publishes (through its outbox) on the events exchange.

    The outbox relay publishes by routing key; these declarations are what the AsyncAPI document
    lists as the service's sent messages, with each event's schema.
    """
    for event_type in events:
        broker.publisher(
            exchange=EVENTS,
            routing_key=event_type.routing_key,
            persist=True,
            mandatory=False,  # as the relay publishes: an event nobody consumes yet is dropped
            title=f"{producer}:{event_type.routing_key}",
            description=event_type.__doc__,
            schema=event_type,
        )
