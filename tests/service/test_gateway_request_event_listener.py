"""The gateway's listener of request events on the real RabbitMQ: an event published on the
events exchange reaches the streams of its dossier, and only those; a reconnect resyncs them."""

import asyncio
import uuid

import aio_pika

from gateway.request_events import RequestEventHub, RequestEventListener
from libs.contracts.requests import EntryAuthor, RequestReplied


async def test_an_office_answer_on_the_bus_reaches_its_dossiers_streams_only(
    amqp_url: str,
) -> None:
    exchange_name = f"test.events.{uuid.uuid4().hex[:8]}"  # this test's own: nobody else hears
    hub = RequestEventHub()
    listener = RequestEventListener(amqp_url, hub, exchange=exchange_name)
    await listener.start()
    own, other = hub.open("D1", "u1"), hub.open("D2", "u2")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        event = RequestReplied(dossier_id="D1", request_id="R1", kind="message",
                               subject="Hagel", entry_id="e2", author=EntryAuthor.OFFICE,
                               author_name="Kantoor", sent_by="u1")
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                               routing_key=RequestReplied.routing_key)
        change = await asyncio.wait_for(own.queue.get(), 5)
        assert change.change == "replied" and change.request_id == "R1"
        assert change.event_id == event.event_id and change.author == "office"
        await asyncio.sleep(0.3)
        assert other.queue.empty()
        assert listener.connected

        listener._on_reconnect()  # what aio-pika calls once the bus is back after an outage
        assert (await asyncio.wait_for(own.queue.get(), 1)).change == "resync"
        assert (await asyncio.wait_for(other.queue.get(), 1)).change == "resync"
        await exchange.delete()
    finally:
        await connection.close()
        await listener.close()
