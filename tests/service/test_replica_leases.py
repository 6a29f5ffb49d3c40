"""Two replicas of a service on one database: one holder per lease, takeover after a crash, each
periodic job in one replica at a time, each outbox event published by one replica only."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.envelope import Event
from libs.servicekit.bus import create_broker, subscribe_event
from libs.servicekit.lease import Lease
from libs.servicekit.mongo import Document
from libs.servicekit.outbox import OutboxRelay, new_document_events
from libs.servicekit.periodic import run_every


class ReplicaEvent(Event):
    routing_key = "kit.replica.happened"
    number: int


class Clock:
    """A clock the test moves: a lease's expiry without waiting for it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def database(
    mongo_client: AsyncMongoClient[Document], database_name: str
) -> AsyncIterator[AsyncDatabase[Document]]:
    yield mongo_client[database_name]
    await mongo_client.drop_database(database_name)


async def test_one_holder_at_a_time_and_takeover_only_after_expiry(
    database: AsyncDatabase[Document],
) -> None:
    clock = Clock()
    first = Lease(database, "relay", holder="replica-1", ttl_seconds=15, clock=clock)
    second = Lease(database, "relay", holder="replica-2", ttl_seconds=15, clock=clock)

    assert await first.acquire()
    assert not await second.acquire(), "the lease is held and not expired"
    clock.now += timedelta(seconds=10)
    assert await first.acquire(), "the holder renews"
    clock.now += timedelta(seconds=10)
    assert not await second.acquire(), "renewed 10 s ago: still 5 s to go"

    clock.now += timedelta(seconds=6)  # the holder died: no renewal for 16 s
    assert await second.acquire(), "an expired lease is taken over"
    assert not await first.acquire(), "the old holder comes back and finds it taken"
    assert not first.held
    assert second.held


async def test_a_released_lease_is_free_at_once(database: AsyncDatabase[Document]) -> None:
    first = Lease(database, "sweep", holder="replica-1")
    second = Lease(database, "sweep", holder="replica-2")
    assert await first.acquire()
    await first.release()
    assert await second.acquire()
    assert not await first.acquire()


async def test_two_replicas_never_run_the_same_job_at_once_and_one_takes_over_from_a_dead_one(
    database: AsyncDatabase[Document],
) -> None:
    running: set[str] = set()
    overlaps: list[set[str]] = []
    rounds: dict[str, int] = {"replica-1": 0, "replica-2": 0}

    def job(replica: str) -> object:
        async def round_of_work() -> None:
            running.add(replica)
            if len(running) > 1:
                overlaps.append(set(running))
            rounds[replica] += 1
            try:
                await asyncio.sleep(0.03)
            finally:  # a replica killed inside its round is no longer running it
                running.discard(replica)
        return round_of_work

    # A lease far longer than a round and its renewal period (a loaded 2-core machine may
    # delay a renewal by a second): the holder never loses it while it works.
    leases = {name: Lease(database, "digest", holder=name, ttl_seconds=3.0)
              for name in rounds}
    tasks = {name: asyncio.create_task(
        run_every(0.05, job(name), name="digest", lease=leases[name])) for name in rounds}  # type: ignore[arg-type]
    await asyncio.sleep(1.0)
    assert not overlaps, "a job ran in two replicas at the same moment"
    leader = max(rounds, key=lambda name: rounds[name])
    follower = "replica-2" if leader == "replica-1" else "replica-1"
    assert rounds[leader] >= 5
    assert rounds[follower] == 0, "the holder keeps its lease while it is alive"

    # The leader dies without releasing (a SIGKILL): its lease is simply never renewed again.
    leases[leader].release = _nothing  # type: ignore[method-assign]
    tasks[leader].cancel()
    await asyncio.gather(tasks[leader], return_exceptions=True)
    before = rounds[follower]
    await asyncio.sleep(5.0)
    assert rounds[follower] > before, "the other replica took over after the expiry"
    tasks[follower].cancel()
    await asyncio.gather(tasks[follower], return_exceptions=True)
    assert not overlaps


async def _nothing() -> None:
    return None


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url, "kit-test")
    yield broker
    await broker.stop()


async def test_two_relays_publish_each_event_exactly_once(
    broker: RabbitBroker, database: AsyncDatabase[Document]
) -> None:
    unique = uuid.uuid4().hex[:8]
    received: list[ReplicaEvent] = []

    async def remember(event: ReplicaEvent) -> None:
        received.append(event)

    subscribe_event(broker, consumer=f"kit{unique}", purpose="replicas", event_type=ReplicaEvent,
                    handle=remember)
    await broker.start()
    events = [ReplicaEvent(number=number) for number in range(120)]
    await database.things.insert_many(
        [{"_id": f"thing-{event.number}", **new_document_events(event)} for event in events])

    replicas = [OutboxRelay(broker, database, ["things"],
                            lease=Lease(database, "outbox-relay", holder=f"replica-{index}"))
                for index in (1, 2)]
    # Both relay at the same moment, as two replicas woken by their own writes would.
    sent = await asyncio.gather(*(replica.relay_pending() for replica in replicas))

    assert sum(sent) == len(events), f"published {sent}: some event twice or not at all"
    for _ in range(100):
        if len(received) >= len(events):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # a duplicate would arrive now
    assert sorted(event.number for event in received) == list(range(len(events)))
    assert await database.things.count_documents({"outbox_pending": {"$gt": 0}}) == 0
