"""The office's request desk at the gateway (the services are fakes): the inbox with its
filters and pages, the detail of each kind of request, and the actions with readable refusals
that keep what the staff member typed."""

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from libs.contracts import auth, documents, requests
from libs.contracts.caller import Role
from libs.servicekit.errors import Conflict, Invalid
from tests.service.gateway_support import (
    Gateway,
    gateway_fixture,  # noqa: F401 - the `gateway` fixture
    ticket_for,
)
from tests.service.test_gateway_admin_pages import csrf, sign_in_as_staff

SENT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TARGET = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REQUEST_ID = "a" * 32
STAFF = [auth.StaffMember(user_id="staff1", display_name="Els Kantoor"),
         auth.StaffMember(user_id="staff2", display_name="Bob Wuyts")]


def desk_item(request_id: str, **changes: Any) -> requests.DeskItem:
    values: dict[str, Any] = {
        "request_id": request_id, "dossier_id": "D1", "kind": "message", "subject": "Vraag",
        "status": "pending", "sent_at": SENT, "target_at": TARGET, "sent_by": "u1",
        "sent_by_name": "An Peeters"}
    values.update(changes)
    return requests.DeskItem.model_validate(values)


def office_request(**changes: Any) -> requests.OfficeRequest:
    values: dict[str, Any] = {
        "request_id": REQUEST_ID, "dossier_id": "D1", "kind": "message",
        "subject": "Groene kaart", "body": "Mag ik een nieuwe groene kaart?",
        "status": "pending", "sent_by": "u1", "sent_by_name": "An Peeters", "sent_at": SENT,
        "target_at": TARGET, "version": 3,
        "entries": [{"entry_id": "e1", "author": "client", "author_id": "u1",
                     "author_name": "An Peeters", "body": "Mag ik een nieuwe groene kaart?",
                     "at": SENT, "attachments": [{"document_id": "doc1",
                                                  "filename": "kaart.jpg", "size": 2048}]}],
        "timeline": [{"step": "sent", "at": SENT, "by_name": "An Peeters"}],
        "notes": [{"note_id": "n1", "author_id": "staff2", "author_name": "Bob Wuyts",
                   "body": "Klant belde ook al.", "at": SENT}]}
    values.update(changes)
    return requests.OfficeRequest.model_validate(values)


def with_desk(gateway: Gateway, *items: requests.DeskItem, next_cursor: str | None = None,
              detail: requests.OfficeRequest | None = None) -> None:
    gateway.rpc.answer(requests.DESK_LIST, requests.DeskPage(
        items=list(items), next_cursor=next_cursor))
    gateway.rpc.answer(auth.LIST_STAFF, auth.StaffDirectory(staff=STAFF))
    gateway.rpc.answer(requests.DESK_GET, detail or office_request())


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_inbox_shows_the_requests_in_the_services_order_with_target_and_badges(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, desk_item("r1", subject="Te laat", overdue=True, unread_by_office=True),
              desk_item("r2", kind="claim", subject="", assignee_id="staff2",
                        assignee_name="Bob Wuyts",
                        about={"kind": "contract", "ref_id": "c1", "label": "AUTO-2024-0001"}))
    page = gateway.client.get("/admin/desk")
    assert page.status_code == 200
    text = visible_text(page.text[page.text.index("desk-rows"):])
    assert text.index("Te laat") < text.index("Schade aangifte")  # the service's order
    first_row = page.text[page.text.index('href="/admin/desk/r1"'):]
    first_row = first_row[:first_row.index("</a>")]
    assert "Nieuw" in first_row and "status-overdue" in first_row
    assert "Te beantwoorden tegen" in visible_text(first_row)
    assert "Toegewezen aan Bob Wuyts" in text and "Contract: AUTO-2024-0001" in text
    [query] = gateway.rpc.called(requests.DESK_LIST)
    assert isinstance(query, requests.DeskQuery)
    assert query.open_only and query.status is None and query.cursor is None


def test_the_filters_reach_the_desk_and_the_next_page_keeps_them(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, desk_item("r1"), next_cursor="signed.cursor")
    page = gateway.client.get("/admin/desk?status=refused&kind=claim&dossier_id=D1"
                              "&assignee=staff2&age=5")
    [query] = gateway.rpc.called(requests.DESK_LIST)
    assert isinstance(query, requests.DeskQuery)
    assert (query.status, query.kind, query.dossier_id, query.assignee,
            query.older_than_days, query.open_only) == ("refused", "claim", "D1", "staff2", 5,
                                                        False)
    next_link = re.search(r'href="([^"]+)" rel="next"|rel="next" href="([^"]+)"', page.text)
    assert next_link is not None
    address = (next_link.group(1) or next_link.group(2)).replace("&amp;", "&")
    assert "cursor=signed.cursor" in address and "kind=claim" in address
    gateway.client.get(address)
    assert gateway.rpc.called(requests.DESK_LIST)[-1].cursor == "signed.cursor"  # type: ignore[attr-defined]


def test_an_outdated_page_link_shows_the_first_page_with_a_notice(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, desk_item("r1"))

    def desk(query: BaseModel) -> requests.DeskPage:
        assert isinstance(query, requests.DeskQuery)
        if query.cursor:
            raise Invalid("not a cursor of this list", fields={"cursor": "refused"})
        return requests.DeskPage(items=[desk_item("r1")])

    gateway.rpc.answer(requests.DESK_LIST, desk)
    page = gateway.client.get("/admin/desk?cursor=edited")
    assert page.status_code == 200
    assert "Die paginalink is niet meer geldig" in page.text
    assert 'href="/admin/desk/r1"' in page.text


def test_a_typed_dossier_that_cannot_be_a_number_is_said_beside_the_field(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    page = gateway.client.get("/admin/desk", params={"dossier_id": "DOS 1'"})
    assert page.status_code == 422
    assert "aria-invalid" in page.text and "DOS 1&#39;" in page.text
    assert gateway.rpc.called(requests.DESK_LIST) == []


def test_a_client_cannot_open_the_desk(gateway: Gateway) -> None:
    gateway.rpc.answer(auth.LOG_IN, gateway.key.pair())
    gateway.client.post("/login", data={"email": "an@example.be", "password": "x" * 12,
                                        "csrf_token": csrf(gateway)})
    with_desk(gateway, desk_item("r1"))
    assert gateway.client.get("/admin/desk").status_code == 403
    assert gateway.client.get(f"/admin/desk/{REQUEST_ID}").status_code == 403
    assert gateway.rpc.called(requests.DESK_LIST) == []
    assert gateway.rpc.called(requests.DESK_GET) == []


def test_the_menu_counts_the_unread_requests(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, desk_item("r1", unread_by_office=True),
              desk_item("r3", unread_by_office=True, status="accepted"))
    assert 'hx-get="/admin/desk/new-count"' in gateway.client.get("/admin/desk").text
    badge = gateway.client.get("/admin/desk/new-count")
    assert visible_text(badge.text) == "2 ongelezen"
    query = gateway.rpc.called(requests.DESK_LIST)[-1]
    assert isinstance(query, requests.DeskQuery) and query.unread_only and query.limit == 99
    with_desk(gateway, *(desk_item(f"r{n}", unread_by_office=True) for n in range(99)),
              next_cursor="more")
    assert visible_text(gateway.client.get("/admin/desk/new-count").text) == "99+ ongelezen"
    with_desk(gateway)
    assert gateway.client.get("/admin/desk/new-count").text.strip() == ""


def test_a_message_shows_what_the_client_sent_the_notes_and_the_timeline(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    page = gateway.client.get(f"/admin/desk/{REQUEST_ID}")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Mag ik een nieuwe groene kaart?" in text
    assert f'href="/admin/dossiers/D1/documents/doc1?back=/admin/desk/{REQUEST_ID}"' in page.text
    assert "nooit getoond aan de klant" in text and "Klant belde ook al." in text
    assert "Verzonden door de klant" in text  # the timeline
    [query] = gateway.rpc.called(requests.DESK_GET)
    assert isinstance(query, requests.DeskGetQuery) and query.mark_read  # read by the office


def test_a_change_of_personal_data_shows_old_and_new_side_by_side(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, detail=office_request(kind="personal_data", subject="", form={
        "person_id": "p1", "person_name": "An Peeters", "changes": [
            {"field": "last_name", "old": "Peeters", "new": "Peeters-Claes"},
            {"field": "birth_date", "old": "1985-07-30", "new": "1985-07-31"},
            {"field": "phone", "old": None, "new": "+32 470 12 34 56"}]}))
    page = gateway.client.get(f"/admin/desk/{REQUEST_ID}")
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td class=\"desk-old\">(.*?)</td>"
                      r"<td class=\"desk-new\"><span aria-hidden=\"true\">→ </span>(.*?)</td>",
                      page.text)
    assert rows == [("Naam", "Peeters", "Peeters-Claes"),
                    ("Geboortedatum", "30 jul 1985", "31 jul 1985"),
                    ("Telefoon", "—", "+32 470 12 34 56")]
    assert "<h1>Persoonlijke gegevens wijzigen</h1>" in page.text


def test_a_claim_shows_its_risk_objects_the_loss_and_its_documents(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, detail=office_request(kind="claim", subject="", form={
        "general": {"last_name": "Peeters", "first_name": "An", "phone": "+32 470 12 34 56"},
        "risk_object_ids": ["r1"], "risk_objects": [
            {"risk_object_id": "r1", "kind": "vehicle", "description": "VW Golf 1-ABC-123"}],
        "other_risk_description": "De paal van de buren", "loss_date": "2026-11-28",
        "loss_time": "17:45:00", "description": "Achteruit tegen een paal gereden.",
        "vat_liable": True, "police_report_number": "AN.12.L3.012345/26",
        "declaration_document_id": "decl1", "policy_number": "AUTO-2024-0001",
        "attachments": [{"document_id": "foto1", "filename": "achterkant.jpg",
                         "size": 1000, "description": "De deuk"}]}))
    text = visible_text(gateway.client.get(f"/admin/desk/{REQUEST_ID}").text)
    for shown in ("VW Golf 1-ABC-123", "De paal van de buren", "28 nov 2026", "17:45",
                  "Achteruit tegen een paal gereden.", "Btw-plichtige Ja",
                  "AN.12.L3.012345/26", "Schade aangifte (pdf)", "achterkant.jpg De deuk",
                  "AUTO-2024-0001"):
        assert shown in text, shown


def test_taking_a_request_sends_the_version_shown_and_says_so(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    gateway.rpc.answer(requests.TAKE, office_request(status="in_progress"))
    page = gateway.client.get(f"/admin/desk/{REQUEST_ID}")
    assert f'action="/admin/desk/{REQUEST_ID}/take"' in page.text
    response = gateway.client.post(f"/admin/desk/{REQUEST_ID}/take", data={
        "version": "3", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [command] = gateway.rpc.called(requests.TAKE)
    assert isinstance(command, requests.TakeCommand)
    assert (command.caller.user_id, command.version, command.staff_name) == (
        "staff1", 3, "Els Kantoor")
    assert "U nam de aanvraag in behandeling" in gateway.client.get(
        response.headers["location"]).text


def test_refusing_without_a_reason_keeps_the_page_and_calls_nothing(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/status", data={
        "status": "refused", "reason": "  ", "version": "3", "csrf_token": csrf(gateway)})
    assert page.status_code == 422
    assert "Geef de reden van de weigering" in page.text
    assert gateway.rpc.called(requests.SET_STATUS) == []


def test_an_illegal_move_shows_a_readable_message_with_the_current_status(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, detail=office_request(status="accepted", version=3))
    gateway.rpc.answer(requests.SET_STATUS, Conflict("accepted -> pending"))
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/status", data={
        "status": "pending", "version": "3", "csrf_token": csrf(gateway)})
    assert page.status_code == 409
    assert "Dit kan niet voor een aanvraag die “Aanvaard” is." in page.text


def test_an_answer_refused_because_the_request_changed_keeps_the_typed_text(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, detail=office_request(version=4))
    gateway.rpc.answer(requests.ANSWER, Conflict("version"))
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/answer", data={
        "csrf_token": csrf(gateway), "version": "3", "body": "Uw kaart is onderweg.",
        "status": "", "reason": ""}, files={"file": ("", b"", "application/octet-stream")})
    assert page.status_code == 409
    assert "veranderde sinds u ze opende" in page.text
    assert ">Uw kaart is onderweg.</textarea>" in page.text
    [command] = gateway.rpc.called(requests.ANSWER)
    assert isinstance(command, requests.AnswerCommand) and command.attachments == []


def completed(request: BaseModel) -> documents.DocumentPublic:
    assert isinstance(request, documents.CompleteUploadRequest)
    return documents.DocumentPublic(
        document_id=request.document_id, dossier_id="D1", title="antwoord.pdf",
        filename="antwoord.pdf", content_type="application/pdf", size=request.size,
        sha256=request.sha256, uploaded_by="staff1", uploaded_at=SENT)


def test_an_answer_with_a_file_stores_it_in_the_requests_context_and_accepts(
    gateway: Gateway,
) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    gateway.rpc.answer(documents.BEGIN_UPLOAD, documents.UploadSlot(
        document_id="doc7", upload_url="http://s3.test/mybroker-documents/doc7",
        max_size=2 * 1024 * 1024))
    gateway.rpc.answer(documents.COMPLETE_UPLOAD, completed)
    gateway.rpc.answer(requests.ANSWER, office_request(status="accepted"))
    response = gateway.client.post(f"/admin/desk/{REQUEST_ID}/answer", data={
        "csrf_token": csrf(gateway), "version": "3", "body": "In orde, zie bijlage.",
        "status": "accepted"}, files={"file": ("antwoord.pdf", b"%PDF-1.4 ok\n",
                                               "application/pdf")})
    assert response.status_code == 303, response.text
    [begun] = gateway.rpc.called(documents.BEGIN_UPLOAD)
    assert isinstance(begun, documents.BeginUploadRequest)
    assert (begun.dossier_id, begun.context.kind, begun.context.ref_id) == (
        "D1", "request", REQUEST_ID)
    [command] = gateway.rpc.called(requests.ANSWER)
    assert isinstance(command, requests.AnswerCommand)
    assert command.body == "In orde, zie bijlage." and command.status == "accepted"
    assert [(a.document_id, a.filename) for a in command.attachments] == [
        ("doc7", "antwoord.pdf")]
    assert gateway.store.objects["/mybroker-documents/doc7"] == b"%PDF-1.4 ok\n"


def test_an_answer_to_a_closed_request_stores_no_file(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway, detail=office_request(status="closed"))
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/answer", data={
        "csrf_token": csrf(gateway), "version": "3", "body": "Nog dit."},
        files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert page.status_code == 409
    assert "Deze aanvraag is afgesloten" in page.text
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []
    assert gateway.rpc.called(requests.ANSWER) == []


def test_an_answer_without_the_forms_csrf_field_is_refused(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    csrf(gateway)
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/answer", data={"body": "Hallo"},
                               files={"file": ("", b"", "application/octet-stream")})
    assert page.status_code == 403
    assert gateway.rpc.called(requests.ANSWER) == []


def test_reassigning_names_the_colleague_from_the_staff_list(gateway: Gateway) -> None:
    sign_in_as_staff(gateway, role=Role.AGENT)
    with_desk(gateway)
    gateway.rpc.answer(requests.REASSIGN, office_request(status="in_progress"))
    assert gateway.client.post(f"/admin/desk/{REQUEST_ID}/assign", data={
        "assignee_id": "staff9", "csrf_token": csrf(gateway)}).status_code == 422
    response = gateway.client.post(f"/admin/desk/{REQUEST_ID}/assign", data={
        "assignee_id": "staff2", "version": "3", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [command] = gateway.rpc.called(requests.REASSIGN)
    assert isinstance(command, requests.AssignCommand)
    assert (command.assignee_id, command.assignee_name) == ("staff2", "Bob Wuyts")


def test_a_note_is_saved_and_an_empty_one_is_refused(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    gateway.rpc.answer(requests.ADD_NOTE, office_request())
    assert gateway.client.post(f"/admin/desk/{REQUEST_ID}/notes", data={
        "body": " ", "csrf_token": csrf(gateway)}).status_code == 422
    response = gateway.client.post(f"/admin/desk/{REQUEST_ID}/notes", data={
        "body": "Gebeld met de klant.", "csrf_token": csrf(gateway)})
    assert response.status_code == 303
    [command] = gateway.rpc.called(requests.ADD_NOTE)
    assert isinstance(command, requests.AddNoteCommand) and command.body == "Gebeld met de klant."


def test_staff_open_a_clients_attachment_in_their_viewer(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    ticket_for(gateway, b"%PDF-1.4 de deuk\n")
    page = gateway.client.get(f"/admin/dossiers/D1/documents/doc9?back=/admin/desk/{REQUEST_ID}")
    assert page.status_code == 200
    # While the rendition is made, the page polls itself, not the client's viewer.
    assert 'hx-get="/admin/dossiers/D1/documents/doc9"' in page.text
    assert 'href="/admin/dossiers/D1/documents/doc9/file?variant=original' in page.text
    assert f'href="/admin/desk/{REQUEST_ID}"' in page.text  # "Close" leads back to the request
    body = gateway.client.get("/admin/dossiers/D1/documents/doc9/file")
    assert body.status_code == 200 and body.content == b"%PDF-1.4 de deuk\n"
    [opened, *_] = gateway.rpc.called(documents.OPEN_DOWNLOAD)
    assert isinstance(opened, documents.OpenDownloadRequest)
    assert (opened.dossier_id, opened.caller.user_id) == ("D1", "staff1")


def test_the_viewers_close_link_never_leads_off_the_office_pages(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    ticket_for(gateway, b"%PDF-1.4\n")
    for back in ("https://evil.example/", "//evil.example", "/documents"):
        page = gateway.client.get("/admin/dossiers/D1/documents/doc9", params={"back": back})
        assert page.status_code == 200
        assert ">Sluiten</a>" not in page.text  # no "Close" rather than one off the office


def test_a_file_over_the_limit_is_named_and_the_typed_answer_kept(gateway: Gateway) -> None:
    sign_in_as_staff(gateway)
    with_desk(gateway)
    page = gateway.client.post(f"/admin/desk/{REQUEST_ID}/answer", data={
        "csrf_token": csrf(gateway), "version": "3", "body": "Zie de foto's.",
        "status": "refused", "reason": "Niet gedekt."},
        files={"file": ("groot.jpg", b"x" * (2 * 1024 * 1024 + 1), "image/jpeg")})
    assert page.status_code == 413
    assert "Deze bestanden werden niet verzonden: groot.jpg." in page.text
    assert ">Zie de foto&#39;s.</textarea>" in page.text
    assert ">Niet gedekt.</textarea>" in page.text
    assert 'value="refused" checked' in page.text
    assert gateway.rpc.called(documents.BEGIN_UPLOAD) == []
    assert gateway.rpc.called(requests.ANSWER) == []
