"""The notifier mails invitations to clients and "new message" notices to the office, once each.

Runs on the in-memory broker, the real Mongo-wire server and an in-process SMTP server (aiosmtpd).
"""

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from faststream.rabbit import RabbitBroker, TestRabbitBroker

from libs.contracts.auth import InvitationCreated
from libs.contracts.envelope import Event
from libs.contracts.requests import RequestSubmitted
from libs.servicekit.bus import EVENTS
from services.notifier.config import NotifierSettings
from services.notifier.main import NotifierService, build
from services.notifier.store import MAILS

PUBLIC_URL = "http://mybroker.test:8000"


class MailSink:
    """An aiosmtpd handler keeping every mail it accepts."""

    def __init__(self, answer: str = "250 Message accepted for delivery") -> None:
        self.answer = answer
        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.answer.startswith("250"):
            return self.answer
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.recipients.append(list(envelope.rcpt_tos))
        return self.answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mail_sink(smtp_port: int) -> Iterator[MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield sink
    controller.stop()


def settings_for(
    mongo_url: str, database_name: str, smtp_port: int, **changes: Any
) -> NotifierSettings:
    # The office's digests are due at once here unless a test gives them a window; a refused
    # mail is tried again within about a second.
    values: dict[str, Any] = {"office_digest_window_seconds": 0, "smtp_timeout_seconds": 5,
                              "smtp_retry_base_seconds": 0.05, "smtp_retry_max_seconds": 0.2,
                              **changes}
    return NotifierSettings(
        mongo_url=mongo_url, mongo_db=database_name, smtp_host="127.0.0.1", smtp_port=smtp_port,
        office_email="office@broker.test", public_url=PUBLIC_URL, **values)


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, smtp_port: int
) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, smtp_port))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def publish(broker: RabbitBroker, event: Event) -> None:
    await broker.publish(event.model_dump(mode="json"), exchange=EVENTS,
                         routing_key=event.routing_key)


def invitation(language: str) -> InvitationCreated:
    return InvitationCreated(
        dossier_id=None, invitation_id="i1", user_id="u1", email="an@example.be",
        display_name="An Peeters", language=language, activation_token="secret-token",
        expires_at=datetime.now(UTC) + timedelta(days=7))


def request_submitted() -> RequestSubmitted:
    return RequestSubmitted(dossier_id="D-001", request_id="r1", kind="message",
                            subject="Vraag over mijn autopolis", sent_by="u1")


@pytest.mark.parametrize(("language", "greeting"),
                         [("nl", "Beste"), ("fr", "Bonjour"), ("en", "Dear")])
async def test_an_invited_client_receives_the_activation_link_in_their_language(
    service: NotifierService, mail_sink: MailSink, language: str, greeting: str
) -> None:
    event = invitation(language)
    await publish(service.runtime.broker, event)

    assert mail_sink.recipients == [["an@example.be"]]
    mail = mail_sink.mails[0]
    assert mail["Message-ID"] == f"<{event.event_id}.invitation@mybroker>"
    body = mail.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert content.startswith(f"{greeting} An Peeters")
    assert f"{PUBLIC_URL}/activate?token=secret-token" in content


async def test_the_office_is_told_of_a_new_message_with_dossier_subject_and_link(
    service: NotifierService, mail_sink: MailSink
) -> None:
    await publish(service.runtime.broker, request_submitted())
    await service.check_mails()

    assert mail_sink.recipients == [["office@broker.test"]]
    mail = mail_sink.mails[0]
    assert mail["Subject"] == "Nieuw bericht in dossier D-001: Vraag over mijn autopolis"
    text = mail.get_body(("plain",))
    assert text is not None and f"{PUBLIC_URL}/admin" in text.get_content()


async def test_the_same_event_delivered_twice_sends_one_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("nl")
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)
    assert len(mail_sink.mails) == 1


async def test_the_same_event_delivered_twice_at_once_sends_one_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("nl")
    await asyncio.gather(*(publish(service.runtime.broker, event) for _ in range(3)))
    assert len(mail_sink.mails) == 1
    assert await service.store.count_uncertain() == 0  # one process: nothing to doubt


async def test_a_message_delivered_twice_is_listed_once_in_one_office_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = request_submitted()
    await asyncio.gather(*(publish(service.runtime.broker, event) for _ in range(3)))
    await service.check_mails()
    await publish(service.runtime.broker, event)  # after its mail left
    await service.check_mails()
    assert len(mail_sink.mails) == 1
    assert mail_sink.mails[0]["Subject"] == (
        "Nieuw bericht in dossier D-001: Vraag over mijn autopolis")


async def test_the_sent_mail_is_recorded_with_its_event_and_recipient_but_not_its_body(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("nl")
    await publish(service.runtime.broker, event)
    record = await service.runtime.database[MAILS].find_one({"_id": f"{event.event_id}.invitation"})
    assert record is not None
    assert (record["state"], record["event_id"], record["recipient"], record["kind"]) == (
        "sent", event.event_id, "An Peeters <an@example.be>", "invitation")
    assert "message" not in record  # the activation link is not kept once the mail left


async def later(seconds: float, action: Any) -> None:
    """Run `action` (blocking) in a thread after `seconds`, while the notifier waits."""
    await asyncio.sleep(seconds)
    await asyncio.to_thread(action)


async def test_when_smtp_is_down_the_mail_is_tried_again_and_sent_once_smtp_is_back(
    service: NotifierService, smtp_port: int
) -> None:
    event = invitation("fr")
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    coming_back = asyncio.create_task(later(0.3, controller.start))
    try:
        await publish(service.runtime.broker, event)  # refused, paused, tried again...
    finally:
        await coming_back
        controller.stop()
    assert [mail["To"].addresses[0].addr_spec for mail in sink.mails] == ["an@example.be"]
    assert (await mail_state(service, event)) == "sent"


async def test_a_mail_the_smtp_server_refuses_is_retried_not_dropped(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("en")
    mail_sink.answer = "451 Try again later"

    def accept() -> None:
        mail_sink.answer = "250 OK"

    accepting = asyncio.create_task(later(0.2, accept))
    await publish(service.runtime.broker, event)
    await accepting
    assert len(mail_sink.mails) == 1
    record = await service.runtime.database[MAILS].find_one({"event_id": event.event_id})
    assert record is not None and record["state"] == "sent" and record["attempt"] >= 2


async def test_a_mail_smtp_refuses_up_to_the_retry_limit_is_dead_lettered_for_staff(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("en")
    mail_sink.answer = "451 Try again later"
    await publish(service.runtime.broker, event)  # the event goes to the dead-letter queue
    assert (await mail_state(service, event)) == "dead_lettered"
    mail_sink.answer = "250 OK"
    # Replayed from the dead-letter queue once the relay works: it surely never left, so it is
    # sent now — once (tests/faults/test_poison_replay.py does the same with the real CLI).
    await publish(service.runtime.broker, event)
    assert [mail["Message-ID"] for mail in mail_sink.mails] == [
        f"<{event.event_id}.invitation@mybroker>"]
    assert (await mail_state(service, event)) == "sent"
    await publish(service.runtime.broker, event)
    assert len(mail_sink.mails) == 1


async def test_an_office_mail_the_smtp_server_refuses_is_sent_when_the_event_comes_again(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = request_submitted()
    mail_sink.answer = "451 Try again later"

    def accept() -> None:
        mail_sink.answer = "250 OK"

    accepting = asyncio.create_task(later(0.2, accept))
    await publish(service.runtime.broker, event)
    await accepting
    await publish(service.runtime.broker, event)
    await service.check_mails()
    assert len(mail_sink.mails) == 1
    assert mail_sink.mails[0]["Message-ID"] == f"<{event.event_id}.new-request@mybroker>"


async def mail_state(service: NotifierService, event: Event) -> str | None:
    """Where the mail `event` caused stands in the notifier's store."""
    record = await service.runtime.database[MAILS].find_one(
        {"event_id": event.event_id}, {"state": 1})
    return None if record is None else str(record["state"])
