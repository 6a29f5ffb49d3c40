"""The prod overlay's RabbitMQ Permissions (one user per process, its own queues only) on a real
broker, driven by the real servicekit and gateway code: a service serves its RPC queue,
dead-letters and consumes its events, the gateway calls it and listens for revocations, and
none of them can declare or read another's queues.

The users are made with rabbitmqctl on the test vhost (so this needs the local RabbitMQ and
root, as `make test` on this machine kind has) and removed afterwards."""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused
from pydantic import BaseModel

from gateway.tokens import DenyList, RevocationListener
from libs.contracts.auth import SessionRevoked
from libs.contracts.envelope import Event
from libs.contracts.rpc import RpcMethod
from libs.servicekit.bus import EVENTS, create_broker, declare_dead_letters, subscribe_event
from libs.servicekit.rpc import RpcClient, serve_rpc
from tests.deploy.manifests import of_kind, render


class Number(BaseModel):
    value: int


class AccountChecked(Event):
    routing_key = "auth.account.checked"
    user_id: str


def _rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True,
                   timeout=60)


@pytest.fixture
def users(amqp_url: str) -> Iterator[dict[str, str]]:
    """process -> an AMQP URL of a fresh user with that process's prod Permission."""
    parts = urlsplit(amqp_url)
    if (shutil.which("rabbitmqctl") is None or os.geteuid() != 0
            or parts.hostname not in {"127.0.0.1", "localhost"}):
        pytest.skip("needs rabbitmqctl of the local RabbitMQ, as root")
    vhost = parts.path.lstrip("/") or "/"
    permissions = of_kind(render("overlays/prod"), "Permission")
    suffix = uuid.uuid4().hex[:8]
    made: dict[str, str] = {}
    try:
        for process in ("auth", "dossier", "gateway"):
            name, password = f"permcheck-{suffix}-{process}", uuid.uuid4().hex
            _rabbitmqctl("add_user", name, password)
            rights = permissions[f"mybroker-{process}"]["spec"]["permissions"]
            _rabbitmqctl("set_permissions", "-p", vhost, name, rights["configure"],
                         rights["write"], rights["read"])
            made[process] = (f"amqp://{name}:{password}@{parts.hostname}:{parts.port or 5672}/"
                             f"{quote(vhost, safe='')}")
        yield made
    finally:
        for process in made:
            _rabbitmqctl("delete_user", f"permcheck-{suffix}-{process}")


async def test_each_process_works_with_only_its_own_rights(users: dict[str, str]) -> None:
    unique = uuid.uuid4().hex[:8]
    double = RpcMethod(f"auth.rpc.permcheck_{unique}", Number, Number)
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def handle(request: Number) -> Number:
        return Number(value=request.value * 2)

    async def on_event(event: AccountChecked) -> None:
        await received.put(event)

    auth = create_broker(users["auth"], "auth")
    serve_rpc(auth, double, handle)
    subscribe_event(auth, consumer="auth", purpose=f"permcheck-{unique}",
                    event_type=AccountChecked, handle=on_event)
    await auth.start()
    await declare_dead_letters(auth)
    client = RpcClient(users["gateway"], timeout_seconds=5.0)
    await client.connect()
    deny_list = DenyList(60)

    async def reload() -> None:
        return None

    listener = RevocationListener(users["gateway"], deny_list, reload)
    try:
        assert (await client.call(double, Number(value=21))).value == 42
        await auth.publish(AccountChecked(user_id="u1").model_dump(mode="json"),
                           exchange=EVENTS, routing_key=AccountChecked.routing_key)
        assert (await asyncio.wait_for(received.get(), 10)).user_id == "u1"
        await listener.start()
        await auth.publish(SessionRevoked(session_id=f"s-{unique}", user_id="u1")
                           .model_dump(mode="json"),
                           exchange=EVENTS, routing_key=SessionRevoked.routing_key)
        for _ in range(100):
            if f"s-{unique}" in deny_list:
                break
            await asyncio.sleep(0.05)
        assert f"s-{unique}" in deny_list
    finally:
        await listener.close()
        await client.close()
        await auth.stop()


@pytest.mark.parametrize(("process", "queue"), [
    ("dossier", "auth.rpc.log_in"), ("gateway", "auth.rpc.log_in"), ("auth", "dossier.x")])
async def test_no_process_can_declare_or_read_another_s_queue(
    users: dict[str, str], process: str, queue: str
) -> None:
    connection = await aio_pika.connect(users[process])
    try:
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused):
            await channel.declare_queue(queue, durable=True)
    finally:
        await connection.close()
