"""A logout, or a dossier taken away, seen on the bus reaches every gateway instance at once
(real RabbitMQ)."""

import asyncio
import time
import uuid

import aio_pika

from gateway.tokens import DenyList, RevocationListener, RevokedGrants
from libs.contracts.auth import AccessClaims, GrantRevoked, SessionRevoked
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now


async def test_a_session_revoked_elsewhere_is_refused_here_within_moments(amqp_url: str) -> None:
    exchange_name = f"test.{uuid.uuid4().hex[:8]}.events"  # isolated from the shared exchange
    deny_list = DenyList(keep_seconds=300)
    reloads: list[bool] = []

    async def reload() -> None:
        reloads.append(True)

    instances = [RevocationListener(amqp_url, deny_list, reload, exchange=exchange_name),
                 RevocationListener(amqp_url, DenyList(300), reload, exchange=exchange_name)]
    for listener in instances:
        await listener.start()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        event = SessionRevoked(session_id="s-elsewhere", user_id="u1")
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                               routing_key=SessionRevoked.routing_key)
        for _ in range(50):
            if "s-elsewhere" in deny_list:
                break
            await asyncio.sleep(0.1)
        assert "s-elsewhere" in deny_list
        assert "s-other" not in deny_list
        await exchange.delete()
    finally:
        for listener in instances:
            await listener.close()
        await connection.close()


async def test_a_grant_revoked_elsewhere_is_dropped_here_within_moments(amqp_url: str) -> None:
    exchange_name = f"test.{uuid.uuid4().hex[:8]}.events"
    deny_list = DenyList(keep_seconds=300)
    revoked_grants = RevokedGrants(keep_seconds=300)

    async def reload() -> None:
        return None

    listener = RevocationListener(amqp_url, deny_list, reload, exchange=exchange_name,
                                  revoked_grants=revoked_grants)
    await listener.start()
    issued_before = AccessClaims(sub="u1", sid="s1", role=Role.CLIENT, email="an@example.be",
                                 name="An", dossiers=["D1", "D2"], iat=int(time.time()) - 5,
                                 exp=int(time.time()) + 295)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        event = GrantRevoked(user_id="u1", dossier_id="D2", revoked_at=utc_now())
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                               routing_key=GrantRevoked.routing_key)
        for _ in range(40):  # two seconds at most
            if revoked_grants.kept(issued_before) == ["D1"]:
                break
            await asyncio.sleep(0.05)
        assert revoked_grants.kept(issued_before) == ["D1"]
        assert "s1" not in deny_list  # the session itself goes on
        await exchange.delete()
    finally:
        await listener.close()
        await connection.close()
