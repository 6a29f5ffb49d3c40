"""Staff's delivery log per dossier (every mail, its result and attempts; a resend is a new mail),
dead-lettered mails among the mail problems, and the clients' preferences: a category in the
daily digest sends one digest of the held mails and no immediate mail; security and legally
required mails still go at once.

Runs on the in-memory broker, the real Mongo-wire server and an in-process SMTP server.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import notifier
from libs.contracts.caller import Caller, Role
from libs.contracts.documents import DocumentsBatchPublished
from libs.contracts.envelope import utc_now
from libs.contracts.signing import SignatureCompleted, SignerInvited, SignerRecipient
from libs.servicekit.errors import Conflict, Forbidden, NotFound
from services.notifier import handlers as notifier_handlers
from services.notifier.main import NotifierService, build
from tests.service.conftest import call_in_memory
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    MailSink,
    invitation,
    mail_sink,
    publish,
    settings_for,
    smtp_port,
)
from tests.service.test_notifier_document_mails import FakeDirectory

STAFF = Caller(user_id="staff-1", role=Role.AGENT)
AN_CALLER = Caller(user_id="u-an", role=Role.CLIENT, dossier_ids=["D-PEETERS"])
AN_SIGNER = SignerRecipient(user_id="u-an", email="an@example.be", display_name="An Peeters",
                            language="nl")


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, smtp_port: int
) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, smtp_port, smtp_retry_attempts=3,
                               client_digest_at="17:00 Europe/Brussels"), rpc=FakeDirectory())
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


def batch(titles: list[str]) -> DocumentsBatchPublished:
    return DocumentsBatchPublished(dossier_id="D-PEETERS", batch_id="b1", titles=titles,
                                   count=len(titles))


def signer_invited() -> SignerInvited:
    return SignerInvited(dossier_id="D-PEETERS", signature_request_id="s1", document_id="d1",
                         title="Mandaat", person_id="p1", recipients=[AN_SIGNER])


def signature_completed() -> SignatureCompleted:
    return SignatureCompleted(dossier_id="D-PEETERS", signature_request_id="s1",
                              title="Mandaat", signed_document_id="d2", recipients=[AN_SIGNER])


def to(mail_sink: MailSink, address: str) -> list[EmailMessage]:
    return [mail for mail, rcpts in zip(mail_sink.mails, mail_sink.recipients, strict=True)
            if address in rcpts]


def text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def log_of(service: NotifierService, dossier_id: str = "D-PEETERS", *,
                 caller: Caller = STAFF, limit: int = 50,
                 before: str | None = None) -> notifier.DossierMailLog:
    return await call_in_memory(service.runtime.broker, notifier.LIST_DOSSIER_MAILS,
                                notifier.DossierMailsQuery(caller=caller, dossier_id=dossier_id,
                                                           limit=limit, before=before))


async def choose(service: NotifierService, **preferences: str) -> notifier.NotificationSettings:
    return await call_in_memory(
        service.runtime.broker, notifier.SAVE_PREFERENCES, notifier.SavePreferencesRequest(
            caller=AN_CALLER, preferences=notifier.NotificationPreferences.model_validate(
                preferences)))


async def test_the_dossier_log_shows_each_mail_with_recipient_language_result_and_attempts(
    service: NotifierService, mail_sink: MailSink
) -> None:
    await publish(service.runtime.broker, batch(["Polis"]))
    logged = (await log_of(service)).mails
    assert sorted((mail.recipient, mail.language, mail.result, mail.attempts, mail.kind)
                  for mail in logged) == [
        ("An Peeters <an@example.be>", "nl", "sent", 1, "documents-published"),
        ("Luc Peeters <luc@example.be>", "fr", "sent", 1, "documents-published")]
    assert (await log_of(service, "D-OTHER")).mails == []


async def test_a_clients_news_still_gathering_is_not_in_the_log_until_it_is_a_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    """A request's news waits before it is mailed; whom it goes to is known only then: the
    log never shows a mail without a recipient."""
    now = utc_now()
    await service.store.add_to_window(
        "update:r1", "request-update", "reply:e1", now, timedelta(minutes=1),
        timedelta(minutes=5), {"dossier_id": "D-PEETERS", "request_id": "r1", "sent_by": "u-an"})
    await publish(service.runtime.broker, batch(["Polis"]))

    logged = (await log_of(service)).mails
    assert [mail.kind for mail in logged] == ["documents-published"] * 2
    assert all(mail.recipient for mail in logged)


async def test_the_log_pages_the_latest_first(
    service: NotifierService, mail_sink: MailSink
) -> None:
    for number in range(3):
        await publish(service.runtime.broker, batch([f"Polis {number}"]))
    first = await log_of(service, limit=4)
    assert len(first.mails) == 4 and first.next_before is not None
    rest = await log_of(service, limit=4, before=first.next_before)
    assert rest.next_before is None
    ids = [mail.mail_id for mail in first.mails + rest.mails]
    assert len(ids) == len(set(ids)) == 6
    moments = [mail.created_at for mail in first.mails + rest.mails]
    assert moments == sorted(moments, reverse=True)


async def test_only_staff_read_the_log_and_resend(
    service: NotifierService, mail_sink: MailSink
) -> None:
    with pytest.raises(Forbidden):
        await log_of(service, caller=AN_CALLER)
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, notifier.RESEND_LOGGED_MAIL,
                             notifier.ResendLoggedMailRequest(
                                 caller=AN_CALLER, dossier_id="D-PEETERS", mail_id="x.y"))


async def test_a_dead_lettered_mail_is_shown_to_staff_and_resent_as_a_new_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    mail_sink.answer = "451 Try again later"
    await publish(service.runtime.broker, batch(["Polis"]))
    logged = {mail.recipient: mail for mail in (await log_of(service)).mails}
    an = logged["An Peeters <an@example.be>"]
    assert (an.result, an.attempts, an.resendable) == ("dead_lettered", 3, True)
    assert "451" in (an.last_error or "")
    problems = await call_in_memory(service.runtime.broker, notifier.LIST_MAIL_PROBLEMS,
                                    notifier.MailProblemsQuery(caller=STAFF))
    assert {problem.reason for problem in problems.problems} == {"dead_lettered"}
    assert an.mail_id in {problem.mail_id for problem in problems.problems}

    mail_sink.answer = "250 OK"
    resent = await call_in_memory(
        service.runtime.broker, notifier.RESEND_LOGGED_MAIL, notifier.ResendLoggedMailRequest(
            caller=STAFF, dossier_id="D-PEETERS", mail_id=an.mail_id))
    assert (resent.result, resent.resend_of, resent.resent_by) == ("sent", an.mail_id, "staff-1")
    [arrived] = to(mail_sink, "an@example.be")
    assert arrived["Message-ID"] == f"<{resent.mail_id}@mybroker>"
    assert arrived["Message-ID"] != f"<{an.mail_id}@mybroker>"
    assert "Polis" in text(arrived)
    after = {mail.mail_id: mail for mail in (await log_of(service)).mails}
    assert after[an.mail_id].resent_as == [resent.mail_id]
    # A sent mail's body is gone (it may log in): it cannot be rebuilt, so it is not resent.
    assert not after[resent.mail_id].resendable
    with pytest.raises(Conflict):
        await call_in_memory(
            service.runtime.broker, notifier.RESEND_LOGGED_MAIL,
            notifier.ResendLoggedMailRequest(caller=STAFF, dossier_id="D-PEETERS",
                                             mail_id=resent.mail_id))
    with pytest.raises(NotFound):  # not a mail of that dossier
        await call_in_memory(
            service.runtime.broker, notifier.RESEND_LOGGED_MAIL,
            notifier.ResendLoggedMailRequest(caller=STAFF, dossier_id="D-OTHER",
                                             mail_id=an.mail_id))


async def test_a_client_keeps_their_own_preferences(service: NotifierService) -> None:
    fresh = await call_in_memory(service.runtime.broker, notifier.GET_PREFERENCES,
                                 notifier.PreferencesQuery(caller=AN_CALLER))
    assert fresh.preferences == notifier.NotificationPreferences()
    assert fresh.digest_at == "17:00 Europe/Brussels"
    await choose(service, documents="daily_digest", language="en")
    again = await call_in_memory(service.runtime.broker, notifier.GET_PREFERENCES,
                                 notifier.PreferencesQuery(caller=AN_CALLER))
    assert (again.preferences.documents, again.preferences.requests,
            again.preferences.language) == ("daily_digest", "immediate", "en")
    other = await call_in_memory(service.runtime.broker, notifier.GET_PREFERENCES,
                                 notifier.PreferencesQuery(caller=Caller(
                                     user_id="u-luc", role=Role.CLIENT)))
    assert other.preferences.documents == "immediate"


def brussels(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Brussels"))


async def test_in_digest_mode_the_day_s_mails_come_in_one_digest_and_security_mails_at_once(
    service: NotifierService, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    await choose(service, documents="daily_digest", signatures="daily_digest", language="en")
    await publish(service.runtime.broker, batch(["Polis auto"]))
    await publish(service.runtime.broker, batch(["Factuur 2026"]).model_copy(
        update={"batch_id": "b2"}))
    await publish(service.runtime.broker, signature_completed())
    await publish(service.runtime.broker, signer_invited())  # legally required: at once
    await publish(service.runtime.broker, invitation("nl").model_copy(
        update={"email": "an@example.be", "user_id": "u-an"}))  # security: at once

    an_mails = to(mail_sink, "an@example.be")
    assert len(an_mails) == 2, [mail["Subject"] for mail in an_mails]
    assert any("/activate?token=" in text(mail) for mail in an_mails)
    assert len(to(mail_sink, "luc@example.be")) == 2  # Luc chose nothing: at once
    held = [mail for mail in (await log_of(service)).mails if mail.result == "held"]
    assert len(held) == 3

    await service.check_mails()  # not the digest time yet: nothing more
    assert len(to(mail_sink, "an@example.be")) == 2

    tomorrow = (utc_now() + timedelta(days=1)).date()
    monkeypatch.setattr(notifier_handlers, "utc_now", lambda: brussels(tomorrow, 18))
    await service.check_mails()
    await service.check_mails()  # a second round (another replica) sends no second digest
    digests = [mail for mail in to(mail_sink, "an@example.be")
               if mail["Message-ID"].endswith(".client-digest@mybroker>")]
    assert len(digests) == 1
    digest = text(digests[0])
    assert digest.startswith("Dear An Peeters")  # the language An chose
    assert digest.count("- A new document in MyBroker (D-PEETERS)") == 2
    assert "- Document signed: Mandaat (D-PEETERS)" in digest
    assert {mail.digest_id for mail in (await log_of(service)).mails
            if mail.result == "held"} == {digests[0]["Message-ID"].strip("<>").split("@")[0]}
