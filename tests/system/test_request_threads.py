"""A message is a thread, end to end through the gateway: the client writes with two files, the
office takes it from its desk and answers with a file, the client sees the answer (unread
marker, timeline), replies, the office closes it and a further reply is refused; another
client finds none of it."""

import uuid

import httpx
import pytest

from deploy.local.demo_pdf import text_pdf
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import ClientLogin

pytestmark = pytest.mark.system

PROBLEM_JSON = "application/problem+json"
CONTRACT = "C-00417-AUTO"


def test_a_message_thread_between_a_client_and_the_office(
    gateway: httpx.Client, staff_token: str, dupont_client: ClientLogin,
    peeters_client: ClientLogin,
) -> None:
    client = bearer(dupont_client.log_in(gateway))
    office = bearer(staff_token)
    subject = f"Barst in de voorruit ({uuid.uuid4().hex[:6]})"
    key = uuid.uuid4().hex
    photo = text_pdf("Foto", ["De barst in de voorruit"])
    estimate = text_pdf("Bestek", ["Vervanging voorruit: 640 EUR"])
    form = {"subject": subject, "body": "Is dit gedekt door mijn omnium?",
            "about": f"contract:{CONTRACT}", "about_label": "Polis AU-7712.345.219",
            "description_1": "Foto van de barst", "description_2": "Bestek van de garage"}
    files = [("file", ("barst.pdf", photo, "application/pdf")),
             ("file", ("bestek.pdf", estimate, "application/pdf"))]

    sent = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers={
        **client, "Idempotency-Key": key}, data=form, files=files)
    assert sent.status_code == 201, sent.text
    request = sent.json()
    request_id = request["request_id"]
    assert (request["status"], request["about"]["kind"], request["about"]["ref_id"]) == (
        "pending", "contract", CONTRACT)
    assert [(ref["filename"], ref["description"]) for ref in
            request["entries"][0]["attachments"]] == [
        ("barst.pdf", "Foto van de barst"), ("bestek.pdf", "Bestek van de garage")]
    assert request["target_at"] > request["sent_at"]

    # A resend (a retry after a timeout): the same request, its files not stored again.
    again = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers={
        **client, "Idempotency-Key": key}, data=form, files=files)
    assert again.status_code == 201 and again.json()["request_id"] == request_id
    as_json = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers={
        **client, "Idempotency-Key": key}, json={"subject": subject, "body": "nog eens"})
    assert as_json.status_code == 201 and as_json.json()["request_id"] == request_id
    mine = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
    assert [row["subject"] for row in mine["requests"]].count(subject) == 1
    in_context = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents",
                             params={"context": f"request:{request_id}"}, headers=client).json()
    assert {document["filename"] for document in in_context["documents"]} == {
        "barst.pdf", "bestek.pdf"}

    # The office's desk: the new message, unread; opening it reads it; take, answer with a file.
    desk = gateway.get("/admin/api/v1/requests", headers=office,
                       params={"dossier_id": DUPONT, "open": "true", "limit": 200}).json()
    [row] = [row for row in desk["items"] if row["request_id"] == request_id]
    assert row["unread_by_office"] and row["assignee_id"] is None and not row["overdue"]
    detail = gateway.get(f"/admin/api/v1/requests/{request_id}", headers=office).json()
    assert detail["notes"] == [] and not detail["unread_by_office"]
    taken = gateway.post(f"/admin/api/v1/requests/{request_id}/take", headers=office)
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "in_progress"
    note = gateway.post(f"/admin/api/v1/requests/{request_id}/notes", headers=office,
                        json={"body": "Verzekeraar bevestigt glasbreuk"})
    assert note.status_code == 201, note.text
    conditions = text_pdf("Voorwaarden", ["Glasbreuk is gedekt zonder vrijstelling"])
    answered = gateway.post(f"/admin/api/v1/requests/{request_id}/answer", headers=office,
                            data={"body": "Ja, glasbreuk is gedekt.",
                                  "description_1": "De voorwaarden"},
                            files=[("file", ("voorwaarden.pdf", conditions,
                                             "application/pdf"))])
    assert answered.status_code == 201, answered.text

    # The client sees the answer: unread in the list until the detail is opened.
    mine = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
    [row] = [row for row in mine["requests"] if row["request_id"] == request_id]
    assert (row["status"], row["unread_by_client"]) == ("in_progress", True)
    shown = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests/{request_id}", headers=client)
    assert shown.status_code == 200, shown.text
    thread = shown.json()
    assert "notes" not in thread and "Verzekeraar bevestigt" not in shown.text
    assert [(entry["author"], entry["body"]) for entry in thread["entries"]] == [
        ("client", "Is dit gedekt door mijn omnium?"), ("office", "Ja, glasbreuk is gedekt.")]
    assert [step["step"] for step in thread["timeline"]] == ["sent", "taken", "answered"]
    assert thread["answered_at"] is not None
    [answer_file] = thread["entries"][1]["attachments"]
    content = gateway.get(
        f"/api/v1/dossiers/{DUPONT}/documents/{answer_file['document_id']}/content",
        headers=client)
    assert content.status_code == 200 and content.content == conditions
    mine = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
    [row] = [row for row in mine["requests"] if row["request_id"] == request_id]
    assert not row["unread_by_client"]

    # The client replies; the office sees it unread; the office closes; no more replies.
    replied = gateway.post(f"/api/v1/dossiers/{DUPONT}/requests/{request_id}/replies",
                           headers=client, json={"body": "Dank u, ik maak een afspraak."})
    assert replied.status_code == 201, replied.text
    desk = gateway.get("/admin/api/v1/requests", headers=office,
                       params={"dossier_id": DUPONT, "limit": 200}).json()
    [row] = [row for row in desk["items"] if row["request_id"] == request_id]
    assert row["unread_by_office"]
    closed = gateway.post(f"/admin/api/v1/requests/{request_id}/status", headers=office,
                          json={"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    refused = gateway.post(f"/api/v1/dossiers/{DUPONT}/requests/{request_id}/replies",
                           headers=client, json={"body": "Nog een vraag"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["detail"] == "This conversation is closed; send a new message."
    with_file = gateway.post(f"/api/v1/dossiers/{DUPONT}/requests/{request_id}/replies",
                             headers=client, data={"body": "En een foto"},
                             files=[("file", ("foto.pdf", photo, "application/pdf"))])
    assert with_file.status_code == 409
    illegal = gateway.post(f"/admin/api/v1/requests/{request_id}/status", headers=office,
                           json={"status": "accepted"})
    assert illegal.status_code == 409

    # Another client: the request is "not found", exactly like a missing one.
    intruder = bearer(peeters_client.log_in(gateway))
    missing = gateway.get(f"/api/v1/dossiers/{PEETERS}/requests/{uuid.uuid4().hex}",
                          headers=intruder)
    other = gateway.get(f"/api/v1/dossiers/{PEETERS}/requests/{request_id}", headers=intruder)
    assert missing.status_code == other.status_code == 404
    assert other.json()["detail"] == missing.json()["detail"]
    assert subject not in other.text
    reply = gateway.post(f"/api/v1/dossiers/{PEETERS}/requests/{request_id}/replies",
                         headers=intruder, json={"body": "Hallo"})
    assert reply.status_code == 404
    about_theirs = gateway.post(f"/api/v1/dossiers/{PEETERS}/messages", headers=intruder,
                                json={"subject": "Vraag", "body": "Over die polis",
                                      "about": {"kind": "contract", "ref_id": CONTRACT}})
    assert about_theirs.status_code == 404


def test_the_desk_is_for_staff_only(gateway: httpx.Client, dupont_client: ClientLogin) -> None:
    client = bearer(dupont_client.log_in(gateway))
    assert gateway.get("/admin/api/v1/requests", headers=client).status_code == 403
    assert gateway.get("/admin/api/v1/requests").status_code == 401
