"""The requests service keeps the messages clients send and tells the office through an event."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from faststream.rabbit import RabbitQueue, TestRabbitBroker

from libs.contracts import requests
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Invalid, NotFound
from services.requests.config import RequestsSettings
from services.requests.main import RequestsService, build
from services.requests.store import REQUESTS
from tests.service.conftest import call_in_memory

DUPONT = "DOS-2019-00417"
PEETERS = "DOS-2022-01288"
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])
AGENT = Caller(user_id="agent-1", role=Role.AGENT)


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[RequestsService]:
    built = build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def send(
    service: RequestsService,
    subject: str = "Vraag over mijn omnium",
    body: str = "Is een barst in de voorruit gedekt?",
    caller: Caller = PIETER,
    dossier_id: str = DUPONT,
) -> requests.RequestPublic:
    message = requests.SendMessageRequest(
        caller=caller, dossier_id=dossier_id, subject=subject, body=body,
        sender_name=" Pieter  Dupont ", correlation_id="corr-1",
    )
    return await call_in_memory(service.runtime.broker, requests.SEND_MESSAGE, message)


async def list_requests(
    service: RequestsService, status: str | None = None, caller: Caller = PIETER,
    dossier_id: str = DUPONT,
) -> list[requests.RequestSummary]:
    query = requests.ListRequestsQuery(caller=caller, dossier_id=dossier_id, status=status)
    reply = await call_in_memory(service.runtime.broker, requests.LIST_REQUESTS, query)
    return reply.requests


async def test_a_sent_message_is_pending_and_listed(service: RequestsService) -> None:
    sent = await send(service, subject="  Vraag over mijn omnium ", body="\nIs mijn ruit gedekt?\n")

    assert (sent.kind, sent.status, sent.sent_by) == ("message", "pending", "u-pieter")
    assert sent.sent_by_name == "Pieter Dupont"  # co-users of the dossier see who sent it
    assert (sent.subject, sent.body) == ("Vraag over mijn omnium", "Is mijn ruit gedekt?")
    assert abs(utc_now() - sent.sent_at) < timedelta(seconds=5)
    [listed] = await list_requests(service)
    assert (listed.request_id, listed.subject, listed.status, listed.sent_by_name) == (
        sent.request_id, sent.subject, "pending", "Pieter Dupont")


async def test_a_sent_message_waits_in_the_outbox_with_its_event(
    service: RequestsService,
) -> None:
    sent = await send(service)

    stored = await service.runtime.database[REQUESTS].find_one({"_id": sent.request_id})
    assert stored is not None
    assert stored["outbox_pending"] == 1
    [entry] = stored["outbox"].values()
    assert entry["routing_key"] == "requests.request.submitted"
    event = requests.RequestSubmitted.model_validate(entry["payload"])
    assert (event.request_id, event.dossier_id, event.subject, event.sent_by) == (
        sent.request_id, DUPONT, "Vraag over mijn omnium", "u-pieter"
    )
    assert event.correlation_id == "corr-1"


async def test_the_relay_publishes_request_submitted_once(
    mongo_url: str, database_name: str
) -> None:
    built = build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name))
    received: list[requests.RequestSubmitted] = []

    @built.runtime.broker.subscriber(
        RabbitQueue("test.office-mail", routing_key=requests.RequestSubmitted.routing_key),
        EVENTS,
    )
    async def _listen(body: dict[str, Any]) -> None:
        received.append(requests.RequestSubmitted.model_validate(body))

    try:
        async with TestRabbitBroker(built.runtime.broker):
            sent = await send(built)

            assert await built.relay.relay_pending() == 1
            assert await built.relay.relay_pending() == 0

            assert [(e.request_id, e.kind, e.dossier_id) for e in received] == [
                (sent.request_id, "message", DUPONT)
            ]
            stored = await built.runtime.database[REQUESTS].find_one({"_id": sent.request_id})
            assert stored is not None
            assert (stored["outbox_pending"], stored["outbox"]) == (0, {})
    finally:
        await built.runtime.database.client.drop_database(database_name)


async def test_requests_are_listed_newest_first(service: RequestsService) -> None:
    now = utc_now()
    await service.runtime.database[REQUESTS].insert_many([
        {"_id": f"r{n}", "dossier_id": DUPONT, "kind": "message", "subject": f"Vraag {n}",
         "body": "...", "status": "pending", "sent_by": "u-pieter",
         "sent_at": now - timedelta(days=10 - n)}
        for n in (2, 9, 5)
    ])
    await service.store.ensure_indexes()  # at start: requests stored before threads get keys
    sent = await send(service, subject="Vandaag")

    listed = await list_requests(service)

    assert [r.subject for r in listed] == ["Vandaag", "Vraag 9", "Vraag 5", "Vraag 2"]
    assert listed[0].request_id == sent.request_id


async def test_requests_can_be_filtered_on_status(service: RequestsService) -> None:
    await service.runtime.database[REQUESTS].insert_many([
        {"_id": f"r-{status}", "dossier_id": DUPONT, "kind": "message",
         "subject": f"Over {status}", "body": "...", "status": status, "sent_by": "u-pieter",
         "sent_at": utc_now()}
        for status in ("in_progress", "accepted", "refused")
    ])
    await service.store.ensure_indexes()  # at start: requests stored before threads get keys
    await send(service, subject="Nog niet bekeken")

    assert [r.subject for r in await list_requests(service, "pending")] == ["Nog niet bekeken"]
    assert [r.subject for r in await list_requests(service, "accepted")] == ["Over accepted"]
    assert len(await list_requests(service, "all")) == 4
    with pytest.raises(Invalid) as refused:
        await list_requests(service, "done")
    assert refused.value.fields is not None
    assert "status" in refused.value.fields


async def test_only_the_dossiers_own_requests_are_listed(service: RequestsService) -> None:
    await send(service, subject="Dupont")
    await send(service, subject="Peeters", caller=AGENT, dossier_id=PEETERS)

    assert [r.subject for r in await list_requests(service)] == ["Dupont"]
    peeters = await list_requests(service, caller=AGENT, dossier_id=PEETERS)
    assert [(r.subject, r.sent_by) for r in peeters] == [("Peeters", "agent-1")]


async def test_a_client_gets_not_found_for_a_dossier_not_granted(
    service: RequestsService,
) -> None:
    with pytest.raises(NotFound):
        await send(service, dossier_id=PEETERS)
    with pytest.raises(NotFound):
        await list_requests(service, dossier_id=PEETERS)
    assert await service.runtime.database[REQUESTS].count_documents({}) == 0


async def test_a_message_with_a_blank_body_is_refused_and_not_stored(
    service: RequestsService,
) -> None:
    with pytest.raises(Invalid) as refused:
        await send(service, body="  \n\t  ")
    assert refused.value.fields == {"body": "must not be empty"}
    assert await service.runtime.database[REQUESTS].count_documents({}) == 0


async def test_a_body_longer_than_the_contract_allows_is_refused(
    service: RequestsService,
) -> None:
    message = {"caller": PIETER.model_dump(), "dossier_id": DUPONT, "subject": "Lang",
               "body": "x" * 10_001}
    response = await service.runtime.broker.request(message, queue=requests.SEND_MESSAGE.queue)
    reply = await response.decode()
    assert isinstance(reply, dict)
    assert reply["error"]["code"] == "invalid"
    assert "body" in reply["error"]["fields"]
    assert await service.runtime.database[REQUESTS].count_documents({}) == 0
