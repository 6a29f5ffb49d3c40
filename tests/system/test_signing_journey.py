"""The checkbox signature end to end through the gateway: the office offers a PDF of a dossier
for signature, the signer is mailed, opens the document, signs; the office's seal makes the
signed PDF, which validates with pyHanko against the demo sealing CA (intact, trusted,
timestamped by the stack's TSA), and a copy with one byte changed does not."""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password
from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer, expect, import_dossier, invite_and_activate, log_in
from services.signing.sealing import check_pdf, trust_roots
from tests.system.stack import SystemStack, fixture_dossier, staff_log_in

pytestmark = pytest.mark.system
REPOSITORY = Path(__file__).resolve().parents[2]


def _signing_dossier(stack: SystemStack, gateway: httpx.Client, tag: str
                     ) -> tuple[str, dict[str, str]]:
    """A dossier of its own whose two adults have accounts with their e-mail addresses."""
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-SIGN-{tag}"
    emails = {}
    for person in dossier["persons"][:2]:
        person["email"] = f"{person['first_name'].lower()}.{tag}@example.com"
        emails[person["person_id"]] = person["email"]
    staff = staff_log_in(stack, gateway)
    import_dossier(gateway, staff, dossier)
    passwords = {}
    for email in emails.values():
        passwords[email] = new_password()
        invite_and_activate(gateway, staff, stack.maildir, email=email, display_name=email,
                            dossier_ids=[dossier["dossier_id"]], password=passwords[email])
    return dossier["dossier_id"], {person_id: f"{email}\n{passwords[email]}"
                                   for person_id, email in emails.items()}


def _publish_pdf(gateway: httpx.Client, staff: str, dossier_id: str, title: str) -> str:
    body = text_pdf(title, ["Klantenfiche", "Naam: Pieter Dupont", "Gelezen en goedgekeurd"])
    stored = expect(gateway.post(
        f"/admin/api/v1/dossiers/{dossier_id}/documents/batch", headers=bearer(staff),
        files=[("file", (f"{title}.pdf", body, "application/pdf"))]), 201)
    document_id: str = stored["documents"][0]["document_id"]
    return document_id


def _request_signature(gateway: httpx.Client, staff: str, dossier_id: str, document_id: str,
                       signers: list[str]) -> dict[str, Any]:
    for _ in range(60):  # the viewable form of a fresh document may still be prepared
        response = gateway.post(
            f"/admin/api/v1/dossiers/{dossier_id}/signature-requests", headers=bearer(staff),
            json={"document_id": document_id, "signer_person_ids": signers,
                  "message": "Graag ondertekenen"})
        if response.status_code != 422 or "being prepared" not in response.text:
            break
        time.sleep(0.5)
    created: dict[str, Any] = expect(response, 201)
    return created


def _wait_until_sealed(gateway: httpx.Client, token: str, request_id: str) -> dict[str, Any]:
    for _ in range(120):
        offer: dict[str, Any] = expect(gateway.get(
            f"/api/v1/signature-requests/{request_id}", headers=bearer(token)), 200)
        if offer["request"]["state"] == "awaiting_broker":
            return offer
        time.sleep(0.25)
    raise AssertionError(f"not sealed: {offer['request']}")


def test_a_checkbox_signature_makes_a_sealed_pdf_that_anyone_can_verify(
    system_stack: SystemStack, gateway: httpx.Client, tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    dossier_id, logins = _signing_dossier(system_stack, gateway, tag)
    pieter_email, pieter_password = logins["P-00417-1"].split("\n")
    sofie_email, sofie_password = logins["P-00417-2"].split("\n")
    staff = staff_log_in(system_stack, gateway)
    document_id = _publish_pdf(gateway, staff, dossier_id, f"klantenfiche-{tag}")
    created = _request_signature(gateway, staff, dossier_id, document_id, ["P-00417-1"])
    request_id = created["signature_request_id"]
    assert [s["state"] for s in created["signers"]] == ["sent"]

    # The signer is mailed a link into the portal, straight to the document's signature page.
    mail = wait_for_mail(system_stack.maildir, pieter_email, containing=request_id)
    assert mail.subject.startswith("Document te ondertekenen in MyBroker")
    assert f"{system_stack.gateway_url}/signing/{request_id}?dossier={dossier_id}" in mail.text
    assert "Graag ondertekenen" in mail.text

    pieter = log_in(gateway, pieter_email, pieter_password)["access_token"]
    sofie = log_in(gateway, sofie_email, sofie_password)["access_token"]
    listed = expect(gateway.get(f"/api/v1/dossiers/{dossier_id}/documents-to-sign",
                                headers=bearer(pieter)), 200)
    assert [d["signature_request_id"] for d in listed["documents"]] == [request_id]
    # Not offered to Sofie (another person of the same dossier): 404.
    assert gateway.post(f"/api/v1/signature-requests/{request_id}/sign", headers=bearer(sofie),
                        json={"approved": True}).status_code == 404

    # Signing before the document was opened is refused with the reason.
    refused = gateway.post(f"/api/v1/signature-requests/{request_id}/sign",
                           headers=bearer(pieter), json={"approved": True})
    assert refused.status_code == 422 and refused.json()["errors"] == {"reason": "not_opened"}
    view = gateway.get(f"/api/v1/dossiers/{dossier_id}/documents/{document_id}/view",
                       headers=bearer(pieter))
    assert view.status_code == 200 and view.content.startswith(b"%PDF")
    signed = gateway.post(f"/api/v1/signature-requests/{request_id}/sign",
                          headers=bearer(pieter), json={"approved": True})
    assert signed.status_code == 200, signed.text
    assert signed.json()["signer"]["state"] == "signed"
    again = gateway.post(f"/api/v1/signature-requests/{request_id}/sign",
                         headers=bearer(pieter), json={"approved": True})
    assert again.status_code == 409 and again.json()["signer"]["state"] == "signed"

    offer = _wait_until_sealed(gateway, pieter, request_id)
    download = gateway.get(f"/api/v1/signature-requests/{request_id}/signed-document",
                           headers=bearer(pieter))
    assert download.status_code == 200
    sealed = download.content
    roots = trust_roots(system_stack.config.demo_signing.files.ca_path.read_bytes()
                        if system_stack.config.demo_signing else b"")
    check = check_pdf(sealed, roots)
    assert (check.intact, check.trusted, check.timestamped) == (True, True, True), check.summary
    tampered = bytearray(sealed)
    tampered[len(sealed) // 3] ^= 0x01
    assert not check_pdf(bytes(tampered), roots).intact
    assert offer["request"]["signed_document_id"] in {
        d["document_id"] for d in expect(gateway.get(
            f"/api/v1/dossiers/{dossier_id}/documents", headers=bearer(pieter)),
            200)["documents"]}

    # Signers and the office hear that everyone signed.
    done = wait_for_mail(system_stack.maildir, pieter_email, containing="Document ondertekend")
    assert request_id in done.text
    wait_for_mail(system_stack.maildir, system_stack.config.office_email,
                  containing=f"van dossier {dossier_id} is door iedereen ondertekend")

    # The office's verification and the offline CLI agree; a changed byte is caught.
    staff = staff_log_in(system_stack, gateway)
    verification = expect(gateway.get(
        f"/admin/api/v1/signature-requests/{request_id}/verification", headers=bearer(staff)),
        200)
    assert verification["chain"]["intact"] and verification["pdf"]["timestamped"]
    trail = expect(gateway.get(f"/admin/api/v1/signature-requests/{request_id}/audit",
                               headers=bearer(staff)), 200)
    kinds = [record["kind"] for record in trail["records"]]
    assert kinds[:5] == ["requested", "mailed", "opened", "signed", "completed"]
    assert "downloaded" in kinds
    (tmp_path / "signed.pdf").write_bytes(sealed)
    (tmp_path / "tampered.pdf").write_bytes(bytes(tampered))
    (tmp_path / "trail.json").write_text(json.dumps(trail))
    assert system_stack.config.demo_signing is not None
    ca = str(system_stack.config.demo_signing.files.ca_path)

    def verify(pdf: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.signing.verify", str(tmp_path / pdf),
             "--trust", ca, "--audit-json", str(tmp_path / "trail.json")],
            capture_output=True, text=True, cwd=REPOSITORY, check=False)
    assert verify("signed.pdf").returncode == 0, verify("signed.pdf").stdout
    assert verify("tampered.pdf").returncode == 1


def test_a_cancelled_request_cannot_be_signed(
    system_stack: SystemStack, gateway: httpx.Client,
) -> None:
    tag = uuid.uuid4().hex[:6]
    dossier_id, logins = _signing_dossier(system_stack, gateway, tag)
    pieter_email, pieter_password = logins["P-00417-1"].split("\n")
    staff = staff_log_in(system_stack, gateway)
    document_id = _publish_pdf(gateway, staff, dossier_id, f"polis-{tag}")
    request_id = _request_signature(gateway, staff, dossier_id, document_id,
                                    ["P-00417-1"])["signature_request_id"]
    cancelled = expect(gateway.post(f"/admin/api/v1/signature-requests/{request_id}/cancel",
                                    headers=bearer(staff), json={"reason": "wrong file"}), 200)
    assert cancelled["state"] == "cancelled"
    pieter = log_in(gateway, pieter_email, pieter_password)["access_token"]
    gateway.get(f"/api/v1/dossiers/{dossier_id}/documents/{document_id}/view",
                headers=bearer(pieter))
    assert gateway.post(f"/api/v1/signature-requests/{request_id}/sign", headers=bearer(pieter),
                        json={"approved": True}).status_code == 410
    listed = expect(gateway.get("/admin/api/v1/signature-requests", headers=bearer(staff),
                                params={"dossier_id": dossier_id}), 200)
    assert [r["state"] for r in listed["requests"]] == ["cancelled"]
