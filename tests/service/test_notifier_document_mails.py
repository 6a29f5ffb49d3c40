"""The notifier tells each client of a dossier, once per batch, of the documents published."""
# ruff: noqa: F811 - pytest fixtures imported from test_notifier are used as parameters

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiosmtpd.controller import Controller
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from libs.contracts import auth
from libs.contracts.documents import ContextKind, DocumentContext, DocumentsBatchPublished
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit import bus
from libs.servicekit.errors import Unavailable
from services.notifier.main import NotifierService, build
from tests.service.test_notifier import (  # noqa: F401 - fixtures
    PUBLIC_URL,
    MailSink,
    later,
    mail_sink,
    publish,
    settings_for,
    smtp_port,
)

AN = auth.DossierMember(user_id="u-an", email="an@example.be", display_name="An Peeters",
                        language="nl")
LUC = auth.DossierMember(user_id="u-luc", email="luc@example.be", display_name="Luc Peeters",
                         language="fr")


class FakeDirectory:
    """Auth's LIST_DOSSIER_MEMBERS: the clients granted each dossier."""

    def __init__(self) -> None:
        self.members: dict[str, list[auth.DossierMember]] = {"D-PEETERS": [AN, LUC]}
        self.requests: list[BaseModel] = []
        self.down = False

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        assert method.queue == auth.LIST_DOSSIER_MEMBERS.queue
        assert isinstance(request, auth.DossierMembersRequest)
        self.requests.append(request)
        if self.down:
            raise Unavailable("auth did not answer within 5 s.")
        reply = auth.DossierMembers(members=self.members.get(request.dossier_id, []))
        return method.reply.model_validate(reply.model_dump())


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
async def service(
    mongo_url: str, database_name: str, smtp_port: int, directory: FakeDirectory
) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, smtp_port), rpc=directory)
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


def batch(dossier_id: str = "D-PEETERS", titles: tuple[str, ...] = ("Polis auto.pdf",
                                                                      "Attest.docx"),
          ) -> DocumentsBatchPublished:
    return DocumentsBatchPublished(
        dossier_id=dossier_id, batch_id="b" * 32, titles=list(titles), count=len(titles),
        context=DocumentContext(kind=ContextKind.CONTRACT, ref_id="C-1"))


def body_of(sink: MailSink, index: int) -> str:
    part = sink.mails[index].get_body(("plain",))
    assert part is not None
    content: str = part.get_content().replace("\r\n", "\n")
    return content


async def test_every_client_of_the_dossier_gets_one_mail_per_batch_in_their_language(
    service: NotifierService, mail_sink: MailSink, directory: FakeDirectory
) -> None:
    event = batch()
    await publish(service.runtime.broker, event)

    assert sorted(mail_sink.recipients) == [["an@example.be"], ["luc@example.be"]]
    by_recipient = {mail["To"].addresses[0].addr_spec: index
                    for index, mail in enumerate(mail_sink.mails)}
    dutch = mail_sink.mails[by_recipient["an@example.be"]]
    assert dutch["Subject"] == "2 nieuwe documenten in MyBroker"
    assert dutch["Message-ID"].strip() == f"<{event.event_id}.documents-published.u-an@mybroker>"
    content = body_of(mail_sink, by_recipient["an@example.be"])
    assert content.startswith("Beste An Peeters")
    assert "- Polis auto.pdf\n- Attest.docx" in content
    assert f"{PUBLIC_URL}/documents?dossier=D-PEETERS\n" in content  # opens in its dossier
    french = mail_sink.mails[by_recipient["luc@example.be"]]
    assert french["Subject"] == "2 nouveaux documents dans MyBroker"
    assert body_of(mail_sink, by_recipient["luc@example.be"]).startswith("Bonjour Luc Peeters")
    [asked] = directory.requests
    assert isinstance(asked, auth.DossierMembersRequest)
    assert asked.dossier_id == "D-PEETERS" and asked.caller.is_staff


async def test_a_single_document_is_announced_in_the_singular(
    service: NotifierService, mail_sink: MailSink, directory: FakeDirectory
) -> None:
    directory.members["D-PEETERS"] = [AN.model_copy(update={"language": "en"})]
    await publish(service.runtime.broker, batch(titles=("Polis.pdf",)))
    assert mail_sink.mails[0]["Subject"] == "A new document in MyBroker"
    assert "has put a new document for you" in body_of(mail_sink, 0)


async def test_the_same_batch_delivered_twice_mails_each_client_once(
    service: NotifierService, mail_sink: MailSink
) -> None:
    event = batch()
    await publish(service.runtime.broker, event)
    await publish(service.runtime.broker, event)
    assert len(mail_sink.mails) == 2


async def test_a_dossier_without_clients_sends_no_mail(
    service: NotifierService, mail_sink: MailSink
) -> None:
    await publish(service.runtime.broker, batch(dossier_id="D-EMPTY"))
    assert mail_sink.mails == []


async def test_when_auth_does_not_answer_the_batch_is_retried_not_dropped(
    service: NotifierService, mail_sink: MailSink, directory: FakeDirectory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Auth away is no poison: the event is kept and tried again in-process until auth answers
    # (past the patience it is put back into its queue counting a failure: tests on the real
    # bus, test_servicekit_on_real_bus.py and test_dead_letters.py, prove that part).
    monkeypatch.setattr(bus, "DEPENDENCY_BACKOFF_SECONDS", (0.02,))
    event = batch()
    directory.down = True

    def auth_back() -> None:
        directory.down = False

    coming_back = asyncio.create_task(later(0.2, auth_back))
    await publish(service.runtime.broker, event)
    await coming_back
    assert len(directory.requests) > 1, "asked again, not dropped at the first failure"
    assert len(mail_sink.mails) == 2


async def test_a_client_whose_mail_was_refused_gets_it_on_a_retry_and_the_others_not_twice(
    service: NotifierService, smtp_port: int, directory: FakeDirectory
) -> None:
    event = batch()
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        directory.members["D-PEETERS"] = [AN]
        await publish(service.runtime.broker, event)  # An is told
        directory.members["D-PEETERS"] = [AN, LUC]
        sink.answer = "451 Try again later"

        def accept() -> None:
            sink.answer = "250 OK"

        accepting = asyncio.create_task(later(0.2, accept))
        await publish(service.runtime.broker, event)  # Luc's mail refused, tried again
        await accepting
        await publish(service.runtime.broker, event)  # redelivered: nobody twice
    finally:
        controller.stop()
    assert sink.recipients == [["an@example.be"], ["luc@example.be"]]
