"""A mail handed to SMTP whose outcome was never recorded is not sent again by the notifier: it
becomes `uncertain`, is counted, listed for staff, and resent only when a staff member says so.

Runs on the in-memory broker, the real Mongo-wire server and an in-process SMTP server.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from faststream.rabbit import TestRabbitBroker
from prometheus_client import REGISTRY

from libs.contracts import notifier
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, Forbidden, NotFound
from services.notifier.deliveries import MailState
from services.notifier.main import NotifierService, build
from services.notifier.store import MAILS
from tests.service.conftest import call_in_memory
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    invitation,
    mail_sink,
    publish,
    request_submitted,
    settings_for,
    smtp_port,
)

STAFF = Caller(user_id="staff-1", role=Role.AGENT)
CLIENT = Caller(user_id="u1", role=Role.CLIENT, dossier_ids=["D-001"])


class ProcessDied(BaseException):
    """Stands for the SIGKILL between the SMTP hand-off and its record (not an Exception, so
    nothing in the notifier catches it, as nothing survives a SIGKILL)."""


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, smtp_port: int
) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, smtp_port))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


def uncertain_count(reason: str) -> float:
    value = REGISTRY.get_sample_value("mybroker_notifier_mails_uncertain_total",
                                      {"reason": reason})
    return value or 0.0


def dies_after_the_hand_off(service: NotifierService) -> None:
    """The next mail is accepted by SMTP, then the process dies before recording it."""
    async def die(*_: Any) -> bool:
        raise ProcessDied

    service.store.mark_sent = die  # type: ignore[method-assign, assignment]


async def problems(service: NotifierService, caller: Caller = STAFF) -> list[notifier.MailProblem]:
    listed = await call_in_memory(service.runtime.broker, notifier.LIST_MAIL_PROBLEMS,
                                  notifier.MailProblemsQuery(caller=caller))
    return listed.problems


async def resend(service: NotifierService, mail_id: str,
                 caller: Caller = STAFF) -> notifier.MailResent:
    return await call_in_memory(service.runtime.broker, notifier.RESEND_MAIL,
                                notifier.ResendMailRequest(caller=caller, mail_id=mail_id))


async def test_a_redelivered_event_whose_mail_was_handed_over_is_not_sent_twice(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("nl")
    original_mark_sent = service.store.mark_sent
    dies_after_the_hand_off(service)
    with pytest.raises(ProcessDied):
        await publish(service.runtime.broker, event)
    assert len(mail_sink.mails) == 1  # it did leave; nobody recorded it
    service.store.mark_sent = original_mark_sent  # type: ignore[method-assign]
    before = uncertain_count("redelivered_while_sending")

    await publish(service.runtime.broker, event)  # RabbitMQ redelivers the unacked event
    await publish(service.runtime.broker, event)  # and once more

    assert len(mail_sink.mails) == 1
    assert uncertain_count("redelivered_while_sending") == before + 1
    [problem] = await problems(service)
    assert (problem.mail_id, problem.kind, problem.event_id, problem.reason) == (
        f"{event.event_id}.invitation", "invitation", event.event_id,
        "redelivered_while_sending")
    assert problem.recipient == "An Peeters <an@example.be>"
    assert problem.subject == "Uw toegang tot de klantenzone van uw verzekeringsmakelaar"


async def test_staff_resend_an_uncertain_mail_once_and_who_and_when_is_recorded(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("fr")
    original_mark_sent = service.store.mark_sent
    dies_after_the_hand_off(service)
    with pytest.raises(ProcessDied):
        await publish(service.runtime.broker, event)
    service.store.mark_sent = original_mark_sent  # type: ignore[method-assign]
    await publish(service.runtime.broker, event)
    [problem] = await problems(service)

    resent = await resend(service, problem.mail_id)

    assert (resent.resent_by, resent.recipient) == ("staff-1", "An Peeters <an@example.be>")
    assert len(mail_sink.mails) == 2  # the uncertain one and the resend: staff's decision
    assert mail_sink.mails[1]["Message-ID"] == mail_sink.mails[0]["Message-ID"]
    text = mail_sink.mails[1].get_body(("plain",))
    assert text is not None and "secret-token" in text.get_content()  # the very same mail
    assert await problems(service) == []
    record = await service.runtime.database[MAILS].find_one({"_id": problem.mail_id})
    assert record is not None
    assert (record["state"], record["resent_by"], record["attempt"]) == ("sent", "staff-1", 2)
    assert record["resends"][0].endswith(" staff-1")
    with pytest.raises(Conflict):  # a second click does not send a third copy
        await resend(service, problem.mail_id)
    await publish(service.runtime.broker, event)  # nor does a late redelivery
    assert len(mail_sink.mails) == 2


async def test_a_client_can_neither_list_nor_resend_mails(
    service: NotifierService, mail_sink: MailSink
) -> None:
    with pytest.raises(Forbidden):
        await problems(service, CLIENT)
    with pytest.raises(Forbidden):
        await resend(service, "e1.invitation", CLIENT)
    with pytest.raises(NotFound):
        await resend(service, "no-such-mail.invitation")


async def test_a_sent_mail_cannot_be_resent(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = invitation("nl")
    await publish(service.runtime.broker, event)
    with pytest.raises(Conflict):
        await resend(service, f"{event.event_id}.invitation")
    assert len(mail_sink.mails) == 1


class SilentSink(MailSink):
    """Takes the data, then never answers (the relay hangs or the line drops)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(3)
        return "250 too late"


@pytest.fixture
def silent_sink(smtp_port: int) -> Iterator[SilentSink]:
    sink = SilentSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield sink
    controller.stop()


async def test_a_mail_whose_data_went_out_without_an_answer_is_uncertain_not_retried(
    mongo_url: str, database_name: str, smtp_port: int, silent_sink: SilentSink,
) -> None:
    built = build(settings_for(mongo_url, database_name, smtp_port, smtp_timeout_seconds=1))
    await built.store.ensure_indexes()
    event = invitation("en")
    try:
        async with TestRabbitBroker(built.runtime.broker):
            await publish(built.runtime.broker, event)  # acked: no redelivery resends it
            await publish(built.runtime.broker, event)
            [problem] = await problems(built)
    finally:
        await built.runtime.database.client.drop_database(database_name)
    assert problem.reason == "no_smtp_answer"
    assert len(silent_sink.mails) == 1


# Long enough that the second message lands in the first one's window on a loaded machine
# (the first one's mail took a second there).
DIGEST_WINDOW_SECONDS = 3.0


async def test_an_office_digest_cut_off_by_a_crash_becomes_uncertain_and_can_be_resent(
    mongo_url: str, database_name: str, smtp_port: int, mail_sink: MailSink,
) -> None:
    built = build(settings_for(mongo_url, database_name, smtp_port,
                               sending_stalled_after_seconds=0,
                               office_digest_window_seconds=DIGEST_WINDOW_SECONDS))
    await built.store.ensure_indexes()
    try:
        async with TestRabbitBroker(built.runtime.broker):
            await publish(built.runtime.broker, request_submitted())  # mailed at once
            second = request_submitted().model_copy(update={"subject": "Nog een vraag"})
            await publish(built.runtime.broker, second)  # gathered in the digest
            assert len(mail_sink.mails) == 1, "the second message came after the window"
            await asyncio.sleep(DIGEST_WINDOW_SECONDS + 0.1)
            original_mark_sent = built.store.mark_sent
            dies_after_the_hand_off(built)
            with pytest.raises(ProcessDied):
                await built.check_mails()
            built.store.mark_sent = original_mark_sent  # type: ignore[method-assign]
            before = uncertain_count("stalled_while_sending")

            await built.check_mails()  # after the restart: no event to redeliver
            await built.check_mails()

            assert len(mail_sink.mails) == 2
            assert uncertain_count("stalled_while_sending") == before + 1
            [problem] = await problems(built)
            assert (problem.kind, problem.recipient, problem.dossier_id) == (
                "office-digest", "office@broker.test", "D-001")
            assert problem.subject == "Nieuw bericht in dossier D-001: Nog een vraag"
            await resend(built, problem.mail_id)
            assert len(mail_sink.mails) == 3
            assert mail_sink.mails[2]["Subject"] == mail_sink.mails[1]["Subject"]
    finally:
        await built.runtime.database.client.drop_database(database_name)


async def test_a_hand_off_judged_uncertain_meanwhile_is_sent_once_its_record_arrives(
    service: NotifierService, mail_sink: MailSink
) -> None:
    # Two replicas: one still talks to SMTP while the other sees the same event again.
    store, now = service.store, utc_now()
    assert await store.claim_new({"_id": "e9.invitation", "kind": "invitation",
                                  "recipient": "an@example.be", "subject": "S",
                                  "message": "To: an@example.be\n\nHallo"}, now)
    await service.delivery.make_uncertain("e9.invitation", 1, "redelivered_while_sending")
    assert [problem.mail_id for problem in await problems(service)] == ["e9.invitation"]

    assert await store.mark_sent("e9.invitation", 1, utc_now())  # the first one's outcome

    assert await problems(service) == []
    with pytest.raises(Conflict):
        await resend(service, "e9.invitation")


async def test_a_late_record_of_an_old_attempt_does_not_settle_a_resend(
    service: NotifierService, mail_sink: MailSink
) -> None:
    store, now = service.store, utc_now()
    assert await store.claim_new({"_id": "e8.invitation", "kind": "invitation",
                                  "recipient": "an@example.be", "subject": "S",
                                  "message": "To: an@example.be\n\nHallo"}, now)
    await service.delivery.make_uncertain("e8.invitation", 1, "redelivered_while_sending")
    assert await store.claim_again("e8.invitation", MailState.UNCERTAIN, utc_now())  # attempt 2

    assert not await store.mark_sent("e8.invitation", 1, utc_now())
    assert not await store.mark_uncertain("e8.invitation", 1, "stalled_while_sending", now)
    record = await store.find("e8.invitation")
    assert record is not None and (record["state"], record["attempt"]) == ("sending", 2)
