"""Replaying the dead-letter queue (deploy/README.md): a poison event, once its cause is fixed,
is replayed to the queue it died in and handled; other dead letters stay where they are."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from faststream.rabbit import RabbitBroker

from libs.contracts.envelope import Event
from libs.contracts.topology import MAX_DELIVERIES
from libs.servicekit.bus import create_broker, declare_dead_letters, subscribe_event
from libs.servicekit.dead_letters import process


class ParcelShipped(Event):
    routing_key = "kit.parcel.shipped"
    parcel_id: str


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url, "dead-letter-test")
    yield broker
    await broker.stop()


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_dead_letter_replayed_after_the_fix_is_handled_once(
    broker: RabbitBroker, amqp_url: str
) -> None:
    unique = uuid.uuid4().hex[:8]
    queue = f"kit{unique}.parcels"
    attempts: list[str] = []
    handled: list[str] = []
    broken = True

    async def ship(event: ParcelShipped) -> None:
        attempts.append(event.event_id)
        if broken:
            raise RuntimeError("the carrier's API is down")
        handled.append(event.event_id)

    subscribe_event(broker, consumer=f"kit{unique}", purpose="parcels", event_type=ParcelShipped,
                    handle=ship)
    await broker.start()
    await declare_dead_letters(broker)
    event = ParcelShipped(parcel_id=f"p-{unique}")
    await broker.publish(event.model_dump(mode="json"), exchange="mybroker.events",
                         routing_key=ParcelShipped.routing_key, message_id=event.event_id)

    async def dead_lettered() -> bool:
        return any(letter.message_id == event.event_id
                   for letter in await process(amqp_url, replay=False, queue=queue))

    await _until(dead_lettered)
    assert len(attempts) == MAX_DELIVERIES, "dead-lettered at the MAX_DELIVERIES-th failure"
    listed = await process(amqp_url, replay=False, queue=queue)
    assert [(letter.queue, letter.routing_key) for letter in listed] == [
        (queue, ParcelShipped.routing_key)]
    assert await process(amqp_url, replay=False, queue=queue) == listed, "listing changes nothing"

    broken = False
    replayed = await process(amqp_url, replay=True, queue=queue)
    assert [letter.message_id for letter in replayed] == [event.event_id]
    async def handled_once() -> bool:
        return handled == [event.event_id]

    await _until(handled_once)
    assert await process(amqp_url, replay=False, queue=queue) == []
