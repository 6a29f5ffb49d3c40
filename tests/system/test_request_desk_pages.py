"""The office's request desk pages through the gateway, on every process: staff read the inbox
overdue first, take a request and answer it (the client reads the answer); a client is refused
the desk; a move the request's status does not allow is said in words."""

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from deploy.local.seed_demo import bearer
from services.requests.store import REQUESTS, from_document, to_document
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, new_client

pytestmark = pytest.mark.system

DUPONT = fixture_dossier("dupont")["dossier_id"]


def page_login(stack: SystemStack, email: str, password: str) -> httpx.Client:
    """A browser-like client signed in through the login form (cookies, CSRF token)."""
    browser = httpx.Client(base_url=stack.gateway_url, timeout=30.0)
    browser.get("/login")
    signed_in = browser.post("/login", data={
        "email": email, "password": password, "next": "/",
        "csrf_token": browser.cookies["mb_csrf"]})
    assert signed_in.status_code == 303, signed_in.text
    return browser


@pytest.fixture
def office(system_stack: SystemStack) -> Iterator[httpx.Client]:
    """The office admin on the office pages."""
    browser = page_login(system_stack, system_stack.config.admin_email,
                         system_stack.config.admin_password)
    yield browser
    browser.close()


def send_message(gateway: httpx.Client, client: ClientLogin, subject: str) -> str:
    sent = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages",
                        headers=bearer(client.log_in(gateway)),
                        json={"subject": subject, "body": f"{subject}: graag uw hulp."})
    assert sent.status_code == 201, sent.text
    request_id: str = sent.json()["request_id"]
    return request_id


def sent_days_ago(stack: SystemStack, request_id: str, days: int) -> None:
    """Move a request's arrival back in time (a system test cannot wait for its target), with
    every key the service derives from it, as the service itself would store them."""
    database = f"{stack.config.mongo_db_prefix}_requests"
    mongo: MongoClient[dict[str, Any]] = MongoClient(stack.config.mongo_url, tz_aware=True)
    with mongo:
        requests = mongo[database][REQUESTS]
        stored = from_document(requests.find_one({"_id": request_id}) or {})
        assert stored.target_at is not None
        earlier = timedelta(days=days)
        aged = stored.model_copy(update={
            "sent_at": stored.sent_at - earlier, "target_at": stored.target_at - earlier})
        document = to_document(aged)
        requests.update_one({"_id": request_id}, {"$set": {
            name: document[name] for name in ("sent_at", "target_at", "desk_key",
                                              "dossier_key", "sent_ms")}})


def post(browser: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return browser.post(path, data={"csrf_token": browser.cookies["mb_csrf"], **fields})


def version_of(page: httpx.Response) -> str:
    found = re.search(r'name="version" value="(\d+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_staff_see_the_overdue_request_first_take_one_and_answer_it(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    office: httpx.Client,
) -> None:
    unique = uuid.uuid4().hex[:6]
    recent = send_message(gateway, dupont_client, f"Groene kaart {unique}")
    late = send_message(gateway, dupont_client, f"Attest {unique}")
    sent_days_ago(system_stack, late, days=10)

    inbox = office.get("/admin/desk", params={"dossier_id": DUPONT})
    assert inbox.status_code == 200
    rows = inbox.text[inbox.text.index("desk-rows"):]
    # The overdue one is on the first page; the recent one after it (or on a later page: in a
    # whole run the shared dossier holds many other tests' pending requests).
    recent_at = rows.find(f"/admin/desk/{recent}")
    assert recent_at == -1 or rows.index(f"/admin/desk/{late}") < recent_at
    late_row = rows[rows.index(f"/admin/desk/{late}"):]
    late_row = late_row[:late_row.index("</article>")]
    assert "Antwoord te laat" in late_row and "Nieuw" in late_row

    detail = office.get(f"/admin/desk/{recent}")
    assert detail.status_code == 200
    assert f"Groene kaart {unique}: graag uw hulp." in detail.text
    taken = post(office, f"/admin/desk/{recent}/take", version=version_of(detail))
    assert taken.status_code == 303, taken.text
    detail = office.get(taken.headers["location"])
    assert "U nam de aanvraag in behandeling" in detail.text
    assert "In behandeling" in detail.text

    answered = office.post(f"/admin/desk/{recent}/answer", data={
        "csrf_token": office.cookies["mb_csrf"], "version": version_of(detail),
        "body": "Uw groene kaart zit in de bijlage.", "status": ""},
        files={"file": ("groene-kaart.txt", b"Groene kaart 2027\n", "text/plain")})
    assert answered.status_code == 303, answered.text
    detail = office.get(answered.headers["location"])
    assert "Uw antwoord is verzonden" in detail.text
    thread = detail.text[detail.text.index('id="thread"'):detail.text.index('id="actions"')]
    assert "Uw groene kaart zit in de bijlage." in thread and "groene-kaart.txt" in thread

    seen = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests/{recent}",
                       headers=bearer(dupont_client.log_in(gateway)))
    assert seen.status_code == 200, seen.text
    office_entries = [entry for entry in seen.json()["entries"] if entry["author"] == "office"]
    assert [entry["body"] for entry in office_entries] == ["Uw groene kaart zit in de bijlage."]
    assert office_entries[0]["attachments"][0]["filename"] == "groene-kaart.txt"
    assert "notes" not in seen.json()


def test_a_client_is_refused_the_request_desk(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
) -> None:
    request_id = send_message(gateway, dupont_client, "Mag ik de desk zien?")
    browser = page_login(system_stack, dupont_client.email, dupont_client.password)
    try:
        for path in ("/admin/desk", f"/admin/desk/{request_id}", "/admin/desk/new-count"):
            refused = browser.get(path)
            assert refused.status_code == 403, path
            assert "Mag ik de desk zien?" not in refused.text
    finally:
        browser.close()


def test_a_move_the_status_does_not_allow_is_said_in_words(
    gateway: httpx.Client, dupont_client: ClientLogin, office: httpx.Client,
) -> None:
    request_id = send_message(gateway, dupont_client, f"Vraag {uuid.uuid4().hex[:6]}")
    detail = office.get(f"/admin/desk/{request_id}")
    accepted = post(office, f"/admin/desk/{request_id}/status", status="accepted",
                    version=version_of(detail))
    assert accepted.status_code == 303, accepted.text
    detail = office.get(accepted.headers["location"])
    released = post(office, f"/admin/desk/{request_id}/status", status="pending",
                    version=version_of(detail))
    assert released.status_code == 409
    assert "Dit kan niet voor een aanvraag die “Aanvaard” is." in released.text
    refused = post(office, f"/admin/desk/{request_id}/status", status="refused", reason="",
                   version=version_of(detail))
    assert refused.status_code == 422
    assert "Geef de reden van de weigering" in refused.text


def test_the_office_reads_a_claim_and_a_change_of_personal_data_as_sent(
    system_stack: SystemStack, gateway: httpx.Client, office_dossiers: tuple[str, str],
    office: httpx.Client,
) -> None:
    # A client of their own: the shared one may have used up their burst of submissions.
    client = bearer(new_client(system_stack, gateway, "Sofie Claes", [DUPONT]).log_in(gateway))
    forms = f"/api/v1/dossiers/{DUPONT}/forms"
    claim = gateway.post(f"{forms}/claim", headers=client, data={"submission": json.dumps({
        "form": {"risk_object_ids": ["R-00417-1"], "loss_date": "2026-01-02",
                 "loss_time": "08:00", "description": "Glasbreuk door een steen",
                 "vat_liable": False, "police_report_number": "GE.55.L1.000123/26"},
        "about": "contract:C-00417-AUTO", "remark": "Graag snel"}),
        "description_1": "Foto van de ruit"},
        files=[("file", ("ruit.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg"))])
    assert claim.status_code == 201, claim.text
    page = office.get(f"/admin/desk/{claim.json()['request_id']}")
    assert page.status_code == 200
    sent = " ".join(re.sub(r"<[^>]+>", " ", page.text[
        page.text.index('id="sent"'):page.text.index('id="thread"')]).split())
    for shown in ("Volkswagen Golf 1.5 eTSI - 1-ABC-123", "2 jan 2026", "08:00",
                  "Glasbreuk door een steen", "Btw-plichtige Nee", "GE.55.L1.000123/26",
                  "Schade aangifte (pdf)", "ruit.jpg", "Foto van de ruit", "Graag snel"):
        assert shown in sent, shown
    declaration = claim.json()["form"]["declaration_document_id"]
    viewer = re.search(rf'href="(/admin/dossiers/{DUPONT}/documents/{declaration}[^"]*)"',
                       page.text)
    assert viewer is not None
    assert office.get(viewer.group(1).replace("&amp;", "&")).status_code == 200
    body = office.get(f"/admin/dossiers/{DUPONT}/documents/{declaration}/file?variant=original")
    assert body.status_code == 200 and body.content.startswith(b"%PDF")

    change = gateway.post(f"{forms}/personal_data", headers=client, json={
        "form": {"person_id": "P-00417-2", "phone": "+32 470 11 22 33"},
        "about": "person:P-00417-2"})
    assert change.status_code == 201, change.text
    page = office.get(f"/admin/desk/{change.json()['request_id']}")
    row = re.search(r'<th scope="row">Telefoon</th><td class="desk-old">(.*?)</td>'
                    r'<td class="desk-new"><span aria-hidden="true">→ </span>(.*?)</td>',
                    page.text)
    assert row is not None and row.groups() == ("+32 486 98 76 54", "+32 470 11 22 33")
