"""The notifier keeps its SMTP connection open between mails (a new one per mail cost as much as
the mail), and a connection the relay closed meanwhile never loses or doubles a mail."""

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notifier.config import NotifierSettings
from services.notifier.mailer import SmtpMailer
from tests.service.test_notifier import MailSink, free_port


class CountingSink(MailSink):
    """Counts the SMTP sessions (one EHLO each) besides keeping the mails."""

    sessions = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sink(port: int) -> Iterator[tuple[CountingSink, Controller]]:
    counting = CountingSink()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    yield counting, controller
    controller.stop()


def mail(number: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "no-reply@broker.test"
    message["To"] = "office@broker.test"
    message["Subject"] = f"Mail {number}"
    message.set_content("Hallo")
    return message


def mailer(port: int, **changes: Any) -> SmtpMailer:
    return SmtpMailer(NotifierSettings(smtp_host="127.0.0.1", smtp_port=port,
                                       smtp_timeout_seconds=5, **changes))


async def test_mails_one_after_another_share_one_connection(
    port: int, sink: tuple[CountingSink, Controller],
) -> None:
    counting, _ = sink
    smtp = mailer(port)
    for number in range(5):
        await smtp.send(mail(number))
    await smtp.close()
    assert [str(m["Subject"]) for m in counting.mails] == [f"Mail {n}" for n in range(5)]
    assert counting.sessions == 1


async def test_without_keep_alive_each_mail_has_its_own_connection(
    port: int, sink: tuple[CountingSink, Controller],
) -> None:
    counting, _ = sink
    smtp = mailer(port, smtp_keep_alive_seconds=0)
    for number in range(3):
        await smtp.send(mail(number))
    assert (len(counting.mails), counting.sessions) == (3, 3)


async def test_a_connection_the_relay_closed_meanwhile_is_replaced_and_the_mail_sent_once(
    port: int,
) -> None:
    first = CountingSink()
    controller = Controller(first, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = mailer(port)
    try:
        await smtp.send(mail(1))
    finally:
        controller.stop()  # the relay restarts: the kept connection is dead
    restarted = CountingSink()
    again = Controller(restarted, hostname="127.0.0.1", port=port)
    again.start()
    try:
        await smtp.send(mail(2))
        await smtp.close()
    finally:
        again.stop()
    assert [str(m["Subject"]) for m in first.mails] == ["Mail 1"]
    assert [str(m["Subject"]) for m in restarted.mails] == ["Mail 2"]
