"""Seeds a demo office through the gateway's HTTP API, exactly as the office and its clients would.

The office admin imports three dossiers, invites two clients (each reads the activation link in
the mail sink and chooses a password) and publishes a PDF. One dossier is shared by both clients.

    python -m deploy.local.seed_demo --gateway http://127.0.0.1:8000 \
        --admin-email admin@mybroker.example --admin-password ... --maildir .run/dev/maildir
"""

import argparse
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password
from deploy.local.maildir import activation_token, wait_for_mail

REPOSITORY = Path(__file__).resolve().parents[2]
DEMO_DOSSIERS = (
    REPOSITORY / "tests" / "fixtures" / "dossier_dupont.json",
    REPOSITORY / "tests" / "fixtures" / "dossier_peeters.json",
    Path(__file__).resolve().parent / "demo" / "dossier_zeezicht.json",
)
SHARED_DOSSIER = "DOS-2023-00951"
DEMO_CLIENTS = (
    ("pieter.dupont@example.be", "Pieter Dupont", "nl", ["DOS-2019-00417", SHARED_DOSSIER]),
    ("an.peeters@example.be", "An Peeters", "nl", ["DOS-2022-01288", SHARED_DOSSIER]),
)


# The day the demo dossiers were written for: their renewals and open invoices lie ahead of
# it, one invoice is overdue, the newest claim is months old. The demo office shifts every
# contract, claim and invoice date by the days between that day and today, so `make dev`
# always shows a plausible office (never an active contract renewed months ago).
DEMO_DOSSIERS_DAY = date(2025, 6, 20)
SHIFTED_DATES = {
    "contracts": ("start_date", "end_date", "renewal_date"),
    "claims": ("occurred_on",),
    "invoices": ("invoice_date", "due_date"),
}
OVERDUE_DAYS = 20  # how long the demo's overdue invoice has been waiting


def as_of(dossier: dict[str, Any], today: date) -> dict[str, Any]:
    """`dossier` (an import document) with its dates moved as if it was written `today`."""
    shift = today - DEMO_DOSSIERS_DAY
    moved: dict[str, Any] = json.loads(json.dumps(dossier))
    for collection, fields in SHIFTED_DATES.items():
        for item in moved.get(collection, []):
            for name in fields:
                if item.get(name):
                    item[name] = (date.fromisoformat(item[name]) + shift).isoformat()
    for contract in moved.get("contracts", []):
        if contract.get("renewal_date"):  # a yearly due date: the next one after today
            contract["renewal_date"] = next_anniversary(
                date.fromisoformat(contract["renewal_date"]), today).isoformat()
    for invoice in moved.get("invoices", []):
        # An invoice the office marked overdue stays overdue, whatever day it is shown.
        if invoice.get("status") == "overdue" and date.fromisoformat(invoice["due_date"]) >= today:
            due = today - timedelta(days=OVERDUE_DAYS)
            invoice["due_date"] = due.isoformat()
            invoice["invoice_date"] = (due - timedelta(days=16)).isoformat()
    return moved


def next_anniversary(day: date, today: date) -> date:
    """The first day after `today` with the month and day of `day` (28 Feb for 29 Feb)."""
    month_day = (day.month, min(day.day, 28) if day.month == 2 else day.day)
    this_year = date(today.year, *month_day)
    return this_year if this_year > today else date(today.year + 1, *month_day)


class SeedError(RuntimeError):
    """The gateway answered something other than the API contract promises."""


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of `response`, or SeedError naming the call when the status differs."""
    if response.status_code != status:
        raise SeedError(f"{response.request.method} {response.request.url.path} -> "
                        f"{response.status_code} (expected {status}): {response.text[:500]}")
    return response.json() if response.content else None


def bearer(access_token: str) -> dict[str, str]:
    """The Authorization header of an API call."""
    return {"Authorization": f"Bearer {access_token}"}


def log_in(gateway: httpx.Client, email: str, password: str) -> dict[str, Any]:
    """POST /api/v1/auth/login: the token pair of a user."""
    pair: dict[str, Any] = expect(gateway.post(
        "/api/v1/auth/login", json={"email": email, "password": password}), 200)
    return pair


def import_dossier(gateway: httpx.Client, staff_token: str, dossier: dict[str, Any]) -> None:
    """POST /admin/api/v1/dossiers: create or replace a dossier."""
    expect(gateway.post("/admin/api/v1/dossiers", json=dossier, headers=bearer(staff_token)), 201)


def invite_and_activate(
    gateway: httpx.Client,
    staff_token: str,
    maildir: Path,
    *,
    email: str,
    display_name: str,
    dossier_ids: list[str],
    password: str,
    language: str = "nl",
) -> dict[str, Any]:
    """Invite a client, follow the mailed link and choose the password; the client's tokens."""
    invitation = {"email": email, "display_name": display_name, "language": language,
                  "dossier_ids": dossier_ids}
    expect(gateway.post("/admin/api/v1/invitations", json=invitation,
                        headers=bearer(staff_token)), 201)
    token = activation_token(wait_for_mail(maildir, email, containing="/activate?token="))
    expect(gateway.get(f"/api/v1/auth/invitations/{token}"), 200)
    pair: dict[str, Any] = expect(gateway.post(
        "/api/v1/auth/activate", json={"token": token, "password": password}), 200)
    return pair


def publish_document(
    gateway: httpx.Client, staff_token: str, dossier_id: str, title: str, filename: str,
    content: bytes, content_type: str = "application/pdf",
) -> dict[str, Any]:
    """POST /admin/api/v1/dossiers/{id}/documents (multipart): the published document."""
    document: dict[str, Any] = expect(gateway.post(
        f"/admin/api/v1/dossiers/{dossier_id}/documents",
        data={"title": title},
        files={"file": (filename, content, content_type)},
        headers=bearer(staff_token),
    ), 201)
    return document


# The demo office's identity: the header, the footer and the login page show it.
DEMO_OFFICE_SETTINGS: dict[str, Any] = {
    "name": "Verzekeringskantoor Claes & Partners",
    "postal_address": "Grote Markt 14\n9000 Gent",
    "phone": "+32 9 223 45 67",
    "addresses": {"general": "info@claes-partners.example", "claims": "",
                  "signatures": "", "registrations": ""},
    "colours": {"primary": "#1f4e79", "accent": "#8a4b08"},
    "fsma_number": "114389 A",
    "company_number": "0403.170.701",
    "website": "https://www.claes-partners.example",
    "legal_footer": "Verzekeringsmakelaar ingeschreven bij de FSMA onder nummer 114389 A.\n"
                    "Klachten: Ombudsman van de Verzekeringen, de Meeûsplantsoen 35, "
                    "1000 Brussel.",
    "default_language": "nl",
    "opening_hours": "Maandag tot vrijdag 9-12 u en 13.30-17 u\nZaterdag op afspraak",
}


def demo_logo() -> bytes:
    """A small generated logo (PNG): the office's initials on its colour."""
    image = Image.new("RGB", (240, 80), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 76, 76), radius=14, fill=(31, 78, 121))
    draw.text((40, 40), "C&P", fill=(255, 255, 255), anchor="mm",
              font=ImageFont.load_default(size=26))
    draw.text((90, 40), "Claes", fill=(31, 78, 121), anchor="lm",
              font=ImageFont.load_default(size=34))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def set_office(gateway: httpx.Client, staff_token: str) -> None:
    """The demo office's settings and logo (PUT and POST /admin/api/v1/office[/logo])."""
    current = expect(gateway.get("/admin/api/v1/office", headers=bearer(staff_token)), 200)
    expect(gateway.put("/admin/api/v1/office", headers=bearer(staff_token), json={
        **DEMO_OFFICE_SETTINGS, "expected_version": current["version"]}), 200)
    expect(gateway.post("/admin/api/v1/office/logo", headers=bearer(staff_token),
                        files={"file": ("logo.png", demo_logo(), "image/png")}), 201)


@dataclass(frozen=True)
class DemoClient:
    """A seeded client: the password they log in with and the dossiers they see."""

    password: str
    dossier_ids: list[str]


@dataclass
class DemoOffice:
    """What was seeded: the clients by e-mail address, and every dossier id."""

    clients: dict[str, DemoClient] = field(default_factory=dict)
    dossier_ids: list[str] = field(default_factory=list)


def seed_demo_office(
    gateway_url: str, admin_email: str, admin_password: str, maildir: Path
) -> DemoOffice:
    """Set the demo office's identity and logo, import the demo dossiers, invite and activate
    the demo clients, publish a PDF."""
    office = DemoOffice()
    with httpx.Client(base_url=gateway_url, timeout=30.0) as gateway:
        staff_token = log_in(gateway, admin_email, admin_password)["access_token"]
        set_office(gateway, staff_token)
        for path in DEMO_DOSSIERS:
            dossier = as_of(json.loads(path.read_text(encoding="utf-8")), date.today())
            import_dossier(gateway, staff_token, dossier)
            office.dossier_ids.append(dossier["dossier_id"])
        for email, name, language, dossier_ids in DEMO_CLIENTS:
            password = new_password()
            invite_and_activate(gateway, staff_token, maildir, email=email, display_name=name,
                                dossier_ids=dossier_ids, password=password, language=language)
            office.clients[email] = DemoClient(password, dossier_ids)
        pdf = text_pdf("Bijzondere voorwaarden WO-2023-0104455", [
            "Brandverzekering tweede verblijf - P&V Verzekeringen",
            "Vakantieappartement Zeedijk 112 bus 5.2, 8660 De Panne",
            "Verzekerd bedrag gebouw: EUR 275.000,00",
        ])
        publish_document(gateway, staff_token, SHARED_DOSSIER,
                         "Bijzondere voorwaarden brandverzekering", "voorwaarden-zeezicht.pdf", pdf)
    return office


def main() -> None:
    """Seed a running stack from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    arguments = parser.parse_args()
    office = seed_demo_office(arguments.gateway, arguments.admin_email,
                              arguments.admin_password, arguments.maildir)
    for email, client in office.clients.items():
        print(f"{email}  {client.password}  {' '.join(client.dossier_ids)}")


if __name__ == "__main__":
    main()
