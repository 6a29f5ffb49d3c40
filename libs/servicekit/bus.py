"""RabbitMQ topology: the events exchange, per-consumer durable queues with dead-lettering."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)

from libs.contracts.envelope import Event
from libs.contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EVENTS_EXCHANGE,
    MAX_DELIVERIES,
)
from libs.servicekit.logs import correlation_id, get_logger

EventT = TypeVar("EventT", bound=Event)

EVENTS = RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)
DEAD_LETTERS = RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.FANOUT, durable=True)

log = get_logger(__name__)


def create_broker(amqp_url: str, service: str) -> RabbitBroker:
    """A broker for one service; publisher confirms are on (faststream's default)."""
    return RabbitBroker(amqp_url, app_id=f"mybroker-{service}", fail_fast=False, logger=None)


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
    MAX_DELIVERIES the queue dead-letters it. `handle` must be idempotent (see inbox.Inbox).
    """

    @broker.subscriber(
        consumer_queue(consumer, purpose, event_type.routing_key),
        EVENTS,
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{consumer}.{purpose}",
        description=event_type.__doc__,
    )
    async def _consume(body: dict[str, Any]) -> None:
        event = event_type.model_validate(body)
        token = correlation_id.set(event.correlation_id)
        try:
            log.info("handling event", routing_key=event_type.routing_key, event_id=event.event_id)
            await handle(event)
        finally:
            correlation_id.reset(token)
