"""Confirming the client sheet is signing it (manual 4.5), through the gateway: the confirmed
sheet becomes a PDF of the dossier offered to the client for signature (by the system, mailed
like any request), the client opens and signs it with the checkbox, and the sealed PDF becomes
a document of the dossier that validates against the demo sealing CA."""

import time
import uuid
from typing import Any

import httpx
import pytest

from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer, expect
from services.signing.sealing import check_pdf, trust_roots
from tests.system.stack import SystemStack, new_client, staff_log_in
from tests.system.test_client_sheet import (
    answers_from,
    own_dossier,
    publish_the_shipped_questionnaire,
)

pytestmark = pytest.mark.system


def _offered(gateway: httpx.Client, token: str, dossier_id: str) -> dict[str, Any]:
    for _ in range(120):
        listed = expect(gateway.get(f"/api/v1/dossiers/{dossier_id}/documents-to-sign",
                                    headers=bearer(token)), 200)
        if listed["documents"]:
            [document] = listed["documents"]
            return dict(document)
        time.sleep(0.25)
    raise AssertionError("the confirmed client sheet was not offered for signature")


def test_a_confirmed_client_sheet_is_signed_by_its_client_and_sealed(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    publish_the_shipped_questionnaire(system_stack, gateway)
    dossier_id = own_dossier(system_stack, gateway)
    client = new_client(system_stack, gateway, "Pieter Fiche", [dossier_id])
    token = client.log_in(gateway)
    sheet_url = f"/api/v1/dossiers/{dossier_id}/client-sheet"
    form = expect(gateway.get(sheet_url, headers=bearer(token)), 200)
    confirmed = gateway.post(sheet_url, headers={**bearer(token),
                                                 "Idempotency-Key": uuid.uuid4().hex},
                             json={"questionnaire_version": form["questionnaire"]["version"],
                                   "answers": answers_from(form)})
    assert confirmed.status_code == 201, confirmed.text

    offered = _offered(gateway, token, dossier_id)
    assert offered["title"].startswith("Klantenfiche ")
    request_id = offered["signature_request_id"]
    mail = wait_for_mail(system_stack.maildir, client.email, containing=request_id)
    assert mail.subject.startswith("Document te ondertekenen in MyBroker: Klantenfiche")
    documents = expect(gateway.get(f"/api/v1/dossiers/{dossier_id}/documents",
                                   headers=bearer(token)), 200)["documents"]
    assert offered["document_id"] in {d["document_id"] for d in documents}

    view = gateway.get(f"/api/v1/dossiers/{dossier_id}/documents/{offered['document_id']}/view",
                       headers=bearer(token))
    assert view.status_code == 200 and view.content.startswith(b"%PDF")
    signed = gateway.post(f"/api/v1/signature-requests/{request_id}/sign",
                          headers=bearer(token), json={"approved": True})
    assert signed.status_code == 200, signed.text
    for _ in range(120):
        offer = expect(gateway.get(f"/api/v1/signature-requests/{request_id}",
                                   headers=bearer(token)), 200)
        if offer["request"]["state"] == "awaiting_broker":
            break
        time.sleep(0.25)
    assert offer["request"]["state"] == "awaiting_broker", offer["request"]
    download = gateway.get(f"/api/v1/signature-requests/{request_id}/signed-document",
                           headers=bearer(token))
    assert download.status_code == 200
    assert system_stack.config.demo_signing is not None
    roots = trust_roots(system_stack.config.demo_signing.files.ca_path.read_bytes())
    check = check_pdf(download.content, roots)
    assert (check.intact, check.trusted) == (True, True), check.summary
    assert download.content.startswith(view.content)  # the sheet, then evidence and seal

    staff = staff_log_in(system_stack, gateway)
    listed = expect(gateway.get("/admin/api/v1/signature-requests", headers=bearer(staff),
                                params={"dossier_id": dossier_id}), 200)
    assert [(r["requested_by"], r["state"]) for r in listed["requests"]] == [
        ("service:signing", "awaiting_broker")]
    assert offer["request"]["signed_document_id"] in {d["document_id"] for d in expect(
        gateway.get(f"/api/v1/dossiers/{dossier_id}/documents", headers=bearer(token)),
        200)["documents"]}
