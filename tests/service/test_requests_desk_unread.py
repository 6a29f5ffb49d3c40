"""The office's count of unread requests on the real database: the desk lists only the
requests the office has not read since the client last wrote, whatever their status."""

import pytest

from libs.contracts import requests
from libs.servicekit.errors import Invalid
from services.requests.main import RequestsService
from tests.service.conftest import call_in_memory
from tests.service.test_requests_threads import (  # noqa: F401 - the `service` fixture
    PIETER,
    SOFIE,
    desk,
    send,
    service,
)


async def test_the_desk_lists_the_unread_requests_only_and_pages_them(
    service: RequestsService,  # noqa: F811 - the fixture imported above
) -> None:
    broker = service.runtime.broker
    sent = [await send(service, f"Vraag {number}") for number in range(5)]
    read, answered = sent[0], sent[1]
    await call_in_memory(broker, requests.DESK_GET, requests.DeskGetQuery(
        caller=SOFIE, request_id=read.request_id))
    await call_in_memory(broker, requests.ANSWER, requests.AnswerCommand(
        caller=SOFIE, request_id=answered.request_id, body="Ja.", status="accepted"))
    await call_in_memory(broker, requests.DESK_GET, requests.DeskGetQuery(
        caller=SOFIE, request_id=answered.request_id))
    await call_in_memory(broker, requests.REPLY, requests.ReplyCommand(
        caller=PIETER, dossier_id=answered.dossier_id, request_id=answered.request_id,
        body="Dank u, nog een vraag."))  # unread again, though accepted

    unread = {row.request_id for row in (await desk(service, unread_only=True)).items}
    assert unread == {answered.request_id, *(r.request_id for r in sent[2:])}
    first = await desk(service, unread_only=True, limit=2)
    assert len(first.items) == 2 and first.next_cursor is not None
    rest = await desk(service, unread_only=True, limit=2, cursor=first.next_cursor)
    walked = [row.request_id for row in (*first.items, *rest.items)]
    assert len(set(walked)) == 4 and set(walked) == unread
    everything = await desk(service, limit=2)
    assert everything.next_cursor is not None
    with pytest.raises(Invalid):  # a cursor of all requests is not one of the unread ones
        await desk(service, unread_only=True, cursor=everything.next_cursor)
