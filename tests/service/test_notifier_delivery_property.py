"""Properties of the notifier's exactly-once delivery, on the real database, with two notifier
replicas sharing it.

RabbitMQ hands a message to one consumer at a time: a redelivery (after a nack, or after its
consumer died) starts only once the previous delivery of that message has ended. So however the
bus duplicates, reorders and splits events over the two replicas — and however often SMTP refuses
a hand-off for a while — each event's mail must be handed to SMTP exactly once, the final state
of one in-order delivery of each event.

Two deliveries of one event at the same moment would take two messages carrying it (an outbox
that published it twice; the relay's claims prevent that). Even then a mail must never leave
twice: the later delivery leaves it to staff (uncertain) rather than risk a second hand-off.
"""

import asyncio
import uuid
from collections import Counter
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from libs.contracts.envelope import Event
from libs.servicekit.mongo import Document
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.mailer import NotHandedOver
from services.notifier.store import MailStore

EVENTS = 6


class Happened(Event):
    routing_key = "test.thing.happened"


class FlakySmtp:
    """Stands for the SMTP server: refuses the first `refusals[mail]` hand-offs of a mail (a
    4xx, surely not sent), then takes it; counts what it took."""

    def __init__(self, refusals: dict[str, int]) -> None:
        self.refusals = dict(refusals)
        self.taken: Counter[str] = Counter()

    async def send(self, message: EmailMessage) -> None:
        await asyncio.sleep(0)  # a hand-off is never instantaneous: let others interleave
        message_id = str(message["Message-ID"])
        if self.refusals.get(message_id, 0) > 0:
            self.refusals[message_id] -= 1
            raise NotHandedOver("451 try again later")
        self.taken[message_id] += 1


def _mail(event: Event) -> EmailMessage:
    mail = EmailMessage()
    mail["Message-ID"] = f"<{event.event_id}.invitation@mybroker>"
    mail["To"] = f"client.{event.event_id[:6]}@example.com"
    mail["Subject"] = "Uitnodiging"
    mail.set_content("Welkom")
    return mail


# One delivery: which event (index), which replica (0 or 1), and how long the bus waits before
# handing it over (0-2 ticks); duplicates and every order come from the list itself.
deliveries = st.lists(
    st.tuples(st.integers(0, EVENTS - 1), st.integers(0, 1), st.integers(0, 2)),
    min_size=EVENTS, max_size=4 * EVENTS)
refusals = st.lists(st.integers(0, 2), min_size=EVENTS, max_size=EVENTS)


async def _run(mongo_url: str, schedule: list[tuple[int, int, int]], refused: list[int], *,
               overlapping: bool) -> tuple[Counter[str], dict[str, str]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    database_name = f"property_{uuid.uuid4().hex[:10]}"
    try:
        store = MailStore(client[database_name])
        await store.ensure_indexes()
        events = [Happened() for _ in range(EVENTS)]
        smtp = FlakySmtp({str(_mail(event)["Message-ID"]): count
                          for event, count in zip(events, refused, strict=True)})
        quick = NotifierSettings(smtp_retry_base_seconds=0)  # refusals retried at once
        replicas = [MailDelivery(store, smtp, quick) for _ in range(2)]  # type: ignore[arg-type]
        # Every event is delivered at least once (the bus never loses one), then the schedule's
        # duplicates; a refused hand-off is redelivered, as the queue would.
        work = [(index, index % 2, 0) for index in range(EVENTS)] + schedule

        async def deliver(index: int, replica: int, ticks: int) -> None:
            for _ in range(ticks):
                await asyncio.sleep(0)
            while True:
                try:
                    await replicas[replica].deliver(events[index], _mail(events[index]))
                    return
                except NotHandedOver:
                    replica = 1 - replica  # the redelivery may reach the other replica

        async def one_after_the_other(items: list[tuple[int, int, int]]) -> None:
            for item in items:
                await deliver(*item)

        if overlapping:
            await asyncio.gather(*(deliver(*item) for item in work))
        else:  # each event's deliveries in turn; different events interleave freely
            await asyncio.gather(*(one_after_the_other([item for item in work if item[0] == n])
                                   for n in range(EVENTS)))
        states = {f"<{mail['_id']}@mybroker>": mail["state"]
                  async for mail in client[database_name]["mails"].find({}, {"state": 1})}
        return smtp.taken, states
    finally:
        await client.drop_database(database_name)
        await client.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=deliveries, refused=refusals)
def test_any_duplication_order_and_split_over_two_replicas_mails_each_event_once(
    mongo_url: str, schedule: list[tuple[int, int, int]], refused: list[int]
) -> None:
    taken, states = asyncio.run(_run(mongo_url, schedule, refused, overlapping=False))
    assert len(states) == EVENTS
    assert taken == Counter(dict.fromkeys(states, 1)), "each mail handed to SMTP once"
    assert set(states.values()) == {"sent"}, "the final state of one in-order delivery"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=deliveries, refused=refusals)
def test_deliveries_of_one_event_at_the_same_moment_never_mail_it_twice(
    mongo_url: str, schedule: list[tuple[int, int, int]], refused: list[int]
) -> None:
    taken, states = asyncio.run(_run(mongo_url, schedule, refused, overlapping=True))
    assert len(states) == EVENTS
    assert max(taken.values(), default=0) <= 1, f"handed to SMTP twice: {taken}"
    for message_id, state in states.items():
        # Sent, or left to staff (uncertain): never silently dropped.
        assert (state == "sent" and taken[message_id] == 1) or state == "uncertain", (
            message_id, state, taken[message_id])


class SlowSmtp:
    """Takes each mail after a moment, long enough for its handler to be cancelled meanwhile."""

    def __init__(self) -> None:
        self.taken: Counter[str] = Counter()

    async def send(self, message: EmailMessage) -> None:
        await asyncio.sleep(0.2)
        self.taken[str(message["Message-ID"])] += 1


async def _cancelled_then_redelivered(mongo_url: str) -> tuple[Counter[str], str]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    database_name = f"cancelled_{uuid.uuid4().hex[:10]}"
    try:
        store = MailStore(client[database_name])
        await store.ensure_indexes()
        smtp = SlowSmtp()
        delivery = MailDelivery(store, smtp, NotifierSettings())  # type: ignore[arg-type]
        event = Happened()
        # The broker goes away mid hand-off: the consumer's handler is cancelled, the event
        # not acked; the broker back, the event is delivered again to the same process.
        handler = asyncio.ensure_future(delivery.deliver(event, _mail(event)))
        await asyncio.sleep(0.05)
        handler.cancel()
        await asyncio.gather(handler, return_exceptions=True)
        await delivery.deliver(event, _mail(event))
        found = await store.find(str(_mail(event)["Message-ID"])[1:].split("@")[0])
        return smtp.taken, str((found or {}).get("state"))
    finally:
        await client.drop_database(database_name)
        await client.close()


def test_a_handler_cancelled_mid_hand_off_still_sends_its_mail_once(mongo_url: str) -> None:
    taken, state = asyncio.run(_cancelled_then_redelivered(mongo_url))
    assert list(taken.values()) == [1], f"handed to SMTP {dict(taken)}"
    assert state == "sent"
