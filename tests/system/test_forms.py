"""The four forms through the gateway, as the mobile app sends them: each appears at once in
"Mijn aanvragen" as pending; a double submit is one request; the claim comes with its files,
a file over the limit is named and the form kept as a draft, and the declaration is kept as a
PDF in the request's documents."""

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import SystemStack, new_client

pytestmark = pytest.mark.system
FORMS = f"/api/v1/dossiers/{DUPONT}/forms"


@pytest.fixture
def client(system_stack: SystemStack, gateway: httpx.Client,
           office_dossiers: tuple[str, str]) -> dict[str, str]:
    return bearer(new_client(system_stack, gateway, "Pieter Dupont", [DUPONT]).log_in(gateway))


def send(gateway: httpx.Client, client: dict[str, str], kind: str, form: dict[str, Any],
         key: str | None = None, about: str | None = None) -> httpx.Response:
    headers = {**client, **({"Idempotency-Key": key} if key else {})}
    return gateway.post(f"{FORMS}/{kind}", headers=headers,
                        json={"form": form, "about": about, "remark": "Graag snel"})


def test_each_form_is_pending_in_my_requests_at_once(
    gateway: httpx.Client, client: dict[str, str],
) -> None:
    context = gateway.get(f"{FORMS}/personal_data/context?about=person:P-00417-2",
                          headers=client).json()
    assert (context["person"]["first_name"], context["about"]["label"]) == (
        "Sofie", "Sofie Claes")
    key = f"app-{uuid.uuid4().hex}"
    personal = send(gateway, client, "personal_data", {
        "person_id": "P-00417-2", "first_name": "Sofie", "phone": "+32 470 11 22 33"}, key)
    assert personal.status_code == 201, personal.text
    assert [(c["field"], c["new"]) for c in personal.json()["form"]["changes"]] == [
        ("phone", "+32 470 11 22 33")]
    resent = send(gateway, client, "personal_data", {
        "person_id": "P-00417-2", "first_name": "Sofie", "phone": "+32 470 11 22 33"}, key)
    assert resent.status_code == 200 and resent.json()["request_id"] == \
        personal.json()["request_id"]

    wrong = send(gateway, client, "address", {
        "start_date": date.today().isoformat(), "street": "Veldstraat", "number": "12",
        "postal_code": "9000", "municipality": "Antwerpen", "person_ids": ["P-00417-1"]})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert set(wrong.json()["errors"]) == {"municipality"}
    address = send(gateway, client, "address", {
        "start_date": date.today().isoformat(), "street": "Veldstraat", "number": "12",
        "postal_code": "9000", "municipality": "Gand", "person_ids": ["P-00417-1",
                                                                      "P-00417-3"]})
    assert address.status_code == 201, address.text
    member = send(gateway, client, "family_member", {
        "member_kind": "child", "last_name": "Dupont", "first_name": "Mila",
        "birth_date": "2025-05-05"})
    assert member.status_code == 201, member.text
    claim = send(gateway, client, "claim", {
        "risk_object_ids": ["R-00417-2"], "loss_date": "2026-01-02", "loss_time": "03:15",
        "description": "Storm: dakpannen weg", "vat_liable": False},
        about="risk_object:R-00417-2")
    assert claim.status_code == 201, claim.text
    # No general data sent: the declaration holds them as the office does.
    assert claim.json()["form"]["general"]["postal_code"] == "9000"

    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
    mine = {item["request_id"]: (item["kind"], item["status"]) for item in listed["requests"]}
    for sent, kind in ((personal, "personal_data"), (address, "address"),
                       (member, "family_member"), (claim, "claim")):
        assert mine[sent.json()["request_id"]] == (kind, "pending")
    # The claim's declaration is among the request's documents, as a PDF with its content.
    declaration = claim.json()["form"]["declaration_document_id"]
    assert declaration
    pdf = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents/{declaration}/content",
                      headers=client)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert "Storm: dakpannen weg" in text and "Dupont" in text


def test_a_claim_with_files_keeps_them_and_a_file_too_large_keeps_the_form(
    gateway: httpx.Client, client: dict[str, str],
) -> None:
    submission = json.dumps({"form": {
        "loss_date": "2026-01-02", "loss_time": "08:00", "description": "Glasbreuk",
        "risk_object_ids": ["R-00417-1"]}, "about": "contract:C-00417-AUTO"})

    def claims_about_the_contract() -> int:
        listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
        return sum(item["kind"] == "claim" and item["about"]["ref_id"] == "C-00417-AUTO"
                   for item in listed["requests"])

    claims_before = claims_about_the_contract()  # other tests may have declared some
    too_big = gateway.post(f"{FORMS}/claim", headers=client, data={
        "submission": submission, "description_1": "Foto", "description_2": "PV"}, files=[
        ("file", ("foto.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")),
        ("file", ("pv-scan.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024 + 1), "application/pdf"))])
    assert too_big.status_code == 413
    assert too_big.json()["errors"] == {"file.1": "pv-scan.pdf: The file is larger than the "
                                                  "limit of 2097152 bytes."}
    draft = gateway.get(f"/api/v1/dossiers/{DUPONT}/drafts/claim?about=contract:C-00417-AUTO",
                        headers=client)
    assert draft.status_code == 200
    assert draft.json()["data"]["form"]["description"] == "Glasbreuk"
    assert claims_about_the_contract() == claims_before, "the refused claim was not filed"

    key = f"app-{uuid.uuid4().hex}"
    files = [("file", ("foto.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")),
             ("file", ("pv.txt", b"Proces-verbaal 123\n", "text/plain"))]
    sent = gateway.post(f"{FORMS}/claim", headers={**client, "Idempotency-Key": key}, data={
        "submission": submission, "description_1": "Foto van de ruit",
        "description_2": "Het PV"}, files=files)
    assert sent.status_code == 201, sent.text
    form = sent.json()["form"]
    assert [(a["filename"], a["description"], bool(a["document_id"]))
            for a in form["attachments"]] == [("foto.jpg", "Foto van de ruit", True),
                                              ("pv.txt", "Het PV", True)]
    request_id = sent.json()["request_id"]
    documents = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents?context=request:{request_id}",
                            headers=client).json()["documents"]
    assert sorted(d["document_id"] for d in documents) == sorted(
        [a["document_id"] for a in form["attachments"]] + [form["declaration_document_id"]])
    again = gateway.post(f"{FORMS}/claim", headers={**client, "Idempotency-Key": key}, data={
        "submission": submission}, files=files)
    assert again.status_code == 200 and again.json()["request_id"] == request_id
    assert len(gateway.get(f"/api/v1/dossiers/{DUPONT}/documents?context=request:{request_id}",
                           headers=client).json()["documents"]) == len(documents)
    # The thread's first entry shows the files, as every request's attachments.
    detail = sent.json()["request"]
    assert [ref["filename"] for ref in detail["entries"][0]["attachments"]] == [
        "foto.jpg", "pv.txt"]


def test_an_accepted_change_reaches_the_offices_feed_not_the_dossier(
    gateway: httpx.Client, client: dict[str, str], staff_token: str,
) -> None:
    # A minute's margin for the clocks of the processes.
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    sent = send(gateway, client, "family_member", {
        "member_kind": "partner", "last_name": "Peeters", "first_name": "Noor",
        "birth_date": "1990-01-31"})
    request_id = sent.json()["request_id"]
    accepted = gateway.post(f"/admin/api/v1/requests/{request_id}/status",
                            headers=bearer(staff_token), json={"status": "accepted"})
    assert accepted.status_code == 200, accepted.text
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while not found:
        assert time.monotonic() < deadline, "the accepted change never reached the feed"
        time.sleep(0.2)
        page = gateway.get("/admin/api/v1/requests/changes", params={"since": since},
                           headers=bearer(staff_token)).json()
        found = [item for item in page["items"] if item["request_id"] == request_id]
    [change] = found
    assert change["new_person"] and change["record"]["dossier_id"] == DUPONT
    [person] = change["record"]["persons"]
    assert (person["role"], person["first_name"], person["birth_date"]) == (
        "partner", "Noor", "1990-01-31")
    # The portal's copy of the dossier is the broker's: unchanged until their next import.
    persons = gateway.get(f"/api/v1/dossiers/{DUPONT}/persons", headers=client).json()
    assert "Noor" not in [p["first_name"] for p in persons["persons"]]
    assert gateway.get("/admin/api/v1/requests/changes", headers=client).status_code == 403
