"""The walking skeleton end to end, through the gateway only: the office invites a client, the
client activates the mailed link, reads the contracts, downloads what the office published and
writes to the office, who is told by mail (manual: access, consult, documents, messages)."""

import hashlib
import uuid

import httpx
import pytest

from deploy.local.demo_pdf import text_pdf
from deploy.local.maildir import activation_token, wait_for_mail
from deploy.local.seed_demo import bearer, publish_document
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier

pytestmark = pytest.mark.system

PROBLEM_JSON = "application/problem+json"


def test_an_invited_client_activates_the_mailed_link_and_reads_their_contracts(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
    office_dossiers: tuple[str, str],
) -> None:
    email = f"sofie.claes.{uuid.uuid4().hex[:6]}@example.com"
    invited = gateway.post("/admin/api/v1/invitations", headers=bearer(staff_token), json={
        "email": email, "display_name": "Sofie Claes", "language": "nl",
        "dossier_ids": [DUPONT]})
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == email

    mail = wait_for_mail(system_stack.maildir, email, containing="/activate?token=")
    token = activation_token(mail)
    assert f"{system_stack.gateway_url}/activate?token={token}" in mail.text

    preview = gateway.get(f"/api/v1/auth/invitations/{token}")
    assert preview.status_code == 200, preview.text
    assert preview.json()["email"] == email
    assert preview.json()["display_name"] == "Sofie Claes"

    activated = gateway.post("/api/v1/auth/activate",
                             json={"token": token, "password": "Zeedijk-112-De-Panne"})
    assert activated.status_code == 200, activated.text
    assert gateway.get(f"/api/v1/auth/invitations/{token}").status_code == 410, "used once"

    login = gateway.post("/api/v1/auth/login",
                         json={"email": email, "password": "Zeedijk-112-De-Panne"})
    assert login.status_code == 200, login.text
    client = bearer(login.json()["access_token"])

    me = gateway.get("/api/v1/me", headers=client).json()
    assert me["email"] == email
    assert me["role"] == "client"
    assert [dossier["dossier_id"] for dossier in me["dossiers"]] == [DUPONT]

    contracts = gateway.get(f"/api/v1/dossiers/{DUPONT}/contracts", headers=client)
    assert contracts.status_code == 200, contracts.text
    expected = {contract["policy_number"] for contract in fixture_dossier("dupont")["contracts"]}
    assert {c["policy_number"] for c in contracts.json()["contracts"]} == expected


def test_a_document_published_by_the_office_downloads_byte_identical(
    gateway: httpx.Client, staff_token: str, dupont_client: ClientLogin
) -> None:
    pdf = text_pdf("Groene kaart AU-7712.345.219", ["Volkswagen Golf 1-ABC-123", "2025-2026"])
    published = publish_document(gateway, staff_token, DUPONT, "Groene kaart 2025",
                                 "groene-kaart.pdf", pdf)
    assert published["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert published["size"] == len(pdf)
    client = bearer(dupont_client.log_in(gateway))

    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents", headers=client)
    assert listed.status_code == 200, listed.text
    assert published["document_id"] in [d["document_id"] for d in listed.json()["documents"]]

    content = gateway.get(
        f"/api/v1/dossiers/{DUPONT}/documents/{published['document_id']}/content",
        headers=client)
    assert content.status_code == 200, content.text
    assert content.content == pdf
    assert content.headers["content-type"].startswith("application/pdf")
    assert content.headers["content-length"] == str(len(pdf))
    assert content.headers["x-content-sha256"] == hashlib.sha256(pdf).hexdigest()
    assert "groene-kaart.pdf" in content.headers["content-disposition"]


def test_a_message_from_a_client_reaches_the_office_by_mail(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
    dupont_client: ClientLogin,
) -> None:
    subject = f"Nieuwe wagen vanaf 1 maart ({uuid.uuid4().hex[:6]})"
    client = bearer(dupont_client.log_in(gateway))
    sent = gateway.post(f"/api/v1/dossiers/{DUPONT}/messages", headers=client,
                        json={"subject": subject, "body": "Graag de omnium overzetten."})
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "pending"

    mine = gateway.get(f"/api/v1/dossiers/{DUPONT}/requests", headers=client).json()
    assert subject in [request["subject"] for request in mine["requests"]]
    office = gateway.get(f"/admin/api/v1/dossiers/{DUPONT}/requests",
                         headers=bearer(staff_token)).json()
    assert subject in [request["subject"] for request in office["requests"]]

    mail = wait_for_mail(system_stack.maildir, system_stack.config.office_email,
                         containing=subject)
    assert DUPONT in mail.subject + mail.text


def test_a_client_gets_not_found_for_a_dossier_not_granted_to_them(
    gateway: httpx.Client, staff_token: str, peeters_client: ClientLogin,
) -> None:
    pdf = text_pdf("Attest", ["Alleen voor het dossier Dupont"])
    document = publish_document(gateway, staff_token, DUPONT, "Attest", "attest.pdf", pdf)
    intruder = bearer(peeters_client.log_in(gateway))

    assert gateway.get(f"/api/v1/dossiers/{PEETERS}/contracts", headers=intruder).status_code \
        == 200
    for path in (f"/api/v1/dossiers/{DUPONT}/contracts",
                 f"/api/v1/dossiers/{DUPONT}/documents",
                 f"/api/v1/dossiers/{DUPONT}/documents/{document['document_id']}/content"):
        response = gateway.get(path, headers=intruder)
        assert response.status_code == 404, f"{path}: {response.status_code}"
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert pdf not in response.content


def test_logout_makes_the_access_token_useless(
    gateway: httpx.Client, dupont_client: ClientLogin
) -> None:
    pair = gateway.post("/api/v1/auth/login", json={
        "email": dupont_client.email, "password": dupont_client.password}).json()
    client = bearer(pair["access_token"])
    assert gateway.get("/api/v1/me", headers=client).status_code == 200

    logout = gateway.post("/api/v1/auth/logout", headers=client,
                          json={"refresh_token": pair["refresh_token"]})
    assert logout.status_code == 204, logout.text

    assert gateway.get("/api/v1/me", headers=client).status_code == 401
    assert gateway.get(f"/api/v1/dossiers/{DUPONT}/contracts", headers=client).status_code \
        == 401
    refreshed = gateway.post("/api/v1/auth/refresh",
                             json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401
