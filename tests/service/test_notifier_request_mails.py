"""The mails about requests, on the real RabbitMQ, the Mongo-wire server and an SMTP server:
each event makes exactly one mail with its deterministic Message-ID, however often it comes;
the office's per kind, the client's coalesced per request and sent to the request's sender."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from faststream.rabbit import RabbitBroker
from prometheus_client import REGISTRY
from pydantic import BaseModel

from libs.contracts import auth
from libs.contracts.client_sheet import ClientSheetDue
from libs.contracts.envelope import Event
from libs.contracts.requests import (
    EntryAuthor,
    RequestReplied,
    RequestStatusChanged,
    RequestSubmitted,
)
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.i18n import format_day
from libs.servicekit.bus import EVENTS, create_broker
from services.notifier.config import NotifierSettings
from services.notifier.domain import BRUSSELS
from services.notifier.main import NotifierService, build
from services.notifier.request_mails import client_sheet_mail_key
from services.notifier.store import MAILS
from tests.service.test_notifier import MailSink, free_port
from tests.service.test_tracing import own_vhost  # noqa: F401 - fixture

PUBLIC_URL = "http://mybroker.test:8000"
DOSSIER = "DOS-2019-00417"
AN = auth.DossierMember(user_id="u-an", email="an@example.be", display_name="An Peeters",
                        language="fr")
LUC = auth.DossierMember(user_id="u-luc", email="luc@example.be", display_name="Luc Peeters",
                         language="nl")
DELAY = 2.0  # the client's news waits a minute in production (long enough for a loaded machine)


class Directory:
    """Auth's LIST_DOSSIER_MEMBERS: An and Luc share the dossier."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        assert method.queue == auth.LIST_DOSSIER_MEMBERS.queue
        assert isinstance(request, auth.DossierMembersRequest)
        members = [AN, LUC] if request.dossier_id == DOSSIER else []
        return method.reply.model_validate(auth.DossierMembers(members=members).model_dump())


@pytest.fixture
def sink() -> Iterator[tuple[MailSink, int]]:
    mails, port = MailSink(), free_port()
    controller = Controller(mails, hostname="127.0.0.1", port=port)
    controller.start()
    yield mails, port
    controller.stop()


Publish = Callable[[Event], Awaitable[None]]


@pytest.fixture
async def bus(
    own_vhost: str, mongo_url: str, database_name: str, sink: tuple[MailSink, int],  # noqa: F811
) -> AsyncIterator[tuple[NotifierService, Publish]]:
    """The notifier consuming its queues on a vhost of its own, and a publisher."""
    notifier = build(NotifierSettings(
        environment="test", amqp_url=own_vhost, mongo_url=mongo_url, mongo_db=database_name,
        smtp_host="127.0.0.1", smtp_port=sink[1], smtp_timeout_seconds=5,
        office_email="office@broker.test", office_addresses={"claim": "claims@broker.test"},
        public_url=PUBLIC_URL, office_digest_window_seconds=1.0,
        client_update_delay_seconds=DELAY, client_update_longest_seconds=3 * DELAY,
        sending_stalled_after_seconds=0), rpc=Directory())
    await notifier.store.ensure_indexes()
    publisher: RabbitBroker = create_broker(own_vhost, "test-publisher")
    await notifier.runtime.broker.start()
    await publisher.start()

    async def publish(event: Event) -> None:
        await publisher.publish(event.model_dump(mode="json"), exchange=EVENTS,
                                routing_key=event.routing_key, persist=True)

    try:
        yield notifier, publish
    finally:
        await publisher.stop()
        await notifier.runtime.broker.stop()
        await notifier.runtime.database.client.drop_database(database_name)


def consumed(queue: str) -> float:
    return REGISTRY.get_sample_value("mybroker_events_consumed_total",
                                     {"queue": queue, "outcome": "ok"}) or 0.0


async def until(condition: Callable[[], Any], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def published_and_handled(publish: Publish, queue: str, *events: Event) -> None:
    """Publish `events` and wait until the notifier's `queue` handled each."""
    before = consumed(queue)
    for event in events:
        await publish(event)
    await until(lambda: consumed(queue) >= before + len(events))


def body(mail: Any) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def submitted(kind: str = "claim", subject: str = "") -> RequestSubmitted:
    return RequestSubmitted(dossier_id=DOSSIER, request_id="r1", kind=kind, subject=subject,
                            sent_by=AN.user_id, sent_by_name=AN.display_name)


def status(old: str, new: str, *, request_id: str = "r1", sent_by: str = AN.user_id,
           ) -> RequestStatusChanged:
    return RequestStatusChanged(dossier_id=DOSSIER, request_id=request_id, kind="claim",
                                subject="Waterschade keuken", old_status=old, new_status=new,
                                by_name="Marc (kantoor)", sent_by=sent_by)


def answer(author: EntryAuthor = EntryAuthor.OFFICE) -> RequestReplied:
    return RequestReplied(dossier_id=DOSSIER, request_id="r1", kind="claim",
                          subject="Waterschade keuken", entry_id="e-1", author=author,
                          author_name="An Peeters" if author == EntryAuthor.CLIENT else "Marc",
                          sent_by=AN.user_id)


async def test_a_new_claim_is_one_mail_to_the_claims_desk_however_often_it_comes(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    _, publish = bus
    mails, _ = sink
    event = submitted()
    await published_and_handled(publish, "notifier.request-mails", event, event, event)
    assert mails.recipients == [["claims@broker.test"]]
    [mail] = mails.mails
    assert mail["Message-ID"] == f"<{event.event_id}.new-request@mybroker>"
    assert str(mail["Subject"]).strip() == f"Nieuwe aanvraag in dossier {DOSSIER}: Schade aangifte"
    assert "Van: An Peeters" in body(mail)
    assert f"{PUBLIC_URL}/admin/desk/r1" in body(mail)


async def test_a_clients_reply_is_one_mail_to_the_office_address_of_its_kind(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    _, publish = bus
    mails, _ = sink
    reply = answer(EntryAuthor.CLIENT)
    await published_and_handled(publish, "notifier.request-reply-mails", reply, reply)
    assert mails.recipients == [["claims@broker.test"]]
    assert mails.mails[0]["Message-ID"] == f"<{reply.event_id}.client-reply@mybroker>"
    assert str(mails.mails[0]["Subject"]).strip() == (
        f"Nieuw antwoord van de klant in dossier {DOSSIER}: Waterschade keuken")


async def test_an_answer_and_an_acceptance_make_one_mail_to_the_sender_in_her_language(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    notifier, publish = bus
    mails, _ = sink
    reply, accepted = answer(), status("pending", "accepted")
    await published_and_handled(publish, "notifier.request-reply-mails", reply, reply)
    await published_and_handled(publish, "notifier.request-status-mails", accepted, accepted)
    await notifier.check_mails()
    assert mails.mails == []  # the request's minute is not over

    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()
    await published_and_handled(publish, "notifier.request-status-mails", accepted)  # late
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()

    assert mails.recipients == [["an@example.be"]]  # the sender; not Luc, her co-user
    [mail] = mails.mails
    stored = await notifier.runtime.database[MAILS].find_one({"kind": "request-update"})
    assert stored is not None and stored["state"] == "sent"
    assert mail["Message-ID"] == f"<{stored['_id']}@mybroker>"
    assert str(mail["Subject"]).strip() == "Du nouveau sur votre demande : Waterschade keuken"
    text = body(mail)
    assert "Votre courtier vous a répondu." in text
    assert "Le statut de votre demande est maintenant : acceptée." in text
    assert f"{PUBLIC_URL}/requests/r1?dossier={DOSSIER}" in text


async def test_a_status_that_flips_back_within_the_minute_sends_nothing(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    notifier, publish = bus
    mails, _ = sink
    await published_and_handled(publish, "notifier.request-status-mails",
                                status("pending", "in_progress"),
                                status("in_progress", "pending"))
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()
    assert mails.mails == []
    assert await notifier.runtime.database[MAILS].count_documents({}) == 0

    await published_and_handled(publish, "notifier.request-status-mails",
                                status("pending", "in_progress"),
                                status("in_progress", "refused"))
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()
    assert len(mails.mails) == 1
    assert "refusée" in body(mails.mails[0])


async def test_no_mail_when_the_sender_no_longer_has_the_dossier(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    notifier, publish = bus
    mails, _ = sink
    await published_and_handled(publish, "notifier.request-status-mails",
                                status("pending", "accepted", sent_by="u-gone"))
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()
    assert mails.mails == []


async def test_a_crash_after_the_hand_off_never_sends_the_clients_mail_twice(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    notifier, publish = bus
    mails, _ = sink
    accepted = status("pending", "accepted")
    await published_and_handled(publish, "notifier.request-status-mails", accepted)
    await asyncio.sleep(DELAY + 0.1)

    class Died(BaseException):
        """The SIGKILL between SMTP's acceptance and its record."""

    original = notifier.store.mark_sent

    async def die(*_: Any) -> bool:
        raise Died

    notifier.store.mark_sent = die  # type: ignore[method-assign, assignment]
    with pytest.raises(Died):
        await notifier.check_mails()
    notifier.store.mark_sent = original  # type: ignore[method-assign]

    await published_and_handled(publish, "notifier.request-status-mails", accepted)  # again
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()  # after the restart: stalled, so uncertain for staff
    await notifier.check_mails()
    assert len(mails.mails) == 1
    stored = await notifier.runtime.database[MAILS].find_one({"kind": "request-update"})
    assert stored is not None and stored["state"] == "uncertain"
    assert stored["recipient"] == "An Peeters <an@example.be>"


async def test_the_client_sheet_reminder_reaches_each_client_once_per_period(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    _, publish = bus
    mails, _ = sink
    due = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    first = ClientSheetDue(dossier_id=DOSSIER, due_since=due, period=date(2026, 12, 1))
    again = ClientSheetDue(dossier_id=DOSSIER, due_since=due, period=date(2026, 12, 1))
    await published_and_handled(publish, "notifier.client-sheet-reminders", first, first, again)
    assert sorted(mails.recipients) == [["an@example.be"], ["luc@example.be"]]
    ids = {str(mail["Message-ID"]) for mail in mails.mails}
    assert ids == {f"<{client_sheet_mail_key(DOSSIER, date(2026, 12, 1), user)}@mybroker>"
                   for user in (AN.user_id, LUC.user_id)}
    by_recipient = {mail["To"].addresses[0].addr_spec: mail for mail in mails.mails}
    assert str(by_recipient["an@example.be"]["Subject"]).strip().startswith("Votre fiche")
    assert f"{PUBLIC_URL}/client-sheet?dossier={DOSSIER}" in body(by_recipient["luc@example.be"])

    next_year = ClientSheetDue(dossier_id=DOSSIER, due_since=due, period=date(2027, 12, 1))
    await published_and_handled(publish, "notifier.client-sheet-reminders", next_year)
    assert len(mails.mails) == 4


async def test_an_answer_without_its_sender_reaches_the_client_who_submitted_with_its_date(
    bus: tuple[NotifierService, Publish], sink: tuple[MailSink, int],
) -> None:
    notifier, publish = bus
    mails, _ = sink
    sent = submitted(kind="message", subject="Waterschade keuken")
    await published_and_handled(publish, "notifier.request-mails", sent)
    reply = answer().model_copy(update={"sent_by": ""})  # an older producer's event
    await published_and_handled(publish, "notifier.request-reply-mails", reply)
    await asyncio.sleep(DELAY + 0.1)
    await notifier.check_mails()
    to_an = [mail for mail in mails.mails if mail["To"].addresses[0].addr_spec == AN.email]
    assert len(to_an) == 1
    text = body(to_an[0])
    assert "Votre courtier vous a répondu." in text
    assert f"Envoyée le {format_day(sent.occurred_at.astimezone(BRUSSELS).date(), 'fr')}" in text
