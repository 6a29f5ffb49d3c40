"""The office gets one mail for a burst of client messages in one dossier, not one mail each.

Runs on the in-memory broker, the real Mongo-wire server and an in-process SMTP server.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

import asyncio
from collections.abc import AsyncIterator

import pytest
from faststream.rabbit import TestRabbitBroker

from services.notifier.main import NotifierService, build
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
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


async def test_twenty_messages_of_one_dossier_in_a_burst_make_one_office_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    burst = [request_submitted().model_copy(update={"subject": f"Vraag {number:02d}"})
             for number in range(20)]
    other = request_submitted().model_copy(update={"dossier_id": "D-002", "subject": "Andere"})
    await asyncio.gather(*(publish(service.runtime.broker, event) for event in [*burst, other]))
    await service.check_mails()
    assert mail_sink.mails == []  # the dossier's minute is not over yet

    await asyncio.sleep(WINDOW_SECONDS + 0.1)
    await service.check_mails()
    await service.check_mails()

    subjects = sorted(str(mail["Subject"]) for mail in mail_sink.mails)
    assert subjects == ["20 nieuwe berichten in dossier D-001",
                        "Nieuw bericht in dossier D-002: Andere"]
    [index] = [i for i, mail in enumerate(mail_sink.mails) if "D-001" in str(mail["Subject"])]
    listed = body(mail_sink, index)
    assert all(f"Vraag {number:02d}" in listed for number in range(20))
    assert "http://mybroker.test:8000/admin" in listed


async def test_a_message_after_the_digest_left_comes_in_the_next_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    await publish(service.runtime.broker, request_submitted())
    await asyncio.sleep(WINDOW_SECONDS + 0.1)
    await service.check_mails()
    later = request_submitted().model_copy(update={"subject": "Nog een vraag"})
    await publish(service.runtime.broker, later)
    await service.check_mails()
    assert len(mail_sink.mails) == 1

    await asyncio.sleep(WINDOW_SECONDS + 0.1)
    await service.check_mails()
    assert [str(mail["Subject"]) for mail in mail_sink.mails] == [
        "Nieuw bericht in dossier D-001: Vraag over mijn autopolis",
        "Nieuw bericht in dossier D-001: Nog een vraag"]
