"""A bus outage never lets the gateway's read model serve a dossier answer from before it: from
the lost connection until the reconnection no version is known (every read goes to the service),
and the reconnection starts a new epoch, so an answer kept before (when a change published
meanwhile may have been lost) is never served again. Changes heard after the reconnection count
again. On a RabbitMQ node of this test's own (tests/faults/rabbit_node.py)."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import aio_pika
import pytest

from deploy.local.processes import ProcessGroup
from gateway.read_model import DossierEventListener, DossierVersions, ReadModel
from libs.contracts.dossier import ContractChanged
from libs.contracts.topology import EVENTS_EXCHANGE
from tests.faults.rabbit_node import RabbitNode, unavailable_reason

pytestmark = pytest.mark.system

RECOVERY_SECONDS = 30.0


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of the test's own: {reason}")
    base = tmp_path_factory.mktemp("reads-outage")  # short: Erlang dislikes long paths
    group = ProcessGroup(base / "logs")
    rabbit = RabbitNode(base / "rabbit", group)
    try:
        rabbit.start()
        yield rabbit
    finally:
        group.stop_all()
        rabbit.stop_epmd()


async def publish_change(amqp_url: str, dossier_id: str,
                         routing_key: str = ContractChanged.routing_key) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        event = ContractChanged(dossier_id=dossier_id, change="updated", contract_id="C1")
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                               routing_key=routing_key)
    finally:
        await connection.close()


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {seconds} s")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("outage", ["kill", "stop"])
async def test_after_a_bus_outage_no_answer_from_before_is_served(
    node: RabbitNode, outage: str
) -> None:
    versions = DossierVersions(settle_seconds=0.0)
    model = ReadModel(versions)
    listener = DossierEventListener(node.amqp_url, versions)
    served: list[str] = []

    def service_answer(text: str) -> Callable[[], Awaitable[bytes]]:
        async def produce() -> bytes:
            served.append(text)
            return text.encode()
        return produce

    await listener.start()
    try:
        assert versions.synchronised
        kept = await model.read(("D1",), ("contracts",), service_answer("before"))
        assert kept.etag is not None
        assert (await model.read(("D1",), ("contracts",), service_answer("x"))
                ).value == b"before"  # from memory
        version = versions.version("D1")
        await publish_change(node.amqp_url, "D1")  # heard: the version moves on
        await until(lambda: versions.version("D1") != version, 5, "heard")

        end: Callable[[], None] = node.kill if outage == "kill" else node.stop
        await asyncio.to_thread(end)
        await until(lambda: not versions.synchronised, 10, "desynchronised")
        during = await model.read(("D1",), ("contracts",), service_answer("during"))
        assert during.value == b"during" and during.etag is None  # straight from the service
        await asyncio.to_thread(node.start)
        await until(lambda: versions.synchronised, RECOVERY_SECONDS, "synchronised again")

        after = await model.read(("D1",), ("contracts",), service_answer("after"))
        assert after.value == b"after"  # not the answer kept before the outage
        assert after.etag not in (None, kept.etag)
        assert not (await model.read(("D1",), ("contracts",), service_answer("y"),
                                     if_none_match=kept.etag)).not_modified
        version = versions.version("D1")
        await publish_change(node.amqp_url, "D1")  # changes are heard again
        await until(lambda: versions.version("D1") != version, 5, "heard after the outage")
        version = versions.version("D1")
        await publish_change(node.amqp_url, "D1", routing_key="privacy.erasure.completed")
        await until(lambda: versions.version("D1") != version, 5, "an erasure heard")
    finally:
        await listener.close()
