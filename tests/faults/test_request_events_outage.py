"""The gateway's live request events come back by themselves after the bus crashed or was
restarted: open streams are told to resync (events may have been lost meanwhile), and the
next office answer reaches them again. On a RabbitMQ node of this test's own
(tests/faults/rabbit_node.py); the machine's node is never touched."""

import asyncio
import time
from collections.abc import Callable, Iterator

import aio_pika
import pytest

from deploy.local.processes import ProcessGroup
from gateway.request_events import RequestEventHub, RequestEventListener, Subscription
from libs.contracts.requests import EntryAuthor, RequestReplied
from libs.contracts.topology import EVENTS_EXCHANGE
from tests.faults.rabbit_node import RabbitNode, unavailable_reason

pytestmark = pytest.mark.system

RECOVERY_SECONDS = 30.0


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of the test's own: {reason}")
    base = tmp_path_factory.mktemp("events-outage")  # short: Erlang dislikes long paths
    group = ProcessGroup(base / "logs")
    rabbit = RabbitNode(base / "rabbit", group)
    try:
        rabbit.start()
        yield rabbit
    finally:
        group.stop_all()
        rabbit.stop_epmd()


async def publish_answer(amqp_url: str, request_id: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        event = RequestReplied(dossier_id="D1", request_id=request_id, kind="message",
                               subject="Hagel", entry_id="e2", author=EntryAuthor.OFFICE,
                               sent_by="u1")
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                               routing_key=RequestReplied.routing_key)
    finally:
        await connection.close()


async def next_change(subscription: Subscription, change: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        found = await subscription.next(left)
        if found is not None and found.change == change:
            return
    raise AssertionError(f"no {change} within {seconds} s")


@pytest.mark.parametrize("outage", ["kill", "stop"])
async def test_after_a_bus_outage_streams_resync_and_answers_arrive_again(
    node: RabbitNode, outage: str
) -> None:
    hub = RequestEventHub()
    listener = RequestEventListener(node.amqp_url, hub)
    await listener.start()
    stream = hub.open("D1", "u1")
    try:
        await publish_answer(node.amqp_url, "before")
        await next_change(stream, "replied", 5)

        end: Callable[[], None] = node.kill if outage == "kill" else node.stop
        await asyncio.to_thread(end)
        await asyncio.to_thread(node.start)
        await next_change(stream, "resync", RECOVERY_SECONDS)
        await publish_answer(node.amqp_url, "after")
        await next_change(stream, "replied", 5)
    finally:
        await listener.close()
