"""RabbitMQ topology: the events exchange, per-consumer durable queues with dead-lettering."""

import asyncio
import os
import random
import signal
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
    RECONNECT_SECONDS,
)
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.tracing import span

EventT = TypeVar("EventT", bound=Event)

EVENTS = RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.FANOUT, durable=True)

log = get_logger(__name__)
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


class _KillBeforeAck:
    """The crash tests' fault-injection hook (off unless a service's settings turn it on, and
    refused in prod): die after an event's effect and before its ack, on a share of events,
    the worst moment for exactly-once effects (RabbitMQ redelivers it, the effect is done)."""

    share = 0.0

    def maybe_die(self, queue: str, event_id: str) -> None:
        if self.share and random.random() < self.share:  # noqa: S311 - not for secrets
            log.warning("fault injection: killed before the ack", queue=queue, event_id=event_id)
            os.kill(os.getpid(), signal.SIGKILL)


kill_before_ack = _KillBeforeAck()

# Poison is counted here, not by the queue. A quorum queue (RabbitMQ before 4.3) counts every
# return of a message towards its delivery limit, also the returns of a consumer that crashed or
# lost its connection with the message unacked: a crash-looping replica, or a bus restart, would
# dead-letter innocent events that were merely in flight. So a failed handling acks the message
# and puts a copy back carrying the count of failures (dead-lettered at MAX_DELIVERIES), and a
# message the queue has returned often is put back as a fresh copy a few times before the queue's
# own limit — the net for a message that kills its consumer each time — may take it.
FAILURES_HEADER = "x-mybroker-failures"
FRESH_COPIES_HEADER = "x-mybroker-fresh-copies"
ROUTING_KEY_HEADER = "x-mybroker-routing-key"  # the event's, kept on copies put back
QUEUE_COUNT_HEADER = "x-delivery-count"  # set by the quorum queue on a redelivery
FRESH_COPY_AT = MAX_DELIVERIES - 2  # returns of one copy before it is replaced
MAX_FRESH_COPIES = 3
_BROKER_HEADERS = (QUEUE_COUNT_HEADER, "x-death", "x-first-death-exchange",
                   "x-first-death-queue", "x-first-death-reason")
events_put_back = Counter(
    "mybroker_events_put_back_total", "Events acked and put back into their queue as a copy: "
    "after a failed handling (failure) or after many returns of crashed consumers (returns)",
    ["queue", "cause"],
)


def _header_count(message: RabbitMessage, header: str) -> int:
    value = message.headers.get(header)
    return value if isinstance(value, int) and value >= 0 else 0


async def _put_back(broker: RabbitBroker, queue: str, message: RabbitMessage,
                    counts: dict[str, int]) -> None:
    """Publish a copy of `message` into `queue` (not the exchange: other consumers have it)
    with `counts` in its headers; the caller then acks the original."""
    headers = {key: value for key, value in message.headers.items()
               if key not in _BROKER_HEADERS} | counts
    headers.setdefault(ROUTING_KEY_HEADER, message.raw_message.routing_key or "")
    await broker.publish(message.body, queue=queue, headers=headers, persist=True,
                         message_id=message.message_id, correlation_id=message.correlation_id,
                         content_type=message.content_type or "application/json")
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

    The message is acked after `handle` returns; on an exception it is put back into the queue
    as a copy counting the failures, and the MAX_DELIVERIES-th failure dead-letters it. When the
    database or another service is away, `handle` is called again in-process until it is back
    (patiently: that is no poison).
    `handle` must be idempotent (see inbox.Inbox).
    """

    async def consume(event: Event) -> None:
        # The delivery from faststream's context, not as a `message: RabbitMessage` argument:
        # fast_depends resolves such a context argument in a worker thread, a thread hop per
        # event that cost the notifier a fifth of its time per mail.
        message: RabbitMessage = broker.context.get_local("message")
        queue = f"{consumer}.{purpose}"
        fresh_copies = _header_count(message, FRESH_COPIES_HEADER)
        if (_header_count(message, QUEUE_COUNT_HEADER) >= FRESH_COPY_AT
                and fresh_copies < MAX_FRESH_COPIES):
            await _put_back(broker, queue, message, {FRESH_COPIES_HEADER: fresh_copies + 1})
            events_put_back.labels(queue, "returns").inc()
            return
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
            kill_before_ack.maybe_die(queue, event.event_id)
        except RejectMessage:
            raise  # the handler gave up (DeadLetter): no more tries
        except Exception as error:
            failures = _header_count(message, FAILURES_HEADER) + 1
            log.warning("handling an event failed", queue=queue, event_id=event.event_id,
                        failures=failures, error=repr(error))
            if failures >= MAX_DELIVERIES:
                raise RejectMessage from error  # into the dead-letter queue (x-death says where)
            await _put_back(broker, queue, message, {FAILURES_HEADER: failures})
            events_put_back.labels(queue, "failure").inc()
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
