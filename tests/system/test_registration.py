"""Self-registration end to end (manual 1.1, "Zich inschrijven"): register, confirm the mailed
link and choose a password, the office is mailed that it waits, get approved (or refused) by
mail, log in."""

import re
import uuid

import httpx
import pytest

from deploy.local.maildir import wait_for_mail
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT, PEETERS
from tests.system.stack import SystemStack

pytestmark = pytest.mark.system

CONFIRM_LINK = re.compile(r"https?://[^\s\"'<>]+/register/confirm\?token=([A-Za-z0-9_\-]+)")
PASSWORD = "de kust bij nieuwpoort in maart"


def register(gateway: httpx.Client, email: str, first_name: str) -> httpx.Response:
    return gateway.post("/api/v1/auth/register", json={
        "last_name": "Wouters", "first_name": first_name, "birth_date": "1985-07-30",
        "email": email, "phone": "+32 470 12 34 56", "national_number": "85.07.30-033.28",
        "message": "Ik heb mijn woningpolis bij jullie.", "language": "nl"})


def confirm_mailed_link(stack: SystemStack, gateway: httpx.Client, email: str) -> None:
    mail = wait_for_mail(stack.maildir, email, containing="/register/confirm?token=")
    match = CONFIRM_LINK.search(mail.text)
    assert match is not None, mail.text
    confirmed = gateway.post("/api/v1/auth/registrations/confirm",
                             json={"token": match.group(1), "password": PASSWORD})
    assert confirmed.status_code == 202, confirmed.text


def pending_registration_of(gateway: httpx.Client, staff: dict[str, str], email: str) -> str:
    listed = gateway.get("/admin/api/v1/registrations", headers=staff)
    assert listed.status_code == 200, listed.text
    [registration] = [r for r in listed.json()["registrations"] if r["email"] == email]
    registration_id: str = registration["registration_id"]
    return registration_id


def test_a_registered_client_is_approved_by_the_broker_and_logs_in_to_two_dossiers(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
    office_dossiers: tuple[str, str],
) -> None:
    email = f"jonas.wouters.{uuid.uuid4().hex[:6]}@example.com"
    assert register(gateway, email, "Jonas").status_code == 202
    confirm_mailed_link(system_stack, gateway, email)

    waiting = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert waiting.status_code == 403
    assert "awaits the approval of your broker" in waiting.json()["detail"]
    stranger = gateway.post("/api/v1/auth/login", json={"email": email, "password": "x" * 14})
    assert stranger.status_code == 401  # without the password nothing is revealed

    staff = bearer(staff_token)
    addresses = gateway.get("/admin/api/v1/office", headers=staff).json()["addresses"]
    office = (addresses["registrations"] or addresses["general"]
              or system_stack.config.office_email)
    told = wait_for_mail(system_stack.maildir, office, containing=email)
    assert "Jonas Wouters" in told.subject  # the office hears a registration awaits it
    assert f"{system_stack.gateway_url}/admin" in told.text
    registration_id = pending_registration_of(gateway, staff, email)
    approved = gateway.post(f"/admin/api/v1/registrations/{registration_id}/approve",
                            headers=staff, json={"dossier_ids": [DUPONT, PEETERS]})
    assert approved.status_code == 200, approved.text

    mail = wait_for_mail(system_stack.maildir, email, containing="goedgekeurd")
    assert f"{system_stack.gateway_url}/login" in mail.text
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = gateway.get("/api/v1/me", headers=bearer(login.json()["access_token"])).json()
    assert sorted(d["dossier_id"] for d in me["dossiers"]) == sorted([DUPONT, PEETERS])

    audit = gateway.get("/admin/api/v1/audit", headers=staff).json()["entries"]
    assert any(entry["action"] == "registration.approve" and entry["target"] == registration_id
               for entry in audit)


def test_a_refused_registration_is_mailed_its_reason_and_cannot_log_in(
    system_stack: SystemStack, gateway: httpx.Client, staff_token: str,
) -> None:
    email = f"an.wouters.{uuid.uuid4().hex[:6]}@example.com"
    assert register(gateway, email, "An").status_code == 202
    confirm_mailed_link(system_stack, gateway, email)
    staff = bearer(staff_token)
    registration_id = pending_registration_of(gateway, staff, email)
    refused = gateway.post(f"/admin/api/v1/registrations/{registration_id}/refuse",
                           headers=staff, json={"reason": "Wij kennen u niet als klant."})
    assert refused.status_code == 200, refused.text
    mail = wait_for_mail(system_stack.maildir, email, containing="Wij kennen u niet als klant.")
    assert mail.subject == "Uw inschrijving bij MyBroker"
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401
