"""The signing service on the in-memory broker and the real Mongo-wire server: requests, the
state of each signer and their order, the checkbox signature, the sealed PDF and the trail.

Documents, persons and accounts come from a stand-in of those services; the object storage is
an in-memory httpx transport.
"""

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from deploy.local.demo_pdf import text_pdf
from libs.contracts import auth, documents, dossier, signing
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import office_day, utc_now
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from libs.servicekit.keyset import list_key
from libs.servicekit.mongo import stored_utc
from libs.servicekit.outbox import OUTBOX_FIELD
from services.signing.config import SigningSettings
from services.signing.main import SigningService, build
from services.signing.store import AUDIT_RECORDS, SIGNATURE_REQUESTS
from tests.service.conftest import call_in_memory

STAFF = Caller(user_id="staff1", role=Role.AGENT)
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=["D1"])
AN = Caller(user_id="u-an", role=Role.CLIENT, dossier_ids=["D1"])
STRANGER = Caller(user_id="u-other", role=Role.CLIENT, dossier_ids=["D2"])
ORIGINAL = text_pdf("Klantenfiche", ["Naam: Pieter Dupont", "Gelezen en goedgekeurd"])
STORAGE = "http://storage.test"


class Office:
    """Stand-in of documents, dossier and auth, and the object storage behind httpx."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {"doc1": ORIGINAL}
        self.uploaded: dict[str, documents.DocumentPublic] = {}

    def document(self, document_id: str) -> documents.DocumentPublic:
        body = self.bodies[document_id]
        return documents.DocumentPublic(
            document_id=document_id, dossier_id="D1", title="Klantenfiche",
            filename="klantenfiche.pdf", content_type="application/pdf", size=len(body),
            sha256=hashlib.sha256(body).hexdigest(), uploaded_by="staff1",
            uploaded_at=utc_now(), rendition=documents.RenditionPublic(
                state=documents.RenditionState.READY, content_type="application/pdf"))

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel) -> ReplyT:
        reply: Any
        if method is documents.OPEN_DOWNLOAD:
            assert isinstance(request, documents.OpenDownloadRequest)
            if request.document_id not in self.bodies or request.dossier_id != "D1":
                raise NotFound("This document does not exist.")
            reply = documents.DownloadTicket(
                document=self.document(request.document_id),
                download_url=f"{STORAGE}/{request.document_id}")
        elif method is documents.BEGIN_UPLOAD:
            assert isinstance(request, documents.BeginUploadRequest)
            document_id = f"signed{len(self.uploaded) + 1}"
            reply = documents.UploadSlot(document_id=document_id,
                                         upload_url=f"{STORAGE}/{document_id}", max_size=10**8)
        elif method is documents.COMPLETE_UPLOAD:
            assert isinstance(request, documents.CompleteUploadRequest)
            reply = self.uploaded[request.document_id] = self.document(request.document_id)
        elif method is dossier.LIST_PERSONS:
            reply = dossier.PersonList(dossier_id="D1", persons=[
                dossier.Person(person_id="P1", role="policyholder", last_name="Dupont",
                               first_name="Pieter", email="pieter@example.be"),
                dossier.Person(person_id="P2", role="partner", last_name="Peeters",
                               first_name="An", email="An@Example.be"),
                dossier.Person(person_id="P3", role="child", last_name="Dupont",
                               first_name="Lotte")])
        elif method is auth.LIST_DOSSIER_MEMBERS:
            reply = auth.DossierMembers(members=[
                auth.DossierMember(user_id="u-pieter", email="pieter@example.be",
                                   display_name="Pieter Dupont"),
                auth.DossierMember(user_id="u-an", email="an@example.be",
                                   display_name="An Peeters", language="fr")])
        else:
            raise AssertionError(f"unexpected call {method.queue}")
        return method.reply.model_validate(reply.model_dump())

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            key = request.url.path.strip("/")
            if request.method == "PUT":
                self.bodies[key] = request.content
                return httpx.Response(200)
            return httpx.Response(200, content=self.bodies[key])
        return httpx.MockTransport(handle)


@pytest.fixture
def office() -> Office:
    return Office()


@pytest.fixture
async def service(mongo_url: str, database_name: str, office: Office
                  ) -> AsyncIterator[SigningService]:
    built = build(SigningSettings(environment="test", mongo_url=mongo_url,
                                  mongo_db=database_name, reauthenticate_after_seconds=600),
                  rpc=office, http=httpx.AsyncClient(transport=office.transport()))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)


async def call(service: SigningService, method: RpcMethod[RequestT, ReplyT],
               request: BaseModel) -> ReplyT:
    return await call_in_memory(service.runtime.broker, method, request)


async def create(service: SigningService, signers: list[str], **extra: Any
                 ) -> signing.SignatureRequestPublic:
    return await call(service, signing.CREATE_SIGNATURE_REQUEST, signing.CreateSignatureRequest(
        caller=STAFF, dossier_id="D1", document_id="doc1", signer_person_ids=signers, **extra))


async def open_and_sign(service: SigningService, caller: Caller, request_id: str
                        ) -> signing.SignatureOffer:
    await call(service, signing.DOCUMENT_SERVED, signing.DocumentServed(
        caller=caller, dossier_id="D1", document_id="doc1",
        evidence=signing.SigningEvidence(client_ip="192.0.2.7", device="Firefox on Linux")))
    return await call(service, signing.SIGN, signing.SignRequest(
        caller=caller, signature_request_id=request_id, approved=True,
        authenticated_at=utc_now() - timedelta(minutes=1)))


async def wait_for_state(service: SigningService, request_id: str,
                         state: signing.RequestState) -> signing.SignatureRequestPublic:
    for _ in range(200):
        found = await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
            caller=STAFF, signature_request_id=request_id))
        if found.state is state:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {found.state}: {found.problem}")


async def test_a_dossier_without_signature_requests_has_nothing_to_sign(
    service: SigningService,
) -> None:
    query = signing.DocumentsToSignQuery(caller=PIETER, dossier_id="D1")
    reply = await call(service, signing.LIST_DOCUMENTS_TO_SIGN, query)
    assert reply.documents == []


async def test_another_clients_dossier_is_not_found(service: SigningService) -> None:
    query = signing.DocumentsToSignQuery(caller=PIETER, dossier_id="D2")
    with pytest.raises(NotFound):
        await call(service, signing.LIST_DOCUMENTS_TO_SIGN, query)


async def test_two_signers_sign_and_the_sealed_pdf_becomes_a_document(
    service: SigningService, office: Office,
) -> None:
    created = await create(service, ["P1", "P2"], note="Graag tekenen")
    assert created.message == "Graag tekenen"
    assert [s.state for s in created.signers] == ["sent", "sent"]
    assert all(s.mailed_at is not None for s in created.signers)  # unordered: both mailed
    listed = await call(service, signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=AN, dossier_id="D1"))
    assert [d.title for d in listed.documents] == ["Klantenfiche"]

    first = await open_and_sign(service, PIETER, created.signature_request_id)
    assert first.signer.state == "signed" and first.request.state == "open"
    # Pieter no longer has it to sign; An still does.
    assert (await call(service, signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=PIETER, dossier_id="D1"))).documents == []

    last = await open_and_sign(service, AN, created.signature_request_id)
    assert last.request.state in ("sealing", "awaiting_broker")
    done = await wait_for_state(service, created.signature_request_id,
                                signing.RequestState.AWAITING_BROKER)
    assert done.signed_document_id in office.uploaded
    signed_pdf = office.bodies[done.signed_document_id]
    assert signed_pdf.startswith(ORIGINAL)  # the original, then the evidence and the seal

    verification = await call(service, signing.VERIFY, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=created.signature_request_id))
    assert verification.chain.intact, verification.chain.problems
    assert verification.pdf is not None and verification.pdf.intact and verification.pdf.trusted
    trail = await call(service, signing.GET_AUDIT_TRAIL, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=created.signature_request_id))
    assert [r.kind.value for r in trail.records] == [
        "requested", "mailed", "mailed", "opened", "signed", "opened", "signed", "completed"]

    # Signing twice: 409, and the request is as it was.
    with pytest.raises(Conflict):
        await open_and_sign(service, AN, created.signature_request_id)


async def test_a_signer_asking_to_wait_is_answered_once_the_signed_pdf_is_made(
    service: SigningService,
) -> None:
    created = await create(service, ["P1", "P2"])
    waiting = signing.SignatureRequestQuery(caller=PIETER, wait_for_seal_seconds=10,
                                            signature_request_id=created.signature_request_id)
    started = time.monotonic()
    first = await call(service, signing.GET_OFFER, waiting)  # open, not being sealed: at once
    assert first.request.state == "open" and time.monotonic() - started < 5

    await open_and_sign(service, PIETER, created.signature_request_id)
    last = await open_and_sign(service, AN, created.signature_request_id)
    assert last.request.state in ("sealing", "awaiting_broker")
    offer = await call(service, signing.GET_OFFER, waiting)
    assert offer.request.state == "awaiting_broker" and offer.signer.state == "signed"
    assert offer.request.signed_document_id is not None


async def test_in_an_ordered_request_the_second_signer_waits_for_the_first(
    service: SigningService,
) -> None:
    created = await create(service, ["P2", "P1"], ordered=True)
    assert [(s.person_id, s.mailed_at is not None) for s in created.signers] == [
        ("P2", True), ("P1", False)]
    assert (await call(service, signing.LIST_DOCUMENTS_TO_SIGN, signing.DocumentsToSignQuery(
        caller=PIETER, dossier_id="D1"))).documents == []
    with pytest.raises(Conflict) as refused:
        await open_and_sign(service, PIETER, created.signature_request_id)
    assert refused.value.fields == {"reason": "not_your_turn"}
    await open_and_sign(service, AN, created.signature_request_id)
    offer = await call(service, signing.GET_OFFER, signing.SignatureRequestQuery(
        caller=PIETER, signature_request_id=created.signature_request_id))
    assert offer.may_sign_now and offer.signer.mailed_at is not None  # his turn: mailed now


async def test_signing_needs_the_document_opened_the_tick_and_a_recent_login(
    service: SigningService,
) -> None:
    created = await create(service, ["P1"])
    request_id = created.signature_request_id
    with pytest.raises(Invalid) as not_opened:
        await call(service, signing.SIGN, signing.SignRequest(
            caller=PIETER, signature_request_id=request_id, approved=True,
            authenticated_at=utc_now()))
    assert not_opened.value.fields == {"reason": "not_opened"}
    await call(service, signing.DOCUMENT_SERVED, signing.DocumentServed(
        caller=PIETER, dossier_id="D1", document_id="doc1"))
    with pytest.raises(Invalid):
        await call(service, signing.SIGN, signing.SignRequest(
            caller=PIETER, signature_request_id=request_id, approved=False,
            authenticated_at=utc_now()))
    with pytest.raises(Forbidden) as stale:
        await call(service, signing.SIGN, signing.SignRequest(
            caller=PIETER, signature_request_id=request_id, approved=True,
            authenticated_at=utc_now() - timedelta(hours=1)))
    assert stale.value.fields == {"reason": "reauthentication_required"}


async def test_a_document_not_offered_to_you_is_not_found(service: SigningService) -> None:
    created = await create(service, ["P1"])
    for caller in (AN, STRANGER):
        with pytest.raises(NotFound):
            await call(service, signing.SIGN, signing.SignRequest(
                caller=caller, signature_request_id=created.signature_request_id,
                approved=True, authenticated_at=utc_now()))
    with pytest.raises(NotFound):
        await call(service, signing.GET_OFFER, signing.SignatureRequestQuery(
            caller=PIETER, signature_request_id="nope"))


async def test_a_cancelled_request_is_gone_and_a_refusal_ends_the_request(
    service: SigningService,
) -> None:
    cancelled = await create(service, ["P1"])
    after = await call(service, signing.CANCEL_SIGNATURE_REQUEST, signing.CancelSignatureRequest(
        caller=STAFF, signature_request_id=cancelled.signature_request_id, reason="wrong file"))
    assert after.state == "cancelled"
    with pytest.raises(Gone):
        await open_and_sign(service, PIETER, cancelled.signature_request_id)

    refused = await create(service, ["P1", "P2"])
    offer = await call(service, signing.REFUSE, signing.RefuseSignatureRequest(
        caller=AN, signature_request_id=refused.signature_request_id, reason="Not my address"))
    assert offer.request.state == "refused" and offer.signer.refusal_reason == "Not my address"
    with pytest.raises(Gone):
        await open_and_sign(service, PIETER, refused.signature_request_id)


async def outbox_events(service: SigningService, request_id: str, routing_key: str
                        ) -> list[dict[str, Any]]:
    stored = await service.runtime.database[SIGNATURE_REQUESTS].find_one({"_id": request_id})
    assert stored is not None
    return [entry["payload"] for entry in stored.get(OUTBOX_FIELD, {}).values()
            if entry["routing_key"] == routing_key]


async def test_a_cancellation_names_the_signers_still_to_sign_and_a_refusal_the_refuser(
    service: SigningService,
) -> None:
    both = await create(service, ["P1", "P2"])
    await open_and_sign(service, PIETER, both.signature_request_id)
    await call(service, signing.CANCEL_SIGNATURE_REQUEST, signing.CancelSignatureRequest(
        caller=STAFF, signature_request_id=both.signature_request_id))
    [cancelled] = await outbox_events(service, both.signature_request_id,
                                      signing.SignatureCancelled.routing_key)
    # Pieter signed already: only An hears of it.
    assert [r["user_id"] for r in cancelled["recipients"]] == ["u-an"]

    ordered = await create(service, ["P1", "P2"], ordered=True)
    await call(service, signing.CANCEL_SIGNATURE_REQUEST, signing.CancelSignatureRequest(
        caller=STAFF, signature_request_id=ordered.signature_request_id))
    [cancelled] = await outbox_events(service, ordered.signature_request_id,
                                      signing.SignatureCancelled.routing_key)
    # An's turn never came: she was never asked, so she is not told either.
    assert [r["user_id"] for r in cancelled["recipients"]] == ["u-pieter"]

    refused = await create(service, ["P2"])
    await call(service, signing.REFUSE, signing.RefuseSignatureRequest(
        caller=AN, signature_request_id=refused.signature_request_id, reason="Not my address"))
    [event] = await outbox_events(service, refused.signature_request_id,
                                  signing.SignatureRefused.routing_key)
    assert event["signer_name"] == "An Peeters" and event["title"] == "Klantenfiche"


async def test_a_person_without_an_account_or_of_another_dossier_cannot_be_a_signer(
    service: SigningService,
) -> None:
    with pytest.raises(Invalid) as no_account:
        await create(service, ["P3"])
    assert "signer_person_ids" in (no_account.value.fields or {})
    with pytest.raises(Invalid):
        await create(service, ["P9"])
    with pytest.raises(Forbidden):
        await call(service, signing.CREATE_SIGNATURE_REQUEST, signing.CreateSignatureRequest(
            caller=PIETER, dossier_id="D1", document_id="doc1", signer_person_ids=["P1"]))


async def test_the_periodic_job_reminds_and_expires(service: SigningService) -> None:
    created = await create(service, ["P1"])
    requests = service.runtime.database[SIGNATURE_REQUESTS]
    stored = await requests.find_one({"_id": created.signature_request_id})
    assert stored is not None
    stored["signers"][0]["mailed_at"] = (utc_now() - timedelta(days=4)).isoformat()
    await requests.update_one({"_id": created.signature_request_id},
                              {"$set": {"signers": stored["signers"]}})
    await service.handlers.check_requests()
    reminded = await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=created.signature_request_id))
    assert reminded.signers[0].reminders == 1
    await service.handlers.check_requests()  # not again before the next interval
    assert (await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=created.signature_request_id))).signers[0].reminders == 1

    overdue = await create(service, ["P2"], due_date=office_day(utc_now()))
    await requests.update_one({"_id": overdue.signature_request_id},
                              {"$set": {"due_date": "2020-01-01"}})
    await service.handlers.check_requests()
    expired = await call(service, signing.GET_SIGNATURE_REQUEST, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=overdue.signature_request_id))
    assert expired.state == "expired" and expired.signers[0].state == "expired"


async def test_a_changed_audit_record_is_detected(service: SigningService) -> None:
    created = await create(service, ["P1"])
    request_id = created.signature_request_id
    await call(service, signing.DOCUMENT_SERVED, signing.DocumentServed(
        caller=PIETER, dossier_id="D1", document_id="doc1"))
    check = await call(service, signing.VERIFY, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=request_id))
    assert check.chain.intact and check.chain.records == 3
    await service.runtime.database[AUDIT_RECORDS].update_one(
        {"signature_request_id": request_id, "seq": 2}, {"$set": {"actor": "service:signinG"}})
    check = await call(service, signing.VERIFY, signing.SignatureRequestQuery(
        caller=STAFF, signature_request_id=request_id))
    assert not check.chain.intact and check.chain.problems == ["record 2 was changed"]


async def copy_to_dossier(service: SigningService, request_id: str, dossier_id: str) -> str:
    """A copy of a stored request in another dossier (the office stand-in knows one dossier)."""
    requests = service.runtime.database[SIGNATURE_REQUESTS]
    stored = await requests.find_one({"_id": request_id})
    assert stored is not None
    copy_id = f"{request_id[:-4]}{dossier_id[-1]}cpy"
    await requests.insert_one({**stored, "_id": copy_id, "dossier_id": dossier_id,
                               "list_key": list_key(stored_utc(stored["requested_at"]), copy_id)})
    return copy_id


async def test_the_office_walks_the_list_by_its_cursors_newest_first(
    service: SigningService,
) -> None:
    made = [(await create(service, ["P1"])).signature_request_id for _ in range(5)]
    other = await copy_to_dossier(service, made[0], "D2")
    query = signing.ListSignatureRequestsQuery(caller=STAFF, dossier_id="D1", page_size=2)
    walked: list[tuple[str, str]] = []
    while True:
        page = await call(service, signing.LIST_SIGNATURE_REQUESTS, query)
        walked += [(request.requested_at.isoformat(), request.signature_request_id)
                   for request in page.requests]
        assert page.total == 5 and len(page.requests) <= 2
        if page.next_cursor is None:
            break
        query = query.model_copy(update={"cursor": page.next_cursor})
    assert sorted(walked, reverse=True) == walked  # newest first; ties by id
    assert sorted(request_id for _, request_id in walked) == sorted(made)
    everyone = await call(service, signing.LIST_SIGNATURE_REQUESTS,
                          signing.ListSignatureRequestsQuery(caller=STAFF))
    assert {request.signature_request_id for request in everyone.requests} == {*made, other}


async def test_a_cursor_of_other_filters_is_refused(service: SigningService) -> None:
    for _ in range(3):
        await create(service, ["P1"])
    first = await call(service, signing.LIST_SIGNATURE_REQUESTS,
                       signing.ListSignatureRequestsQuery(caller=STAFF, page_size=1))
    assert first.next_cursor is not None
    for other in ({"dossier_id": "D1"}, {"state": signing.RequestState.OPEN}):
        with pytest.raises(Invalid) as refused:
            await call(service, signing.LIST_SIGNATURE_REQUESTS, signing.ListSignatureRequestsQuery(
                caller=STAFF, page_size=1, cursor=first.next_cursor, **other))
        assert refused.value.fields == {"cursor": "not a cursor of this list"}


async def test_requests_stored_before_the_list_key_are_keyed_and_listed(
    service: SigningService,
) -> None:
    made = [(await create(service, ["P1"])).signature_request_id for _ in range(3)]
    await service.runtime.database[SIGNATURE_REQUESTS].update_many(
        {}, {"$unset": {"list_key": ""}})
    await service.store.ensure_indexes()
    listed = await call(service, signing.LIST_SIGNATURE_REQUESTS,
                        signing.ListSignatureRequestsQuery(caller=STAFF))
    assert sorted(request.signature_request_id for request in listed.requests) == sorted(made)
