"""The servicekit on the real RabbitMQ: concurrent RPC, outbox relay, dead-lettering, inbox."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.errors import ServerSelectionTimeoutError

from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod
from libs.contracts.topology import DEAD_LETTER_QUEUE, MAX_DELIVERIES
from libs.servicekit import bus, rpc
from libs.servicekit.bus import create_broker, declare_dead_letters, subscribe_event
from libs.servicekit.errors import Conflict, Unavailable
from libs.servicekit.inbox import Inbox
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import OutboxRelay, new_document_events, record_events
from libs.servicekit.rpc import RpcClient, serve_rpc


class Number(BaseModel):
    value: int


class ThingHappened(Event):
    routing_key = "kit.thing.happened"
    thing_id: str


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url, "kit-test")
    yield broker
    await broker.stop()


@pytest.fixture
async def rpc_client(amqp_url: str) -> AsyncIterator[RpcClient]:
    client = RpcClient(amqp_url, timeout_seconds=2.0)
    await client.connect()
    yield client
    await client.close()


async def test_rpc_calls_run_concurrently_and_errors_keep_their_type(
    broker: RabbitBroker, rpc_client: RpcClient, unique: str
) -> None:
    double = RpcMethod(f"kit.rpc.double.{unique}", Number, Number)
    calls = 50
    inside, most = 0, 0
    all_inside = asyncio.Event()

    async def handle(request: Number) -> Number:
        nonlocal inside, most
        if request.value < 0:
            raise Conflict("negative numbers clash")
        inside += 1
        most = max(most, inside)
        if inside == calls:
            all_inside.set()
        # Each call waits for all the others: calls that queued one by one would never get
        # here together, and the first would time out at the client.
        await all_inside.wait()
        inside -= 1
        return Number(value=request.value * 2)

    serve_rpc(broker, double, handle, prefetch=64)
    await broker.start()

    replies = await asyncio.gather(*(rpc_client.call(double, Number(value=i))
                                     for i in range(calls)))

    assert [r.value for r in replies] == [i * 2 for i in range(calls)]
    assert most == calls, "50 calls must overlap, not queue one by one"
    with pytest.raises(Conflict, match="negative numbers clash"):
        await rpc_client.call(double, Number(value=-1))


async def test_rpc_to_a_service_that_is_not_running_times_out_with_a_clear_error(
    rpc_client: RpcClient, unique: str
) -> None:
    nobody = RpcMethod(f"ghost.rpc.nothing.{unique}", Number, Number)
    with pytest.raises(Unavailable, match=r"ghost did not answer within 0\.3 s"):
        await rpc_client.call(nobody, Number(value=1), timeout_seconds=0.3)


async def test_outbox_relay_publishes_stored_events_once_and_marks_them_sent(
    broker: RabbitBroker,
    mongo_client: AsyncMongoClient[Document],
    database_name: str,
    unique: str,
) -> None:
    database = mongo_client[database_name]
    received: list[ThingHappened] = []

    async def remember(event: ThingHappened) -> None:
        received.append(event)

    subscribe_event(broker, consumer=f"kit{unique}", purpose="things", event_type=ThingHappened,
                    handle=remember)
    await broker.start()
    first, second = ThingHappened(thing_id="t1"), ThingHappened(thing_id="t2")
    await database.things.insert_one({"_id": "t1", **new_document_events(first)})
    await database.things.update_one(
        {"_id": "t1"}, record_events({"$set": {"colour": "blue"}}, second)
    )

    relay = OutboxRelay(broker, database, ["things"])
    assert await relay.relay_pending() == 2
    assert await relay.relay_pending() == 0, "a sent event is never published again"
    for _ in range(50):
        if len(received) == 2:
            break
        await asyncio.sleep(0.05)
    assert {e.event_id for e in received} == {first.event_id, second.event_id}
    stored = await database.things.find_one({"_id": "t1"})
    assert stored is not None
    assert stored["colour"] == "blue"
    assert stored["outbox"] == {}
    await mongo_client.drop_database(database_name)


async def test_a_poison_event_is_dead_lettered_after_the_delivery_limit(
    broker: RabbitBroker, amqp_url: str, unique: str
) -> None:
    attempts: list[str] = []

    async def always_fail(event: ThingHappened) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("cannot handle this")

    subscribe_event(broker, consumer=f"kit{unique}", purpose="poison", event_type=ThingHappened,
                    handle=always_fail)
    await broker.start()
    await declare_dead_letters(broker)
    poison = ThingHappened(thing_id=f"poison-{unique}")
    await broker.publish(poison.model_dump(mode="json"), exchange="mybroker.events",
                         routing_key=ThingHappened.routing_key)

    dead: list[dict[str, Any]] = []
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(DEAD_LETTER_QUEUE)
        for _ in range(100):
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                body = ThingHappened.model_validate_json(message.body)
                if body.thing_id == poison.thing_id:
                    dead.append(body.model_dump())
                    break
            await asyncio.sleep(0.1)
    assert dead, "the poison event must land in the dead-letter queue, not vanish"
    assert len(attempts) == MAX_DELIVERIES, "dead-lettered at the MAX_DELIVERIES-th failure"


async def test_an_event_returned_by_crashed_consumers_again_and_again_is_no_poison(
    broker: RabbitBroker, amqp_url: str, unique: str
) -> None:
    """A quorum queue counts each return of an unacked message (a consumer that died, a lost
    connection) towards its delivery limit; an event in flight through a crash loop must still
    be handled, not dead-lettered: a consumer that gets a message the queue returned often puts
    a fresh copy back (tests/faults/test_consumer_kills.py proves it with real crashes)."""
    consumer = f"kit{unique}"
    queue_name = f"{consumer}.crashes"
    declared = bus.consumer_queue(consumer, "crashes", ThingHappened.routing_key)
    returns = MAX_DELIVERIES - 1  # one more and the queue would dead-letter it
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange("mybroker.events", aio_pika.ExchangeType.TOPIC,
                                                durable=True)
        queue = await channel.declare_queue(queue_name, durable=True, arguments={
            "x-queue-type": "quorum", **(declared.arguments or {})})
        await queue.bind(events, ThingHappened.routing_key)
        event = ThingHappened(thing_id=f"crash-{unique}")
        await events.publish(aio_pika.Message(event.model_dump_json().encode(),
                                              content_type="application/json",
                                              message_id=event.event_id),
                             routing_key=ThingHappened.routing_key)
    for _ in range(returns):  # a consumer takes it and dies before the ack
        dying = await aio_pika.connect(amqp_url)
        dying_channel = await dying.channel()
        taken = None
        for _ in range(50):  # the last return may still be on its way
            taken = await (await dying_channel.get_queue(queue_name)).get(no_ack=False, fail=False)
            if taken is not None:
                break
            await asyncio.sleep(0.1)
        assert taken is not None
        await dying.close()
    put_back = bus.events_put_back.labels(queue_name, "returns")
    put_back_before = put_back._value.get()

    handled: list[str] = []
    done = asyncio.Event()

    async def handle(thing: ThingHappened) -> None:
        handled.append(thing.thing_id)
        done.set()

    subscribe_event(broker, consumer=consumer, purpose="crashes", event_type=ThingHappened,
                    handle=handle)
    await broker.start()
    await asyncio.wait_for(done.wait(), timeout=15)
    await asyncio.sleep(0.5)  # a second copy would arrive now
    assert handled == [event.thing_id], "handled once, never dead-lettered"
    assert put_back._value.get() == put_back_before + 1, "handled as a fresh copy"


async def test_an_event_waits_for_its_database_instead_of_being_dead_lettered(
    broker: RabbitBroker, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database outage is no poison: the handler is tried again, in-process, until the
    database is back — far more often than the delivery limit — and the event is handled once."""
    monkeypatch.setattr(bus, "DEPENDENCY_BACKOFF_SECONDS", (0.01,))
    attempts: list[str] = []
    handled = asyncio.Event()

    async def database_away_for_a_while(event: ThingHappened) -> None:
        attempts.append(event.event_id)
        if len(attempts) <= 3 * MAX_DELIVERIES:
            raise ServerSelectionTimeoutError("mongo:27017: [Errno 111] Connection refused")
        handled.set()

    subscribe_event(broker, consumer=f"kit{unique}", purpose="patient", event_type=ThingHappened,
                    handle=database_away_for_a_while)
    await broker.start()
    await declare_dead_letters(broker)
    await broker.publish(ThingHappened(thing_id=f"patient-{unique}").model_dump(mode="json"),
                         exchange="mybroker.events", routing_key=ThingHappened.routing_key)

    await asyncio.wait_for(handled.wait(), 10)
    assert len(attempts) == 3 * MAX_DELIVERIES + 1
    assert len(set(attempts)) == 1, "one event, handled once it could be"


async def test_an_rpc_whose_database_is_away_answers_unavailable_not_a_failure(
    broker: RabbitBroker, rpc_client: RpcClient, unique: str
) -> None:
    lookup = RpcMethod(f"kit.rpc.lookup.{unique}", Number, Number)

    async def database_away(request: Number) -> Number:
        raise ServerSelectionTimeoutError("mongo:27017: [Errno 111] Connection refused")

    serve_rpc(broker, lookup, database_away, prefetch=4)
    await broker.start()
    with pytest.raises(Unavailable, match="cannot reach its database"):
        await rpc_client.call(lookup, Number(value=1))


async def test_an_rpc_request_taken_after_its_caller_gave_up_is_not_acted_on(
    broker: RabbitBroker, rpc_client: RpcClient, amqp_url: str, unique: str
) -> None:
    """A request its caller stopped waiting for (the user was told "unavailable") has no effect
    when a busy or paused service takes it late; a request still in time is answered."""
    store = RpcMethod(f"kit.rpc.store.{unique}", Number, Number)
    stored: list[int] = []

    async def handle(request: Number) -> Number:
        stored.append(request.value)
        return request

    serve_rpc(broker, store, handle, prefetch=4)
    await broker.start()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        replies = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(
            body=Number(value=7).model_dump_json().encode(), content_type="application/json",
            correlation_id="late", reply_to=replies.name,
            headers={rpc.DEADLINE_HEADER: f"{time.time() - 1:.3f}"}), routing_key=store.queue)
        async with asyncio.timeout(10), replies.iterator() as incoming:
            reply = await anext(aiter(incoming))
        assert json.loads(reply.body)["error"]["code"] == "unavailable"

    assert stored == [], "acted on a request the caller had given up on"
    assert (await rpc_client.call(store, Number(value=8))).value == 8
    assert stored == [8]


async def test_inbox_records_an_event_once(
    mongo_client: AsyncMongoClient[Document], database_name: str
) -> None:
    inbox = Inbox(mongo_client[database_name], "kit")
    event = ThingHappened(thing_id="t")
    assert not await inbox.already_processed(event)
    assert await inbox.record(event, {"mail": "sent"})
    assert await inbox.already_processed(event)
    assert not await inbox.record(event), "a redelivered event has no second effect"
    await mongo_client.drop_database(database_name)


async def test_an_event_body_its_typed_subscriber_cannot_read_is_dead_lettered(
    broker: RabbitBroker, amqp_url: str, unique: str
) -> None:
    """faststream validates the body into the subscriber's event type: a body that is not that
    event (here: no thing_id) never reaches the handler, lands in the dead-letter queue, and the
    queue goes on with the next event."""
    handled: list[str] = []

    async def record(event: ThingHappened) -> None:
        handled.append(event.thing_id)

    subscribe_event(broker, consumer=f"kit{unique}", purpose="typed", event_type=ThingHappened,
                    handle=record)
    await broker.start()
    await declare_dead_letters(broker)
    malformed_id = f"malformed-{unique}"
    await broker.publish({"event_id": malformed_id, "schema_version": 1},
                         exchange="mybroker.events", routing_key=ThingHappened.routing_key,
                         message_id=malformed_id)
    await broker.publish(ThingHappened(thing_id=f"good-{unique}").model_dump(mode="json"),
                         exchange="mybroker.events", routing_key=ThingHappened.routing_key)

    dead: list[str] = []
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(DEAD_LETTER_QUEUE)
        for _ in range(150):
            message = await queue.get(no_ack=True, fail=False)
            if message is not None and message.message_id == malformed_id:
                dead.append(message.body.decode())
                break
            await asyncio.sleep(0.1)
    assert dead, "a body the subscriber cannot read must land in the dead-letter queue"
    assert handled == [f"good-{unique}"]


async def test_an_event_stored_while_the_relay_publishes_goes_out_without_waiting_for_the_poll(
    broker: RabbitBroker,
    mongo_client: AsyncMongoClient[Document],
    database_name: str,
    unique: str,
) -> None:
    database = mongo_client[database_name]
    received: list[ThingHappened] = []

    async def remember(event: ThingHappened) -> None:
        received.append(event)

    subscribe_event(broker, consumer=f"kit{unique}", purpose="things", event_type=ThingHappened,
                    handle=remember)
    await broker.start()
    relay = OutboxRelay(broker, database, ["things"], poll_seconds=30.0)
    later = ThingHappened(thing_id="t2")
    publish = relay._publish

    async def store_another_meanwhile(entry: Document) -> None:
        # A request stores its event (and notifies) while the relay's pass is under way.
        if entry["payload"]["thing_id"] == "t1":
            await database.things.insert_one({"_id": "t2", **new_document_events(later)})
            relay.notify()
        await publish(entry)

    relay._publish = store_another_meanwhile  # type: ignore[method-assign]
    running = asyncio.create_task(relay.run())
    try:
        await database.things.insert_one(
            {"_id": "t1", **new_document_events(ThingHappened(thing_id="t1"))})
        relay.notify()
        for _ in range(100):  # 5 s, far less than the 30 s poll
            if any(event.event_id == later.event_id for event in received):
                break
            await asyncio.sleep(0.05)
        assert any(event.event_id == later.event_id for event in received)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await mongo_client.drop_database(database_name)
