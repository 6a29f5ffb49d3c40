"""The forms with the real dossier service (both on the in-memory bus, real databases): what a
form is prefilled with, the claim's risk objects checked against the dossier, idempotent
submission on the real database, drafts that expire after 30 days, and an accepted change
offered in the office's feed."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from pydantic import BaseModel

from libs.contracts import dossier, request_forms, requests
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import office_day, utc_now
from libs.contracts.request_forms import FormAbout, FormAboutKind, FormKind
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import Conflict, Invalid, NotFound
from services.dossier.config import DossierSettings
from services.dossier.main import DossierService
from services.dossier.main import build as build_dossier
from services.requests.config import RequestsSettings
from services.requests.forms.store import DRAFTS
from services.requests.main import RequestsService
from services.requests.main import build as build_requests
from tests.service.conftest import call_in_memory
from tests.system.stack import fixture_dossier

DUPONT = fixture_dossier("dupont")["dossier_id"]
PEETERS = fixture_dossier("peeters")["dossier_id"]
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])
AGENT = Caller(user_id="agent-1", role=Role.AGENT)


class InMemoryRpc:
    """The RpcClient's `call` on the in-memory brokers of the services built here."""

    def __init__(self, brokers: dict[str, RabbitBroker]) -> None:
        self._brokers = brokers

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        broker = self._brokers[method.queue.split(".", 1)[0]]
        return await call_in_memory(broker, method, request)


@dataclass
class Stack:
    dossier: DossierService
    requests: RequestsService
    rpc: InMemoryRpc


@pytest.fixture
async def stack(mongo_url: str, database_name: str) -> AsyncIterator[Stack]:
    # In-memory brokers: the system stack of the same test run serves the same queue names on
    # the real bus, and would answer in their place.
    dossiers = build_dossier(DossierSettings(mongo_url=mongo_url, mongo_db=f"{database_name}_d"))
    brokers = {"dossier": dossiers.runtime.broker}
    rpc = InMemoryRpc(brokers)
    forms = build_requests(RequestsSettings(
        mongo_url=mongo_url, mongo_db=f"{database_name}_r", message_burst=50), rpc=rpc)
    brokers["requests"] = forms.runtime.broker
    await dossiers.store.ensure_indexes()
    await forms.prepare_database()
    async with TestRabbitBroker(dossiers.runtime.broker), \
            TestRabbitBroker(forms.runtime.broker):
        for name in ("dupont", "peeters"):
            await rpc.call(dossier.IMPORT_DOSSIER, dossier.ImportDossierRequest(
                caller=AGENT, dossier=dossier.DossierImport.model_validate(
                    fixture_dossier(name))))
        yield Stack(dossiers, forms, rpc)
    for runtime in (dossiers.runtime, forms.runtime):
        await runtime.database.client.drop_database(runtime.database.name)


async def submit(stack: Stack, kind: FormKind, payload: dict[str, Any],
                 about: FormAbout | None = None, key: str | None = None,
                 caller: Caller = PIETER) -> request_forms.FormSubmitted:
    return await stack.rpc.call(request_forms.SUBMIT_FORM, request_forms.SubmitForm(
        caller=caller, dossier_id=DUPONT, kind=kind, payload=payload, about=about,
        idempotency_key=key, sender_name="Pieter Dupont"))


CLAIM = {"loss_date": "2026-01-03", "loss_time": "14:30", "description": "Aanrijding",
         "vat_liable": False, "police_report_number": "PV-123"}
FROM_AUTO = FormAbout(kind=FormAboutKind.CONTRACT, ref_id="C-00417-AUTO")


async def test_a_claim_from_a_contract_is_prefilled_and_checked_against_the_dossier(
    stack: Stack,
) -> None:
    context = await stack.rpc.call(request_forms.FORM_CONTEXT, request_forms.FormContextQuery(
        caller=PIETER, dossier_id=DUPONT, kind=FormKind.CLAIM, about=FROM_AUTO))
    assert context.claim is not None
    assert context.claim.preselected == ["R-00417-1"] and context.claim.limited_to_contract
    assert [choice.risk_object_id for choice in context.claim.risk_objects] == ["R-00417-1"]
    assert (context.claim.general.last_name, context.claim.general.postal_code) == (
        "Dupont", "9000")
    with pytest.raises(Invalid) as refused:
        await submit(stack, FormKind.CLAIM, {**CLAIM, "risk_object_ids": ["R-00417-2"]},
                     FROM_AUTO)
    assert refused.value.fields == {"risk_object_ids.0": "is not covered by this contract"}
    with pytest.raises(Invalid) as refused:
        await submit(stack, FormKind.CLAIM, {**CLAIM, "risk_object_ids": ["R-01288-1"]})
    assert refused.value.fields == {"risk_object_ids.0": "is not a risk object of this dossier"}
    # Another dossier's contract or person: not found, like one that does not exist.
    with pytest.raises(NotFound):
        await submit(stack, FormKind.CLAIM, {**CLAIM, "risk_object_ids": ["R-01288-1"]},
                     FormAbout(kind=FormAboutKind.CONTRACT, ref_id="C-01288-HUUR"))
    with pytest.raises(NotFound):
        await submit(stack, FormKind.PERSONAL_DATA, {"person_id": "P-01288-1",
                                                     "first_name": "X"})
    sent = await submit(stack, FormKind.CLAIM, {**CLAIM, "risk_object_ids": ["R-00417-1"]},
                        FROM_AUTO)
    assert sent.created and sent.status == "pending"
    assert sent.form["policy_number"] and sent.form["risk_objects"][0]["risk_object_id"] == \
        "R-00417-1"
    listed = await stack.rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=PIETER, dossier_id=DUPONT))
    assert [(item.request_id, item.kind, item.status) for item in listed.requests] == [
        (sent.request_id, "claim", "pending")]


async def test_the_same_idempotency_key_at_once_stores_one_request(stack: Stack) -> None:
    payload = {"member_kind": "child", "last_name": "Dupont", "first_name": "Mila",
               "birth_date": "2024-02-29"}
    answers = await asyncio.gather(*(
        submit(stack, FormKind.FAMILY_MEMBER, payload, key="tap-tap-tap-1") for _ in range(5)))
    assert len({answer.request_id for answer in answers}) == 1
    assert sum(answer.created for answer in answers) == 1
    stored = await stack.requests.runtime.database["requests"].count_documents({})
    assert stored == 1


async def test_a_key_used_for_one_kind_of_request_refuses_another_instead_of_hiding_it(
    stack: Stack,
) -> None:
    """An app that reuses its Idempotency-Key must hear that its message was not stored: the
    first request coming back as if it were the message would lose the message unseen."""
    member = {"member_kind": "child", "last_name": "Dupont", "first_name": "Mila",
              "birth_date": "2024-02-29"}
    first = await submit(stack, FormKind.FAMILY_MEMBER, member, key="app-key-1")

    def message(key: str) -> requests.SendMessageRequest:
        return requests.SendMessageRequest(caller=PIETER, dossier_id=DUPONT, subject="Vraag",
                                           body="Is mijn fiets verzekerd?", idempotency_key=key,
                                           sender_name="Pieter Dupont")
    with pytest.raises(Conflict) as refused:
        await stack.rpc.call(requests.SEND_MESSAGE, message("app-key-1"))
    assert refused.value.fields == {"idempotency_key": "used for another request"}
    assert "(a family_member)" in str(refused.value)
    # The gateway asks first when the message brings files: refused before a file is read.
    with pytest.raises(Conflict):
        await stack.rpc.call(requests.FIND_RESUBMITTED, requests.FindResubmittedQuery(
            caller=PIETER, dossier_id=DUPONT, idempotency_key="app-key-1",
            kind=requests.RequestKind.MESSAGE))
    sent = await stack.rpc.call(requests.SEND_MESSAGE, message("app-key-2"))
    with pytest.raises(Conflict):
        await submit(stack, FormKind.FAMILY_MEMBER, member, key="app-key-2")
    # The same kind again is a resend: the first one comes back, nothing is stored twice.
    assert (await submit(stack, FormKind.FAMILY_MEMBER, member, key="app-key-1")
            ).request_id == first.request_id
    assert (await stack.rpc.call(requests.SEND_MESSAGE, message("app-key-2"))
            ).request_id == sent.request_id
    listed = await stack.rpc.call(requests.LIST_REQUESTS, requests.ListRequestsQuery(
        caller=PIETER, dossier_id=DUPONT))
    assert sorted(item.kind for item in listed.requests) == ["family_member", "message"]


async def test_a_draft_is_resumed_elsewhere_and_gone_after_thirty_days(
    stack: Stack, monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = request_forms.DraftKey(caller=PIETER, dossier_id=DUPONT, kind=FormKind.CLAIM,
                                 about=FROM_AUTO)
    saved = await stack.rpc.call(request_forms.SAVE_DRAFT, request_forms.SaveDraft(
        **key.model_dump(), data={"description": "Half", "risk_object_ids": ["R-00417-1"]}))
    assert saved.expires_at - saved.saved_at == timedelta(days=30)
    # Another device of the same account: the same draft; another account: none.
    again = await stack.rpc.call(request_forms.GET_DRAFT, key)
    assert again.data == {"description": "Half", "risk_object_ids": ["R-00417-1"]}
    sofie = Caller(user_id="u-sofie", role=Role.CLIENT, dossier_ids=[DUPONT])
    with pytest.raises(NotFound):
        await stack.rpc.call(request_forms.GET_DRAFT, key.model_copy(update={"caller": sofie}))
    listed = await stack.rpc.call(request_forms.LIST_DRAFTS, request_forms.ListDraftsQuery(
        caller=PIETER, dossier_id=DUPONT))
    assert [(draft.kind, draft.about) for draft in listed.drafts] == [
        (FormKind.CLAIM, FROM_AUTO)]

    later = utc_now() + timedelta(days=30, minutes=1)
    monkeypatch.setattr(stack.requests.forms, "_clock", lambda: later)
    with pytest.raises(NotFound):
        await stack.rpc.call(request_forms.GET_DRAFT, key)
    assert (await stack.rpc.call(request_forms.LIST_DRAFTS, request_forms.ListDraftsQuery(
        caller=PIETER, dossier_id=DUPONT))).drafts == []
    assert await stack.requests.forms.purge_drafts() == 1
    assert await stack.requests.runtime.database[DRAFTS].count_documents({}) == 0


async def test_an_accepted_address_change_is_offered_in_the_import_schemas_shape(
    stack: Stack,
) -> None:
    sent = await submit(stack, FormKind.ADDRESS, {
        "start_date": office_day(utc_now()).isoformat(), "street": "Veldstraat", "number": "12",
        "postal_code": "9000", "municipality": "gent",
        "person_ids": ["P-00417-1", "P-00417-2"]})
    assert sent.form["municipality"] == "Gent"
    with pytest.raises(Invalid) as refused:
        await submit(stack, FormKind.ADDRESS, {
            "start_date": office_day(utc_now()).isoformat(), "street": "Markt", "number": "1",
            "postal_code": "9000", "municipality": "Brugge", "person_ids": ["P-00417-1"]})
    assert set(refused.value.fields or {}) == {"municipality"}
    await stack.rpc.call(requests.SET_STATUS, requests.SetStatusCommand(
        caller=AGENT, request_id=sent.request_id, status=requests.StatusChange.ACCEPTED,
        staff_name="Sofie"))
    await stack.requests.relay.relay_pending()
    page = request_forms.ChangesPage(items=[])
    for _ in range(100):
        page = await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
            caller=AGENT))
        if page.items:
            break
        await asyncio.sleep(0.1)
    [change] = page.items
    assert (change.request_id, change.dossier_id, change.kind) == (
        sent.request_id, DUPONT, FormKind.ADDRESS)
    assert [(person.person_id, person.address.street if person.address else None)
            for person in change.record.persons or []] == [
        ("P-00417-1", "Veldstraat"), ("P-00417-2", "Veldstraat")]
    # The client's request says when the change will show.
    detail = await stack.rpc.call(requests.GET_REQUEST, requests.GetRequestQuery(
        caller=PIETER, dossier_id=DUPONT, request_id=sent.request_id))
    assert request_forms.status_note(detail.kind, detail.status) == \
        request_forms.AWAITING_BROKER_UPDATE
    with pytest.raises(Invalid):
        await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
            caller=AGENT, cursor="forged.cursor"))
    # Clients never read the feed.
    with pytest.raises(Exception, match="staff"):
        await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
            caller=PIETER))


async def test_the_feed_pages_by_its_signed_cursor_oldest_first(stack: Stack) -> None:
    sent = [
        await submit(stack, FormKind.PERSONAL_DATA, {"person_id": "P-00417-1",
                                                     "phone": "+32 9 222 33 44"}),
        await submit(stack, FormKind.FAMILY_MEMBER, {
            "member_kind": "other", "last_name": "Dupont", "first_name": "Jef",
            "birth_date": "1950-07-01"}),
        await submit(stack, FormKind.CLAIM, {**CLAIM, "risk_object_ids": ["R-00417-1"]}),
        await submit(stack, FormKind.ADDRESS, {
            "start_date": office_day(utc_now()).isoformat(), "street": "Markt", "number": "1",
            "postal_code": "9000", "municipality": "Gent", "person_ids": ["P-00417-3"]}),
    ]
    for request in sent:
        await stack.rpc.call(requests.SET_STATUS, requests.SetStatusCommand(
            caller=AGENT, request_id=request.request_id,
            status=requests.StatusChange.ACCEPTED, staff_name="Sofie"))
        await stack.requests.relay.relay_pending()
    first = await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
        caller=AGENT, limit=2))
    assert first.next_cursor is not None
    rest = await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
        caller=AGENT, limit=2, cursor=first.next_cursor))
    assert rest.next_cursor is None
    # The claim is no data change: three in the feed, in the order they were accepted.
    assert [item.request_id for item in first.items + rest.items] == [
        sent[0].request_id, sent[1].request_id, sent[3].request_id]
    personal = first.items[0]
    assert [(c.field, c.old, c.new) for c in personal.changes] == [
        ("phone", "+32 475 12 34 56", "+32 9 222 33 44")]
    [person] = personal.record.persons or []
    assert (person.person_id, person.phone, person.first_name) == (
        "P-00417-1", "+32 9 222 33 44", "Pieter")
    later = await stack.rpc.call(request_forms.CHANGES_SINCE, request_forms.ChangesQuery(
        caller=AGENT, since=rest.items[-1].recorded_at))
    assert later.items == []
