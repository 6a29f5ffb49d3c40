"""Lists or replays the dead-letter queue `mybroker.dead` (poison messages, deploy/README.md).

A consumer queue dead-letters a message after MAX_DELIVERIES failed attempts; RabbitMQ records
where it came from in the `x-death` header. Replaying publishes each message again to that
queue only (not to the topic exchange: other consumers already handled it), with its headers
(trace context, correlation id) and message id, then removes it from the dead-letter queue.
Consumers are idempotent, so a replayed message that had in fact been handled does no harm.

    python -m libs.servicekit.dead_letters              # list (nothing changes)
    python -m libs.servicekit.dead_letters --replay [--queue notifier.request-mails] [--limit 10]

The AMQP URL is MYBROKER_AMQP_URL (as the services read it) or --amqp-url.
"""

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from libs.contracts.topology import DEAD_LETTER_QUEUE
from libs.servicekit.bus import ROUTING_KEY_HEADER


@dataclass(frozen=True)
class DeadLetter:
    """One message of the dead-letter queue and where it died."""

    message_id: str | None
    queue: str | None
    routing_key: str | None
    reason: str | None
    count: int


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    """Where `message` came from, read from its first `x-death` record."""
    deaths: Any = message.headers.get("x-death") or []
    first: dict[str, Any] = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    routing_keys = first.get("routing-keys") or [message.routing_key]
    if message.headers.get(ROUTING_KEY_HEADER):  # a copy put back by the consumer (bus.py)
        routing_keys = [message.headers[ROUTING_KEY_HEADER]]
    return DeadLetter(
        message_id=message.message_id,
        queue=_text(first.get("queue")),
        routing_key=_text(routing_keys[0]) if routing_keys else None,
        reason=_text(first.get("reason")),
        count=int(first.get("count") or 1),
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return None if value is None else str(value)


async def process(
    amqp_url: str, *, replay: bool, queue: str | None = None, limit: int | None = None
) -> list[DeadLetter]:
    """List (or, with `replay`, republish) the dead letters matching `queue`, at most `limit`."""
    connection = await aio_pika.connect_robust(amqp_url)
    handled: list[DeadLetter] = []
    kept: list[AbstractIncomingMessage] = []
    try:
        channel = await connection.channel(publisher_confirms=True)
        dead = await channel.declare_queue(DEAD_LETTER_QUEUE, passive=True)
        waiting = dead.declaration_result.message_count or 0
        for _ in range(waiting):
            message = await dead.get(no_ack=False, fail=False)
            if message is None:
                break
            letter = describe(message)
            chosen = (queue is None or letter.queue == queue) and (
                limit is None or len(handled) < limit)
            if not chosen or not replay or letter.queue is None:
                kept.append(message)  # back into the dead-letter queue when done
                if chosen and not replay:
                    handled.append(letter)
                continue
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body=message.body,
                    headers={key: value for key, value in message.headers.items()
                             if not key.startswith("x-")},
                    content_type=message.content_type,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=letter.queue,
            )
            await message.ack()
            handled.append(letter)
        for message in kept:
            await message.nack(requeue=True)
    finally:
        await connection.close()
    return handled


def main(argv: list[str] | None = None) -> None:
    """Command line: list or replay dead letters; prints one JSON line per message."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--amqp-url", default=os.environ.get("MYBROKER_AMQP_URL", ""))
    parser.add_argument("--replay", action="store_true", help="republish (default: only list)")
    parser.add_argument("--queue", help="only messages that died in this queue")
    parser.add_argument("--limit", type=int, help="at most this many messages")
    options = parser.parse_args(argv)
    if not options.amqp_url:
        parser.error("set MYBROKER_AMQP_URL or --amqp-url")
    letters = asyncio.run(process(options.amqp_url, replay=options.replay,
                                  queue=options.queue, limit=options.limit))
    for letter in letters:
        sys.stdout.write(json.dumps(letter.__dict__ | {"replayed": options.replay}) + "\n")
    sys.stdout.write(f"{len(letters)} message(s) {'replayed' if options.replay else 'listed'}\n")


if __name__ == "__main__":
    main()
