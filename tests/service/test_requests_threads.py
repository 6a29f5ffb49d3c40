"""Requests as threads on the real database: the client's messages with attachments and
replies, the office's desk (take, answer, status, notes), events stored with each change,
closed threads, other dossiers' requests, compare-and-set and idempotent resubmissions."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import requests
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from services.requests.config import RequestsSettings
from services.requests.main import RequestsService, build
from services.requests.store import REQUESTS
from tests.service.conftest import call_in_memory

DUPONT = "DOS-2019-00417"
PEETERS = "DOS-2022-01288"
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])
LUC = Caller(user_id="u-luc", role=Role.CLIENT, dossier_ids=[PEETERS])
SOFIE = Caller(user_id="agent-sofie", role=Role.AGENT)
JAN = Caller(user_id="agent-jan", role=Role.AGENT)
PHOTO = requests.AttachmentRef(document_id="doc-photo", filename="ruit.jpg", size=1200,
                               description="Foto van de barst")


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[RequestsService]:
    built = build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name,
                                   message_burst=50))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def send(service: RequestsService, subject: str = "Barst in de voorruit",
               caller: Caller = PIETER, dossier_id: str = DUPONT,
               key: str | None = None) -> requests.RequestPublic:
    return await call_in_memory(service.runtime.broker, requests.SEND_MESSAGE,
                                requests.SendMessageRequest(
        caller=caller, dossier_id=dossier_id, subject=subject, body="Is dit gedekt?",
        sender_name="Pieter Dupont", idempotency_key=key, attachments=[PHOTO],
        about=requests.RequestAbout(kind="contract", ref_id="C-AUTO-1", label="Polis 12345")))


async def desk(service: RequestsService, caller: Caller = SOFIE, **filters: object
               ) -> requests.DeskPage:
    return await call_in_memory(service.runtime.broker, requests.DESK_LIST,
                                requests.DeskQuery(caller=caller, **filters))


async def outbox_keys(service: RequestsService, request_id: str) -> list[str]:
    stored = await service.runtime.database[REQUESTS].find_one({"_id": request_id})
    assert stored is not None
    return sorted(entry["routing_key"] for entry in stored["outbox"].values())


async def test_the_office_takes_answers_and_closes_and_the_client_sees_it(
    service: RequestsService,
) -> None:
    broker = service.runtime.broker
    sent = await send(service)
    assert sent.about.label == "Polis 12345"
    assert sent.entries[0].attachments == [PHOTO]
    assert sent.target_at is not None and sent.target_at > sent.sent_at

    [row] = (await desk(service)).items
    assert (row.request_id, row.unread_by_office, row.assignee_id) == (sent.request_id, True,
                                                                       None)
    opened = await call_in_memory(broker, requests.DESK_GET, requests.DeskGetQuery(
        caller=SOFIE, request_id=sent.request_id))
    assert not opened.unread_by_office

    taken = await call_in_memory(broker, requests.TAKE, requests.TakeCommand(
        caller=SOFIE, request_id=sent.request_id, staff_name="Sofie Claes"))
    assert (taken.status, taken.assignee_name) == ("in_progress", "Sofie Claes")
    await call_in_memory(broker, requests.ADD_NOTE, requests.AddNoteCommand(
        caller=SOFIE, request_id=sent.request_id, body="Verzekeraar bellen", staff_name="Sofie"))
    answered = await call_in_memory(broker, requests.ANSWER, requests.AnswerCommand(
        caller=SOFIE, request_id=sent.request_id, body="Ja, glasbreuk is gedekt.",
        staff_name="Sofie Claes", attachments=[requests.AttachmentRef(
            document_id="doc-offer", filename="voorwaarden.pdf", size=5000)]))
    assert [note.body for note in answered.notes] == ["Verzekeraar bellen"]

    listed = (await call_in_memory(broker, requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=PIETER, dossier_id=DUPONT))).requests
    assert [(row.status, row.unread_by_client) for row in listed] == [("in_progress", True)]
    detail = await call_in_memory(broker, requests.GET_REQUEST, requests.GetRequestQuery(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id))
    assert [entry.author for entry in detail.entries] == ["client", "office"]
    assert detail.entries[1].attachments[0].filename == "voorwaarden.pdf"
    assert [step.step for step in detail.timeline] == ["sent", "taken", "answered"]
    assert detail.answered_at is not None and not detail.overdue
    assert "Verzekeraar bellen" not in detail.model_dump_json()  # notes stay in the office
    again = await call_in_memory(broker, requests.GET_REQUEST, requests.GetRequestQuery(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id))
    assert not again.unread_by_client

    replied = await call_in_memory(broker, requests.REPLY, requests.ReplyCommand(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id, body="Dank u!",
        author_name="Pieter Dupont"))
    assert replied.unread_by_office and replied.entries[-1].author == "client"

    closed = await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
        caller=SOFIE, request_id=sent.request_id, status="closed", staff_name="Sofie Claes"))
    assert closed.status == "closed"
    with pytest.raises(Conflict, match="This conversation is closed; send a new message"):
        await call_in_memory(broker, requests.REPLY, requests.ReplyCommand(
            caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id, body="Nog iets"))
    assert sorted(await outbox_keys(service, sent.request_id)) == sorted([
        "requests.request.submitted", "requests.request.assigned",
        "requests.request.status_changed", "requests.request.replied",
        "requests.request.replied", "requests.request.status_changed"])


async def test_a_stored_change_reads_back_with_utc_timestamps(service: RequestsService) -> None:
    sent = await send(service)
    await call_in_memory(service.runtime.broker, requests.TAKE, requests.TakeCommand(
        caller=SOFIE, request_id=sent.request_id))
    stored = await service.store.get(sent.request_id)
    assert stored is not None and stored.updated_at is not None
    assert stored.updated_at.utcoffset() == timedelta(0)
    assert abs(stored.updated_at - utc_now()) < timedelta(seconds=10)


async def test_another_dossiers_request_is_not_found_like_a_missing_one(
    service: RequestsService,
) -> None:
    sent = await send(service)
    for request_id in (sent.request_id, "missing"):
        with pytest.raises(NotFound, match="This request does not exist"):
            await call_in_memory(service.runtime.broker, requests.GET_REQUEST,
                                 requests.GetRequestQuery(caller=LUC, dossier_id=PEETERS,
                                                          request_id=request_id))
        with pytest.raises(NotFound):
            await call_in_memory(service.runtime.broker, requests.REPLY, requests.ReplyCommand(
                caller=LUC, dossier_id=PEETERS, request_id=request_id, body="Hallo"))
    with pytest.raises(NotFound):  # a dossier not granted at all
        await call_in_memory(service.runtime.broker, requests.GET_REQUEST,
                             requests.GetRequestQuery(caller=LUC, dossier_id=DUPONT,
                                                      request_id=sent.request_id))


async def test_only_staff_use_the_desk(service: RequestsService) -> None:
    sent = await send(service)
    with pytest.raises(Forbidden):
        await desk(service, caller=PIETER)
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, requests.TAKE, requests.TakeCommand(
            caller=PIETER, request_id=sent.request_id))
    with pytest.raises(Forbidden):
        await call_in_memory(service.runtime.broker, requests.DESK_GET, requests.DeskGetQuery(
            caller=PIETER, request_id=sent.request_id))


async def test_illegal_transitions_and_stale_versions_are_conflicts(
    service: RequestsService,
) -> None:
    broker = service.runtime.broker
    sent = await send(service)
    accepted = await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
        caller=SOFIE, request_id=sent.request_id, status="accepted"))
    with pytest.raises(Conflict, match="accepted cannot become refused"):
        await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
            caller=SOFIE, request_id=sent.request_id, status="refused", reason="Nee"))
    with pytest.raises(Conflict, match="changed since you opened it"):
        await call_in_memory(broker, requests.ADD_NOTE, requests.AddNoteCommand(
            caller=SOFIE, request_id=sent.request_id, body="x", version=accepted.version - 1))
    with pytest.raises(Invalid):
        await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
            caller=SOFIE, request_id=(await send(service)).request_id, status="refused"))


async def test_simultaneous_office_changes_are_all_kept(service: RequestsService) -> None:
    sent = await send(service)
    await asyncio.gather(*(call_in_memory(
        service.runtime.broker, requests.ADD_NOTE, requests.AddNoteCommand(
            caller=SOFIE, request_id=sent.request_id, body=f"Notitie {n}")) for n in range(6)))
    stored = await service.store.get(sent.request_id)
    assert stored is not None
    assert sorted(note.body for note in stored.notes) == [f"Notitie {n}" for n in range(6)]
    assert stored.version == 7


async def test_a_resubmission_with_the_same_key_returns_the_first_request(
    service: RequestsService,
) -> None:
    first = await send(service, key="k-123")
    again = await send(service, key="k-123")
    together = await asyncio.gather(*(send(service, key="k-456") for _ in range(4)))
    assert again.request_id == first.request_id and again == first
    assert len({request.request_id for request in together}) == 1
    other = await send(service, key="k-123", caller=Caller(
        user_id="u-an", role=Role.CLIENT, dossier_ids=[DUPONT]))
    assert other.request_id != first.request_id  # another sender's key is another key
    assert await service.runtime.database[REQUESTS].count_documents({}) == 3
    found = await call_in_memory(service.runtime.broker, requests.FIND_RESUBMITTED,
                                 requests.FindResubmittedQuery(
        caller=PIETER, dossier_id=DUPONT, idempotency_key="k-123"))
    assert found.request_id == first.request_id
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, requests.FIND_RESUBMITTED,
                             requests.FindResubmittedQuery(
            caller=PIETER, dossier_id=DUPONT, idempotency_key="never-used"))


async def test_the_desk_filters_sorts_and_pages(service: RequestsService) -> None:
    broker = service.runtime.broker
    sent = [await send(service, subject=f"Vraag {n}") for n in range(5)]
    peeters = await send(service, subject="Peeters", caller=LUC, dossier_id=PEETERS)
    await call_in_memory(broker, requests.TAKE, requests.TakeCommand(
        caller=SOFIE, request_id=sent[1].request_id))
    await call_in_memory(broker, requests.TAKE, requests.TakeCommand(
        caller=JAN, request_id=sent[2].request_id))
    await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
        caller=SOFIE, request_id=sent[3].request_id, status="closed"))

    everything = await desk(service, limit=50)
    ids = [row.request_id for row in everything.items]
    # Awaiting a first answer by target (oldest first), the closed one last.
    assert ids[-1] == sent[3].request_id and len(ids) == 6
    assert everything.next_cursor is None

    mine = await desk(service, assignee="me")
    assert [row.request_id for row in mine.items] == [sent[1].request_id]
    unassigned = await desk(service, assignee="none", open_only=True)
    assert {row.request_id for row in unassigned.items} == {
        sent[0].request_id, sent[4].request_id, peeters.request_id}
    jans = await desk(service, assignee=JAN.user_id)
    assert [row.request_id for row in jans.items] == [sent[2].request_id]
    only_peeters = await desk(service, dossier_id=PEETERS)
    assert [row.request_id for row in only_peeters.items] == [peeters.request_id]
    assert (await desk(service, kind="claim")).items == []
    assert (await desk(service, older_than_days=1)).items == []
    assert [row.request_id for row in (await desk(service, status="closed")).items] == [
        sent[3].request_id]

    walked: list[str] = []
    cursor = None
    while True:
        page = await desk(service, limit=2, cursor=cursor)
        walked += [row.request_id for row in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == ids

    first = await desk(service, limit=2)
    assert first.next_cursor is not None
    with pytest.raises(Invalid) as refused:  # a cursor of other filters
        await desk(service, limit=2, cursor=first.next_cursor, status="pending")
    assert refused.value.fields == {"cursor": "not a cursor of this list"}
    with pytest.raises(Invalid):  # a cursor written by hand
        await desk(service, limit=2, cursor="azAw.AAAA")


async def test_an_overdue_request_comes_first_and_says_so(service: RequestsService) -> None:
    fresh = await send(service, subject="Nieuw")
    old = await send(service, subject="Oud")
    await service.runtime.database[REQUESTS].update_one({"_id": old.request_id}, {"$set": {
        "target_at": utc_now() - timedelta(days=2),
        "desk_key": "k0" + "0" * 13 + old.request_id}})
    rows = (await desk(service)).items
    assert [row.request_id for row in rows] == [old.request_id, fresh.request_id]
    assert [row.overdue for row in rows] == [True, False]


async def test_files_uploaded_after_the_message_are_added_to_its_first_entry(
    service: RequestsService,
) -> None:
    sent = await send(service)
    more = requests.AttachmentRef(document_id="doc-pv", filename="pv.pdf", size=900)
    attached = await call_in_memory(service.runtime.broker, requests.ATTACH,
                                    requests.AttachCommand(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id, attachments=[more, PHOTO]))
    assert [ref.document_id for ref in attached.entries[0].attachments] == ["doc-photo",
                                                                            "doc-pv"]
    with pytest.raises(NotFound):
        await call_in_memory(service.runtime.broker, requests.ATTACH, requests.AttachCommand(
            caller=LUC, dossier_id=PEETERS, request_id=sent.request_id, attachments=[more]))


async def test_reading_does_not_make_the_other_sides_version_stale(
    service: RequestsService,
) -> None:
    broker = service.runtime.broker
    sent = await send(service)
    answered = await call_in_memory(broker, requests.ANSWER, requests.AnswerCommand(
        caller=SOFIE, request_id=sent.request_id, body="Wij bekijken het."))
    read = await call_in_memory(broker, requests.GET_REQUEST, requests.GetRequestQuery(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id))
    assert not read.unread_by_client and read.version == answered.version
    closed = await call_in_memory(broker, requests.SET_STATUS, requests.SetStatusCommand(
        caller=SOFIE, request_id=sent.request_id, status="closed", version=answered.version))
    assert closed.status == "closed" and not closed.unread_by_office


async def test_the_targets_come_from_the_settings(mongo_url: str, database_name: str) -> None:
    built = build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name,
                                   target_working_days={"message": 5},
                                   default_target_working_days=1))
    await built.store.ensure_indexes()
    try:
        async with TestRabbitBroker(built.runtime.broker):
            sent = await send(built)
        assert sent.target_at is not None
        # Five working days are at least a week of calendar time (a weekend lies between).
        assert sent.target_at - sent.sent_at >= timedelta(days=6)
    finally:
        await built.runtime.database.client.drop_database(database_name)
