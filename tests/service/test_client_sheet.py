"""The client sheet in the requests service (manual 4.5): prefilled from the dossier, confirmed
once and kept as confirmed, filed as a pending request, and a reminder once per due period."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from libs.contracts import client_sheet, dossier, requests
from libs.contracts.caller import Caller, Role
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from services.requests.client_sheet.store import REMINDERS, SHEETS, idempotency_value
from services.requests.config import RequestsSettings
from services.requests.main import RequestsService, build
from services.requests.store import REQUESTS
from tests.service.conftest import call_in_memory

DUPONT = "DOS-2019-00417"
PEETERS = "DOS-2022-01288"
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])
AN = Caller(user_id="u-an", role=Role.CLIENT, dossier_ids=[PEETERS])
AGENT = Caller(user_id="agent-1", role=Role.AGENT)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANSWERS: dict[str, Any] = {
    "birth_date": "1980-05-17", "email": "pieter@example.be", "family_status": "married",
    "dependent_children": "2", "employment_status": "employee", "profession": "Verpleegkundige",
    "home_status": "owner", "vehicle_count": "1", "risks_to_cover": ["vehicle", "home"],
    "other_insurance": "no", "professional_risks": "no", "investment_interest": "no",
    "electronic_documents": "yes"}


class DossierService:
    """Stands for the dossier service: the Dupont household and its risks."""

    def __init__(self) -> None:
        self.reachable = True

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        if not self.reachable:
            raise Unavailable("dossier did not answer within 5 s.")
        caller = Caller.model_validate(request.model_dump()["caller"])
        dossier_id = request.model_dump().get("dossier_id")
        reply: BaseModel
        if method.queue == dossier.CHECK_REFERENCES.queue:
            asked = dossier.ReferencesQuery.model_validate(request.model_dump())
            reply = dossier.UnknownReferences(dossier_ids=[
                d for d in asked.dossier_ids if d not in (DUPONT, PEETERS)])
        elif not caller.may_see_dossier(str(dossier_id)):
            raise NotFound("This dossier does not exist.")
        elif method.queue == dossier.LIST_PERSONS.queue:
            reply = dossier.PersonList(dossier_id=DUPONT, persons=[dossier.Person(
                person_id="P1", role="policyholder", last_name="Dupont", first_name="Pieter",
                birth_date=date(1980, 5, 17), email="pieter@example.be")])
        elif method.queue == dossier.LIST_RISK_OBJECTS.queue:
            car = dossier.RiskObject(risk_object_id="R1", kind="vehicle", description="Auto")
            reply = dossier.RiskObjectPage(
                dossier_id=DUPONT, total=1, page=1, page_count=1, page_size=100, sort="kind",
                descending=False, last_cursor="c", items=[
                    dossier.RiskObjectLine(risk_object=car, next_renewal=None, covers=[])])
        else:
            raise AssertionError(method.queue)
        return method.reply.model_validate(reply.model_dump())


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Office:
    replicas: list[RequestsService]
    clock: Clock
    dossier_service: DossierService

    @property
    def service(self) -> RequestsService:
        return self.replicas[0]


@pytest.fixture
async def office(mongo_url: str, database_name: str) -> AsyncIterator[Office]:
    """Two replicas of the requests service on one database, with one clock."""
    clock, dossier_service = Clock(), DossierService()
    replicas = [build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name),
                      rpc=dossier_service, clock=clock) for _ in range(2)]
    async with AsyncExitStack() as stack:
        for replica in replicas:
            await replica.store.ensure_indexes()
            await replica.client_sheet_store.ensure_indexes()
            await replica.client_sheets.prepare()
            await stack.enter_async_context(TestRabbitBroker(replica.runtime.broker))
        yield Office(replicas, clock, dossier_service)
    await replicas[0].runtime.database.client.drop_database(database_name)


async def open_sheet(office: Office, caller: Caller = PIETER, dossier_id: str = DUPONT
                     ) -> client_sheet.ClientSheetForm:
    return await call_in_memory(office.service.runtime.broker, client_sheet.GET_CLIENT_SHEET,
                                client_sheet.ClientSheetQuery(caller=caller,
                                                              dossier_id=dossier_id))


async def confirm(office: Office, answers: dict[str, Any] | None = None, *,
                  caller: Caller = PIETER, dossier_id: str = DUPONT, version: int = 1,
                  key: str | None = None, replica: int = 0) -> client_sheet.ConfirmedClientSheet:
    return await call_in_memory(
        office.replicas[replica].runtime.broker, client_sheet.CONFIRM_CLIENT_SHEET,
        client_sheet.ConfirmClientSheetRequest(
            caller=caller, dossier_id=dossier_id, questionnaire_version=version,
            answers=ANSWERS if answers is None else answers, idempotency_key=key,
            sender_name="Pieter  Dupont", correlation_id="corr-sheet"))


async def my_requests(office: Office) -> list[requests.RequestSummary]:
    return (await call_in_memory(office.service.runtime.broker, requests.LIST_REQUESTS,
                                 requests.ListRequestsQuery(caller=PIETER,
                                                            dossier_id=DUPONT))).requests


async def test_a_new_dossier_s_sheet_is_due_and_prefilled_from_the_dossier(
    office: Office,
) -> None:
    form = await open_sheet(office)

    assert form.due.due and form.due.last_confirmed_at is None
    assert form.questionnaire.version == 1
    assert form.prefill == {"birth_date": "1980-05-17", "email": "pieter@example.be",
                            "vehicle_count": 1}


async def test_without_the_dossier_service_the_sheet_still_opens_unfilled(
    office: Office,
) -> None:
    office.dossier_service.reachable = False
    form = await open_sheet(office)
    assert form.due.due and form.prefill == {}


async def test_a_confirmed_sheet_is_kept_as_sent_and_pending_in_my_requests(
    office: Office,
) -> None:
    office.clock.now = START + timedelta(hours=2)
    confirmed = await confirm(office)
    sheet = confirmed.sheet

    assert confirmed.created
    assert (sheet.dossier_id, sheet.questionnaire_version, sheet.confirmed_by,
            sheet.confirmed_by_name, sheet.confirmed_at) == (
        DUPONT, 1, "u-pieter", "Pieter Dupont", START + timedelta(hours=2))
    assert sheet.answers["dependent_children"] == 2 and sheet.answers["other_insurance"] is False
    [listed] = await my_requests(office)
    assert (listed.request_id, listed.kind, listed.status) == (
        sheet.request_id, "client_sheet", "pending")
    stored = await office.service.runtime.database[REQUESTS].find_one({"_id": sheet.request_id})
    assert stored is not None and stored["form"]["sheet_id"] == sheet.sheet_id
    entries = {entry["routing_key"]: entry for entry in stored["outbox"].values()}
    assert sorted(entries) == ["requests.client_sheet.confirmed", "requests.request.submitted"]
    assert entries["requests.request.submitted"]["payload"]["kind"] == "client_sheet"
    # With the request, the sheet the signing service offers the client for signature.
    assert entries["requests.client_sheet.confirmed"]["payload"]["sheet"]["sheet_id"] == \
        sheet.sheet_id

    form = await open_sheet(office)
    assert not form.due.due and form.due.next_due_at == sheet.confirmed_at + timedelta(days=365)
    assert form.last_sheet == sheet
    assert form.prefill["profession"] == "Verpleegkundige"  # from the previous sheet

    office.clock.now += timedelta(days=30)
    second = (await confirm(office, {**ANSWERS, "profession": "Hoofdverpleegkundige"})).sheet
    history = await call_in_memory(
        office.service.runtime.broker, client_sheet.LIST_DOSSIER_SHEETS,
        client_sheet.DossierSheetsQuery(caller=AGENT, dossier_id=DUPONT))
    assert [s.sheet_id for s in history.sheets] == [second.sheet_id, sheet.sheet_id]
    assert history.sheets[1] == sheet  # the first one as it was confirmed
    assert len(await my_requests(office)) == 2


async def test_the_same_idempotency_key_files_one_sheet_and_one_request(office: Office) -> None:
    first = await confirm(office, key="k-1")
    again = await confirm(office, key="k-1", replica=1)

    assert first.created and not again.created
    assert again.sheet == first.sheet
    assert len(await my_requests(office)) == 1
    assert await office.service.runtime.database[SHEETS].count_documents({}) == 1


async def test_wrong_answers_are_refused_per_question_and_nothing_is_stored(
    office: Office,
) -> None:
    with pytest.raises(Invalid) as refused:
        await confirm(office, {**ANSWERS, "profession": " ", "dependent_children": "many",
                               "risks_to_cover": ["spaceship"]})
    assert refused.value.fields == {"profession": "required",
                                    "dependent_children": "must be a number",
                                    "risks_to_cover": "choose among the options"}
    assert await my_requests(office) == []
    assert await office.service.runtime.database[SHEETS].count_documents({}) == 0


async def test_another_dossier_is_not_found_and_the_office_cannot_confirm(
    office: Office,
) -> None:
    with pytest.raises(NotFound):
        await confirm(office, caller=AN)
    with pytest.raises(NotFound):
        await open_sheet(office, caller=AN)
    with pytest.raises(Forbidden):
        await confirm(office, caller=AGENT)
    with pytest.raises(Forbidden):
        await call_in_memory(office.service.runtime.broker, client_sheet.LIST_DOSSIER_SHEETS,
                             client_sheet.DossierSheetsQuery(caller=PIETER, dossier_id=DUPONT))


async def test_a_new_questionnaire_version_is_answered_from_then_on(office: Office) -> None:
    first = (await confirm(office)).sheet
    current = await call_in_memory(
        office.service.runtime.broker, client_sheet.GET_QUESTIONNAIRE,
        client_sheet.QuestionnaireQuery(caller=AGENT))
    draft = client_sheet.QuestionnaireDraft(sections=current.sections[:1])
    published = await call_in_memory(
        office.service.runtime.broker, client_sheet.PUBLISH_QUESTIONNAIRE,
        client_sheet.PublishQuestionnaireRequest(caller=AGENT, draft=draft,
                                                 publisher_name="Agent"))
    assert (published.version, published.published_by) == (2, "Agent")

    with pytest.raises(Conflict):  # the client answered the old questions
        await confirm(office, version=1)
    situation = {q.question_id for q in published.sections[0].questions}
    second = (await confirm(office, {k: v for k, v in ANSWERS.items() if k in situation},
                            version=2)).sheet
    assert (first.questionnaire_version, second.questionnaire_version) == (1, 2)
    old = await call_in_memory(
        office.service.runtime.broker, client_sheet.GET_QUESTIONNAIRE,
        client_sheet.QuestionnaireQuery(caller=AGENT, version=1))
    assert len(old.sections) == 4


async def test_a_questionnaire_the_pages_could_not_show_is_not_published(
    office: Office,
) -> None:
    current = await call_in_memory(
        office.service.runtime.broker, client_sheet.GET_QUESTIONNAIRE,
        client_sheet.QuestionnaireQuery(caller=AGENT))
    twice = current.sections[0].model_copy(update={"questions": [
        current.sections[0].questions[0], current.sections[0].questions[0]]})
    with pytest.raises(Invalid):
        await call_in_memory(
            office.service.runtime.broker, client_sheet.PUBLISH_QUESTIONNAIRE,
            client_sheet.PublishQuestionnaireRequest(
                caller=AGENT, draft=client_sheet.QuestionnaireDraft(sections=[twice])))
    with pytest.raises(Forbidden):
        await call_in_memory(
            office.service.runtime.broker, client_sheet.PUBLISH_QUESTIONNAIRE,
            client_sheet.PublishQuestionnaireRequest(
                caller=PIETER, draft=client_sheet.QuestionnaireDraft(
                    sections=current.sections)))


async def reminders(office: Office) -> list[client_sheet.ClientSheetDue]:
    documents = office.service.runtime.database[REMINDERS].find({})
    return [client_sheet.ClientSheetDue.model_validate(entry["payload"])
            async for document in documents for entry in document["outbox"].values()]


async def test_the_due_reminder_is_emitted_once_per_period_even_by_two_replicas(
    office: Office,
) -> None:
    broker = office.service.runtime.broker
    await broker.publish(dossier.DossierChanged(
        dossier_id=PEETERS, change="created", name="Peeters", occurred_at=START,
    ).model_dump(mode="json"), exchange=EVENTS, routing_key="dossier.dossier.changed")
    await confirm(office)  # Dupont confirms: not due

    emitted = await asyncio.gather(*(replica.client_sheets.remind_due_sheets()
                                     for replica in office.replicas))
    assert sum(emitted) == 1
    assert await office.replicas[1].client_sheets.remind_due_sheets() == 0
    [due] = await reminders(office)
    assert (due.dossier_id, due.due_since, due.period, due.last_confirmed_at) == (
        PEETERS, START, START.date(), None)

    office.clock.now = START + timedelta(days=366)  # Dupont's sheet ran out; Peeters again
    assert await office.service.client_sheets.remind_due_sheets() == 2
    assert await office.replicas[1].client_sheets.remind_due_sheets() == 0
    later = {(r.dossier_id, r.period) for r in await reminders(office)}
    assert later == {(PEETERS, START.date()), (PEETERS, (START + timedelta(days=365)).date()),
                     (DUPONT, (START + timedelta(days=365)).date())}
    stored = [document async for document in
              office.service.runtime.database[REMINDERS].find({})]
    assert [document["outbox_pending"] for document in stored] == [1, 1, 1]  # the relay's


async def test_a_sheet_stored_before_a_crash_is_filed_when_the_client_retries(
    office: Office,
) -> None:
    """The sheet is written first, then its request: a crash between the two leaves a sheet
    without a request, which the retry with the same key files (once)."""
    sheet = client_sheet.ClientSheet(
        sheet_id="sheet-crash", dossier_id=DUPONT, questionnaire_version=1,
        answers={"profession": "Bakker"}, confirmed_by=PIETER.user_id, confirmed_at=START,
        request_id="request-crash")
    await office.service.client_sheet_store.insert_sheet(
        sheet, idempotency_value(DUPONT, PIETER.user_id, "k-crash", sheet.sheet_id))
    assert await my_requests(office) == []

    retried = await confirm(office, key="k-crash")
    again = await confirm(office, key="k-crash", replica=1)

    assert (retried.created, retried.sheet, again.sheet) == (False, sheet, sheet)
    [filed] = await my_requests(office)
    assert (filed.request_id, filed.kind, filed.status) == (
        "request-crash", "client_sheet", "pending")
    assert filed.target_at is not None and filed.target_at > START  # the office's target


async def test_the_office_lists_due_dossiers_first_and_filters_on_the_state(
    office: Office,
) -> None:
    await open_sheet(office, caller=AN, dossier_id=PEETERS)  # known, never confirmed
    await confirm(office)

    def overview(state: str) -> client_sheet.SheetOverviewQuery:
        return client_sheet.SheetOverviewQuery(caller=AGENT, state=state)

    everything = await call_in_memory(office.service.runtime.broker,
                                      client_sheet.SHEET_OVERVIEW, overview("all"))
    assert [(line.dossier_id, line.due.due) for line in everything.dossiers] == [
        (PEETERS, True), (DUPONT, False)]
    assert everything.dossiers[1].last_confirmed_by_name == "Pieter Dupont"
    for state, expected in (("due", [PEETERS]), ("confirmed", [DUPONT])):
        listed = await call_in_memory(office.service.runtime.broker,
                                      client_sheet.SHEET_OVERVIEW, overview(state))
        assert [line.dossier_id for line in listed.dossiers] == expected
