"""The office gets the first client message of a quiet dossier at once, and the rest of a burst
in one mail when the dossier's minute is over, not one mail each.

Runs on the in-memory broker, the real Mongo-wire server and an in-process SMTP server.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts.envelope import utc_now
from services.notifier.main import NotifierService, build
from services.notifier.office_digest import digest_item
from services.notifier.store import DIGEST_KIND, MAILS, open_slot
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    free_port,
    mail_sink,
    publish,
    request_submitted,
    settings_for,
    smtp_port,
)

WINDOW_SECONDS = 1.0  # a minute in production; short here so the test does not wait


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, smtp_port: int
) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, smtp_port,
                               office_digest_window_seconds=WINDOW_SECONDS))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


def body(mail_sink: MailSink, index: int) -> str:
    part = mail_sink.mails[index].get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_twenty_messages_of_one_dossier_in_a_burst_make_two_office_mails(
    service: NotifierService, mail_sink: MailSink
) -> None:
    burst = [request_submitted().model_copy(update={"subject": f"Vraag {number:02d}"})
             for number in range(20)]
    other = request_submitted().model_copy(update={"dossier_id": "D-002", "subject": "Andere"})
    await asyncio.gather(*(publish(service.runtime.broker, event) for event in [*burst, other]))
    await service.check_mails()
    # The first of each dossier went at once; the dossier's minute is not over yet.
    firsts = sorted(str(mail["Subject"]) for mail in mail_sink.mails)
    assert len(firsts) == 2
    assert firsts[0].startswith("Nieuw bericht in dossier D-001: Vraag ")
    assert firsts[1] == "Nieuw bericht in dossier D-002: Andere"

    await asyncio.sleep(WINDOW_SECONDS + 0.1)
    await service.check_mails()
    await service.check_mails()

    assert len(mail_sink.mails) == 3
    assert str(mail_sink.mails[2]["Subject"]) == "19 nieuwe berichten in dossier D-001"
    listed = body(mail_sink, 2) + str(mail_sink.mails[0]["Subject"]) + str(
        mail_sink.mails[1]["Subject"])
    assert all(f"Vraag {number:02d}" in listed for number in range(20))
    assert "http://mybroker.test:8000/admin/desk?dossier_id=D-001" in body(mail_sink, 2)


async def test_a_quiet_window_ends_without_a_mail_and_the_next_message_goes_at_once(
    service: NotifierService, mail_sink: MailSink
) -> None:
    await publish(service.runtime.broker, request_submitted())
    assert len(mail_sink.mails) == 1  # at once, in the event's handling
    await asyncio.sleep(WINDOW_SECONDS + 0.1)
    await service.check_mails()
    assert len(mail_sink.mails) == 1  # nothing followed it: no digest
    later = request_submitted().model_copy(update={"subject": "Nog een vraag"})
    await publish(service.runtime.broker, later)
    assert [str(mail["Subject"]) for mail in mail_sink.mails] == [
        "Nieuw bericht in dossier D-001: Vraag over mijn autopolis",
        "Nieuw bericht in dossier D-001: Nog een vraag"]


async def test_claims_go_to_the_claims_desk_in_their_own_window(
    mongo_url: str, database_name: str, smtp_port: int, mail_sink: MailSink
) -> None:
    built = build(settings_for(mongo_url, database_name, smtp_port,
                               office_digest_window_seconds=WINDOW_SECONDS,
                               office_addresses={"claim": "claims@broker.test"}))
    await built.store.ensure_indexes()
    try:
        async with TestRabbitBroker(built.runtime.broker):
            message = request_submitted()
            claim = request_submitted().model_copy(update={
                "kind": "claim", "subject": "", "request_id": "r-claim"})
            await publish(built.runtime.broker, message)
            await publish(built.runtime.broker, claim)  # same dossier, other address: at once
    finally:
        await built.runtime.database.client.drop_database(database_name)
    assert mail_sink.recipients == [["office@broker.test"], ["claims@broker.test"]]
    assert str(mail_sink.mails[1]["Subject"]) == (
        "Nieuwe aanvraag in dossier D-001: Schade aangifte")
    assert mail_sink.mails[1]["Message-ID"] == f"<{claim.event_id}.new-request@mybroker>"
    assert "http://mybroker.test:8000/admin/desk/r-claim" in body(mail_sink, 1)


@pytest.fixture
async def unreachable_smtp(
    mongo_url: str, database_name: str
) -> AsyncIterator[NotifierService]:
    """A notifier whose SMTP server is away (nothing listens on its port); a refused mail
    waits 2 s, then 4 s, before it is tried again."""
    built = build(settings_for(mongo_url, database_name, free_port(),
                               smtp_retry_base_seconds=2.0, smtp_retry_max_seconds=4.0,
                               smtp_retry_attempts=3, smtp_timeout_seconds=1))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def test_a_digest_refused_during_an_outage_waits_before_its_next_try(
    unreachable_smtp: NotifierService,
) -> None:
    """The mail checks run every few seconds: a digest refused by an SMTP server that is away
    keeps its attempts for after a pause, instead of using them all up in one outage."""
    service = unreachable_smtp
    now = utc_now()
    await service.store.add_to_window(
        open_slot("D-001", "office@broker.test"), DIGEST_KIND, digest_item(request_submitted()),
        now, timedelta(0), timedelta(0), {"dossier_id": "D-001", "recipient": "office@broker.test"})

    for _ in range(5):  # checks in quick succession during the outage
        await service.handlers.send_due_office_digests()
    [digest] = await service.runtime.database[MAILS].find({"kind": DIGEST_KIND}).to_list(None)
    assert (digest["state"], digest["attempt"]) == ("failed", 1)  # tried once, then waits

    await asyncio.sleep(2.1)  # the first pause (between 1 and 2 s with its jitter) is over
    await service.handlers.send_due_office_digests()
    again = await service.runtime.database[MAILS].find_one({"_id": digest["_id"]})
    assert again is not None and (again["state"], again["attempt"]) == ("failed", 2)
