""""Mijn aanvragen" and the message pages on fake services: what the client sees and what the
gateway sends the requests service (manual 3.2 and 6)."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from libs.contracts import documents, dossier, requests
from libs.contracts.envelope import utc_now
from libs.servicekit.errors import Conflict, NotFound
from tests.service.gateway_support import (
    STORE,
    Gateway,
    household_rpc,
    published,
    run_gateway,
    sample_contracts,
)
from tests.service.test_gateway_pages import csrf, sign_in

MIB = 1024 * 1024
SENT_AT = datetime(2026, 11, 12, 9, 30, tzinfo=UTC)
CONFIRMATION = "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar."


def summary(request_id: str, status: str, *, unread: bool = False, subject: str = "Vraag",
            kind: str = "message") -> requests.RequestSummary:
    return requests.RequestSummary(request_id=request_id, dossier_id="D1", kind=kind,
                                   subject=subject, status=status, sent_at=SENT_AT,
                                   unread_by_client=unread, sent_by="u1",
                                   answered_at=SENT_AT if status == "accepted" else None)


def thread(request_id: str = "R1", *, status: str = "in_progress", form: dict[str, object]
           | None = None, kind: str = "message") -> requests.RequestPublic:
    return requests.RequestPublic(
        request_id=request_id, dossier_id="D1", kind=kind, subject="Vraag over mijn polis",
        body="Dekt mijn omnium hagelschade?", status=status, sent_by="u1", sent_at=SENT_AT,
        form=form, target_at=datetime(2026, 11, 16, 17, 0, tzinfo=UTC),
        entries=[
            requests.ThreadEntry(entry_id="e1", author=requests.EntryAuthor.CLIENT,
                                 author_id="u1", author_name="An Peeters",
                                 body="Dekt mijn omnium hagelschade?", at=SENT_AT),
            requests.ThreadEntry(entry_id="e2", author=requests.EntryAuthor.OFFICE,
                                 author_id="s1", author_name="Kantoor Jansen",
                                 body="Ja, met een vrijstelling van 250 euro.", at=utc_now(),
                                 attachments=[requests.AttachmentRef(
                                     document_id="doc7", filename="voorwaarden.pdf",
                                     size=120_000)])],
        timeline=[requests.TimelineStep(step=requests.TimelineStepKind.SENT, at=SENT_AT),
                  requests.TimelineStep(step=requests.TimelineStepKind.TAKEN, at=utc_now(),
                                        by_name="Kantoor Jansen")])


@pytest.fixture(name="gateway")
def gateway_fixture(tmp_path: Path) -> Iterator[Gateway]:
    counter = iter(range(1000))
    filenames: dict[str, str] = {}

    def begin(request: BaseModel) -> documents.UploadSlot:
        assert isinstance(request, documents.BeginUploadRequest)
        number = next(counter)
        filenames[f"att{number}"] = request.filename
        return documents.UploadSlot(document_id=f"att{number}", max_size=2 * MIB,
                                    upload_url=f"{STORE}/att{number}?X-Amz-Signature=a")

    def complete(request: BaseModel) -> documents.DocumentPublic:
        assert isinstance(request, documents.CompleteUploadRequest)
        return published(request.document_id, size=request.size, sha256=request.sha256,
                         filename=filenames[request.document_id])

    rpc = household_rpc()
    rpc.answer(documents.BEGIN_UPLOAD, begin)
    rpc.answer(documents.COMPLETE_UPLOAD, complete)
    rpc.answer(requests.LIST_REQUESTS, requests.RequestList(requests=[
        summary("R1", "pending"), summary("R2", "accepted", unread=True, subject=""),
        summary("R3", "in_progress", unread=True)]))
    rpc.answer(requests.GET_REQUEST, thread())
    rpc.answer(requests.FIND_RESUBMITTED, NotFound("No request was sent with this key."))
    for gateway in run_gateway(tmp_path, rpc):
        sign_in(gateway, user_id="u1", dossiers=("D1", "D2"))
        yield gateway


def test_my_requests_lists_every_request_with_its_status_and_the_unread_answer(
    gateway: Gateway,
) -> None:
    page = gateway.client.get("/requests?dossier=D1")
    assert page.status_code == 200
    assert "<h1>Mijn aanvragen</h1>" in page.text
    assert "In afwachting" in page.text and "Aanvaard" in page.text
    assert page.text.count("Nieuw antwoord") == 1  # R2's answer is unread
    assert page.text.count("Bijgewerkt") == 1  # R3 was taken in progress, not answered yet
    assert 'sse-connect="/requests/events?dossier=D1"' in page.text
    for label in ("Alle", "In behandeling", "Geweigerd", "Afgesloten"):
        assert f">{label}</a>" in page.text


def test_a_status_filter_asks_the_service_for_that_status_only(gateway: Gateway) -> None:
    gateway.client.get("/requests?status=refused&dossier=D1")
    gateway.client.get("/requests?status=$where&dossier=D1")  # not a filter: all of them
    asked = [query.status for query in gateway.rpc.called(requests.LIST_REQUESTS)
             if isinstance(query, requests.ListRequestsQuery)]
    assert asked == ["refused", None]


def test_the_detail_shows_the_thread_its_attachment_the_timeline_and_the_target(
    gateway: Gateway,
) -> None:
    page = gateway.client.get("/requests/R1?dossier=D1")
    assert page.status_code == 200
    text = page.text
    assert "Dekt mijn omnium hagelschade?" in text
    assert "Ja, met een vrijstelling van 250 euro." in text
    assert 'href="/documents/doc7?dossier=D1"' in text
    assert "In behandeling genomen" in text and "Ons streefdoel voor een eerste antwoord" in text
    assert 'hx-trigger="sse:request-R1, requests-resync from:body"' in text
    [opened] = gateway.rpc.called(requests.GET_REQUEST)
    assert isinstance(opened, requests.GetRequestQuery) and opened.mark_read  # read now


def test_a_form_is_shown_readably_with_old_and_new_values(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.GET_REQUEST, thread(kind="personal_data", status="accepted", form={
        "person_id": "P1", "person_name": "An Peeters", "changes": [
            {"field": "phone", "old": "+32 470 00 00 00", "new": "+32 470 11 22 33"}],
        "birth_date": "1980-02-29", "person_before": {"person_id": "P1"}}))
    text = gateway.client.get("/requests/R1?dossier=D1").text
    assert "Persoonlijke gegevens wijzigen" in text
    assert "+32 470 00 00 00 → +32 470 11 22 33" in text
    assert "29 feb 1980" in text
    assert "person_before" not in text and "P1" not in text
    assert "zichtbaar na de volgende bijwerking door uw makelaar" in text


def test_another_clients_request_is_not_found(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.GET_REQUEST, NotFound("This request does not exist."))
    page = gateway.client.get("/requests/R9?dossier=D1")
    assert page.status_code == 404
    assert gateway.client.get("/requests/R1?dossier=D9").status_code == 404  # not granted


def test_a_link_without_its_dossier_opens_the_request_in_the_clients_other_dossier(
    gateway: Gateway,
) -> None:
    def get_request(query: BaseModel) -> requests.RequestPublic:
        assert isinstance(query, requests.GetRequestQuery)
        if query.dossier_id != "D2":
            raise NotFound("This request does not exist.")
        return thread().model_copy(update={"dossier_id": "D2"})

    gateway.rpc.answer(requests.GET_REQUEST, get_request)
    page = gateway.client.get("/requests/R1")
    assert page.status_code == 200 and "Dekt mijn omnium hagelschade?" in page.text
    assert gateway.client.cookies.get("mb_dossier") == "D2"  # the active dossier now
    assert gateway.client.get("/requests/R1?dossier=D1").status_code == 404  # named: only there


def reply(gateway: Gateway, body: str,
          files: list[tuple[str, bytes]] | None = None) -> httpx.Response:
    response: httpx.Response = gateway.client.post(
        "/requests/R1/replies?dossier=D1", data={"body": body, "csrf_token": csrf(gateway)},
        files=[("file", (name, content, "application/pdf")) for name, content in files or []]
        or [("file", ("", b"", "application/octet-stream"))])
    return response


def test_a_reply_with_a_file_goes_to_the_request_with_its_document(gateway: Gateway) -> None:
    gateway.rpc.answer(requests.REPLY, thread())
    answer = reply(gateway, "Hier is de foto.", [("hagel.pdf", b"%PDF-1.4 hagel")])
    assert answer.status_code == 303
    assert answer.headers["location"] == "/requests/R1?replied=1&dossier=D1#thread"
    [begun] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begun, documents.BeginUploadRequest)
    assert begun.context == documents.DocumentContext(kind=documents.ContextKind.REQUEST,
                                                      ref_id="R1")
    [sent] = gateway.rpc.called(requests.REPLY)
    assert isinstance(sent, requests.ReplyCommand)
    assert sent.body == "Hier is de foto." and [a.filename for a in sent.attachments] == [
        "hagel.pdf"]


def test_a_reply_to_a_closed_thread_keeps_the_text_and_says_a_new_message_is_needed(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(requests.REPLY, Conflict("This conversation is closed."))
    answer = reply(gateway, "Nog een vraag")
    assert answer.status_code == 409
    assert "Dit gesprek is afgesloten; stuur een nieuw bericht." in answer.text
    assert ">Nog een vraag</textarea>" in answer.text


def test_a_refused_file_never_loses_the_typed_reply(gateway: Gateway) -> None:
    answer = reply(gateway, "Mijn lange uitleg", [("groot.pdf", b"x" * (2 * MIB + 1))])
    assert answer.status_code == 413
    assert ">Mijn lange uitleg</textarea>" in answer.text
    assert "groter dan 2 MB" in answer.text
    assert gateway.rpc.called(requests.REPLY) == []


def test_a_new_message_from_a_contract_has_its_subject_and_number_prefilled(
    gateway: Gateway,
) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, lambda query: dossier.ContractDetail(
        dossier_id="D1", contract=household_contract(), risk_objects=[], claims=[],
        invoices=[]))
    page = gateway.client.get("/messages/new?about=contract:c1&dossier=D1")
    assert page.status_code == 200
    assert 'value="Autoverzekering – AUTO-2024-0001"' in page.text
    assert "Contractnummer" in page.text and 'value="AUTO-2024-0001" readonly' in page.text
    assert 'name="about" value="contract:c1"' in page.text


def test_a_message_about_another_dossiers_contract_is_not_found(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, NotFound("This contract does not exist."))
    assert gateway.client.get("/messages/new?about=contract:X9&dossier=D1").status_code == 404
    assert gateway.client.get("/messages/new?about=nonsense:1&dossier=D1").status_code == 404


def household_contract() -> dossier.Contract:
    """The household's car contract c1 (AUTO-2024-0001, Autoverzekering)."""
    return sample_contracts().contracts[0]


def send(gateway: Gateway, key: str, files: list[tuple[str, bytes]] | None = None,
         **fields: str) -> httpx.Response:
    response: httpx.Response = gateway.client.post("/messages/new?dossier=D1", data={
        "subject": "Vraag", "body": "Mijn vraag", "about": "general", "idempotency_key": key,
        "csrf_token": csrf(gateway), **fields},
        files=[("file", (name, content, "image/jpeg")) for name, content in files or []]
        or [("file", ("", b"", "application/octet-stream"))])
    return response


def test_a_message_with_files_ends_on_the_manuals_confirmation(gateway: Gateway) -> None:
    stored: list[requests.SendMessageRequest] = []

    def send_message(request: BaseModel) -> requests.RequestPublic:
        assert isinstance(request, requests.SendMessageRequest)
        stored.append(request)
        return thread(request.request_id or "?", status="pending")

    gateway.rpc.answer(requests.SEND_MESSAGE, send_message)
    answer = send(gateway, "key-1234567890", [("foto1.jpg", b"\xff\xd8" * 100),
                                              ("foto2.jpg", b"\xff\xd8" * 200)])
    assert answer.status_code == 303, answer.text
    [message] = stored
    assert message.idempotency_key == "key-1234567890" and message.request_id
    assert [a.size for a in message.attachments] == [200, 400]
    begun = [b for b in gateway.rpc.called(documents.BEGIN_UPLOAD)
             if isinstance(b, documents.BeginUploadRequest)]
    assert {b.context.ref_id for b in begun} == {message.request_id}  # the request's context
    gateway.rpc.answer(requests.GET_REQUEST, thread(message.request_id, status="pending"))
    confirmation = gateway.client.get(answer.headers["location"])
    assert CONFIRMATION in confirmation.text


def test_the_same_form_sent_twice_makes_one_message(gateway: Gateway) -> None:
    sent: dict[str, str] = {}  # idempotency key -> request id

    def find_resubmitted(query: BaseModel) -> requests.RequestPublic:
        assert isinstance(query, requests.FindResubmittedQuery)
        if query.idempotency_key not in sent:
            raise NotFound("not yet")
        return thread(sent[query.idempotency_key], status="pending")

    def send_message(request: BaseModel) -> requests.RequestPublic:
        assert isinstance(request, requests.SendMessageRequest) and request.request_id
        sent[request.idempotency_key or ""] = request.request_id
        return thread(request.request_id, status="pending")

    gateway.rpc.answer(requests.FIND_RESUBMITTED, find_resubmitted)
    gateway.rpc.answer(requests.SEND_MESSAGE, send_message)
    first = send(gateway, "double-click-1", [("foto.jpg", b"\xff\xd8" * 10)])
    second = send(gateway, "double-click-1", [("foto.jpg", b"\xff\xd8" * 10)])
    assert first.headers["location"] == second.headers["location"]
    assert len(sent) == 1
    assert len(gateway.rpc.called(documents.BEGIN_UPLOAD)) == 1  # the file once too
    # The page's script also sends the key as a header: the resend is known before its files.
    uploads_before = len(gateway.rpc.called(documents.BEGIN_UPLOAD))
    third = gateway.client.post("/messages/new?dossier=D1", headers={
        "Idempotency-Key": "double-click-1"}, content=b"never read")
    assert third.status_code == 303 and third.headers["location"] == first.headers["location"]
    assert len(gateway.rpc.called(documents.BEGIN_UPLOAD)) == uploads_before


def test_a_message_without_a_subject_comes_back_with_the_text_kept(gateway: Gateway) -> None:
    answer = send(gateway, "key-2", subject="  ", body="Mijn uitgebreide vraag")
    assert answer.status_code == 422
    assert "Geef een onderwerp in." in answer.text
    assert ">Mijn uitgebreide vraag</textarea>" in answer.text
    assert 'value="key-2"' in answer.text  # the same form: still one message when sent again
    assert gateway.rpc.called(requests.SEND_MESSAGE) == []


def test_eleven_files_are_refused_with_the_typed_text_kept(gateway: Gateway) -> None:
    answer = send(gateway, "key-3", [(f"f{n}.jpg", b"\xff\xd8") for n in range(11)],
                  body="Elf foto's")
    assert answer.status_code == 413
    assert ">Elf foto&#39;s</textarea>" in answer.text
    assert "maximaal 10 documenten" in answer.text


def test_a_forged_form_from_another_site_is_refused(gateway: Gateway) -> None:
    answer = gateway.client.post("/messages/new?dossier=D1", data={
        "subject": "x", "body": "y", "csrf_token": "forged"},
        files=[("file", ("", b"", "application/octet-stream"))])
    assert answer.status_code == 403
    assert gateway.rpc.called(requests.SEND_MESSAGE) == []


def test_the_page_stream_is_only_for_the_clients_own_dossiers(gateway: Gateway) -> None:
    assert gateway.client.get("/requests/events?dossier=D9").status_code == 404
    assert gateway.client.get("/api/v1/dossiers/D9/requests/events",
                              headers=gateway.bearer(dossiers=("D1",))).status_code == 404


def test_an_account_past_its_streams_gets_429(gateway: Gateway) -> None:
    hub = gateway.client.app.state.gateway.request_events  # type: ignore[attr-defined]
    for _ in range(hub.per_account):
        hub.open("D1", "u1")
    answer = gateway.client.get("/api/v1/dossiers/D1/requests/events",
                                headers=gateway.bearer(user_id="u1", dossiers=("D1",)))
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "30"


def test_the_contract_page_has_a_new_message_button(gateway: Gateway) -> None:
    gateway.rpc.answer(dossier.GET_CONTRACT, lambda query: dossier.ContractDetail(
        dossier_id="D1", contract=household_contract(), risk_objects=[], claims=[],
        invoices=[]))
    page = gateway.client.get("/contracts/c1?dossier=D1")
    assert re.search(r'href="/messages/new\?about=contract:c1&amp;dossier=D1"[^>]*>Nieuw bericht',
                     page.text), page.text[:3000]
