"""Benchmark: event consumer throughput per core, the inbox write included.

N events wait in a consumer's queue (published before the consumer starts, so the publisher's
CPU is not measured); then one consumer process drains them the way every service consumes
(servicekit's `subscribe_event`: typed body, failure counting, metrics, tracing span, ack) and
records each in its inbox (one MongoDB insert) before acking. Printed: events/s over the drain,
and the consumer process's CPU time per event, whose inverse is the throughput one core gives
(the figure that stays stable when other work shares the machine). The database server and
RabbitMQ are other processes: their CPU is not in the per-core figure.

    python -m deploy.local.stack test -- .venv/bin/python -m tests.load.bench_event_consumers \
        [--events 5000] [--prefetch 16]
"""

import argparse
import asyncio
import contextlib
import functools
import os
import resource
import sys
import time
import uuid
from pathlib import Path

from pymongo import AsyncMongoClient

from libs.contracts.envelope import Event
from libs.servicekit.bus import EVENTS, consumer_queue, create_broker, subscribe_event
from libs.servicekit.inbox import Inbox
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import Document


class BenchHappened(Event):
    """A small event, as most of the product's are (ids and a few fields)."""

    routing_key = "bench.thing.happened"
    dossier_id: str
    thing_id: str


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(amqp_url: str, mongo_url: str, events: int, prefetch: int) -> None:
    """Fill the queue, then drain it with one consumer and print the figures."""
    consumer = f"bench-{uuid.uuid4().hex[:8]}"
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url)
    database = mongo[f"bench_{consumer.replace('-', '_')}"]
    inbox = Inbox(database, consumer)
    handled = 0
    all_handled = asyncio.Event()

    async def handle(event: BenchHappened) -> None:
        nonlocal handled
        if await inbox.record(event, {"thing_id": event.thing_id}):
            handled += 1
            if handled == events:
                all_handled.set()

    # Declare and bind the queue, fill it, then consume: the drain alone is measured.
    filler = create_broker(amqp_url, f"{consumer}-filler")
    await filler.connect()
    queue = await filler.declare_queue(
        consumer_queue(consumer, "bench", BenchHappened.routing_key))
    await queue.bind(await filler.declare_exchange(EVENTS), BenchHappened.routing_key)
    for number in range(events):
        event = BenchHappened(dossier_id="DOS-BENCH", thing_id=str(number))
        await filler.publish(event.model_dump(mode="json"), exchange=EVENTS,
                             routing_key=event.routing_key, message_id=event.event_id,
                             persist=True)

    broker = create_broker(amqp_url, consumer)
    subscribe_event(broker, consumer=consumer, purpose="bench", event_type=BenchHappened,
                    handle=handle, prefetch=prefetch)
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    await broker.start()
    await asyncio.wait_for(all_handled.wait(), timeout=max(60.0, events / 50))
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    await broker.stop()
    await queue.delete(if_unused=False, if_empty=False)
    await filler.stop()
    recorded = await database["processed_events"].count_documents({})
    await mongo.drop_database(database.name)
    await mongo.close()

    report = functools.partial(print, file=sys.__stdout__)  # stdout holds the logs
    report(f"events {events}, prefetch {prefetch}, load average {os.getloadavg()[0]:.1f}")
    report(f"drained in {elapsed:.2f} s: {events / elapsed:,.0f} events/s "
          f"(inbox records: {recorded})")
    report(f"consumer CPU {cpu * 1000 / events:.3f} ms per event: "
          f"{events / cpu:,.0f} events per CPU-second (one core)")


def main() -> None:
    """Parse the arguments and run the benchmark on the test stack's RabbitMQ and database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--prefetch", type=int, default=16)
    args = parser.parse_args()
    # Logs as a service writes them (JSON lines, one per handled event), to a file of the run.
    log_path = Path(os.environ.get("MYBROKER_TEST_RUN_DIR", ".")) / "bench_event_consumers.log"
    with log_path.open("w") as log_file, contextlib.redirect_stdout(log_file):
        configure_logging("bench-consumer")
        asyncio.run(measure(
            os.environ.get("MYBROKER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            os.environ.get("MYBROKER_TEST_MONGO_URL", "mongodb://127.0.0.1:27017"),
            args.events, args.prefetch))


if __name__ == "__main__":
    main()
