"""The RPC client while the bus is away: every call fails at once with Unavailable (-> 503).

The RabbitMQ side is replaced by fakes with the few attributes of aio-pika's robust connection
and channel the client uses; tests/faults/test_bus_outage.py does the same on a real node.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aiormq
import pytest
from pydantic import BaseModel

from libs.contracts.rpc import RpcMethod
from libs.servicekit import rpc
from libs.servicekit.errors import Unavailable
from libs.servicekit.rpc import RpcClient

Publish = Callable[..., Awaitable[None]]


class Number(BaseModel):
    value: int


ECHO = RpcMethod("echo.rpc.number", Number, Number)


class FakeCallbacks:
    """aio-pika's CallbackCollection, as far as the client uses it."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[..., object]] = []

    def add(self, callback: Callable[..., object]) -> None:
        self.callbacks.append(callback)

    def discard(self, callback: Callable[..., object]) -> None:
        if callback in self.callbacks:
            self.callbacks.remove(callback)

    def fire(self, *args: object) -> None:
        for callback in self.callbacks:
            callback(self, *args)


class FakeQueue:
    name = "rpc.reply.test"

    async def consume(self, *_: Any, **__: Any) -> str:
        return "consumer-tag"


class FakeExchange:
    def __init__(self, publish: Publish) -> None:
        self.publish = publish


class FakeChannel:
    def __init__(self, publish: Publish) -> None:
        self.is_closed = False
        self.default_exchange = FakeExchange(publish)

    async def declare_queue(self, *_: Any, **__: Any) -> FakeQueue:
        return FakeQueue()


class FakeConnection:
    """A robust connection: on a loss it stays open (not closed) and reconnects by itself."""

    def __init__(self, publish: Publish) -> None:
        self.connected = asyncio.Event()
        self.connected.set()
        self.is_closed = False
        self.close_callbacks = FakeCallbacks()
        self.reconnect_callbacks = FakeCallbacks()
        self.publish = publish

    async def channel(self, *_: Any, **__: Any) -> FakeChannel:
        return FakeChannel(self.publish)

    async def close(self) -> None:
        self.connected.clear()
        self.is_closed = True

    def lose(self) -> None:
        """What aio-pika does when the socket dies: not connected, close callbacks run."""
        self.connected.clear()
        self.close_callbacks.fire(ConnectionResetError("reset by peer"))

    def restore(self) -> None:
        """Back, channels and consumers restored: then the reconnect callbacks run."""
        self.connected.set()
        self.reconnect_callbacks.fire()


async def connected_client(
    monkeypatch: pytest.MonkeyPatch, publish: Publish
) -> tuple[RpcClient, FakeConnection]:
    """A client after `connect()`, on a fake connection."""
    connection = FakeConnection(publish)

    async def connect_robust(*_: Any, **__: Any) -> FakeConnection:
        return connection

    monkeypatch.setattr(aio_pika, "connect_robust", connect_robust)
    client = RpcClient("amqp://unused", timeout_seconds=5.0)
    await client.connect()
    return client, connection


async def sent(*_: Any, **__: Any) -> None:
    """A publish the broker took (no reply will come unless the test gives one)."""


async def test_a_publish_on_a_closed_channel_is_unavailable_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def closed(*_: Any, **__: Any) -> None:
        raise aiormq.exceptions.ChannelInvalidStateError("<RobustChannel> closed")

    client, _ = await connected_client(monkeypatch, closed)
    with pytest.raises(Unavailable, match="ChannelInvalidStateError"):
        await client.call(ECHO, Number(value=1))


async def test_a_publish_that_hangs_is_unavailable_within_the_publish_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rpc, "PUBLISH_SECONDS", 0.2, raising=False)

    async def stuck(*_: Any, **__: Any) -> None:
        await asyncio.sleep(3600)  # a robust channel waiting for its reconnection

    client, _ = await connected_client(monkeypatch, stuck)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await asyncio.wait_for(client.call(ECHO, Number(value=1)), 3.0)
    assert time.monotonic() - started < 1.0


async def test_waiting_calls_fail_at_once_when_the_connection_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, connection = await connected_client(monkeypatch, sent)
    calls = [asyncio.create_task(client.call(ECHO, Number(value=i))) for i in range(3)]
    await asyncio.sleep(0.05)  # published, now waiting for replies that cannot come
    started = time.monotonic()
    connection.lose()
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
    assert all(isinstance(result, Unavailable) for result in results), results
    assert time.monotonic() - started < 0.5, "not after the 5 s RPC timeout"


async def test_no_call_is_sent_until_the_connection_and_reply_queue_are_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[object] = []

    async def remember(message: object, **_: Any) -> None:
        published.append(message)

    client, connection = await connected_client(monkeypatch, remember)
    connection.lose()
    assert not client.connected  # the gateway's /health/ready says not ready
    with pytest.raises(Unavailable, match="not connected"):
        await client.call(ECHO, Number(value=1))

    connection.connected.set()  # the transport is back, the channel not yet restored
    assert not client.connected
    connection.restore()  # aio-pika restored channel, queue and consumer
    assert client.connected
    call = asyncio.create_task(client.call(ECHO, Number(value=2), timeout_seconds=0.2))
    with pytest.raises(Unavailable, match="did not answer"):
        await call
    assert len(published) == 1, "only the call made after the restoration was sent"
