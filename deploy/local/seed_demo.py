"""Seeds a demo office through the gateway's HTTP API, exactly as the office and its clients would.

The office admin imports three dossiers, invites two clients (each reads the activation link in
the mail sink and chooses a password) and publishes a PDF. One dossier is shared by both clients.

    python -m deploy.local.seed_demo --gateway http://127.0.0.1:8000 \
        --admin-email admin@mybroker.example --admin-password ... --maildir .run/dev/maildir
"""

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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
    """Import the demo dossiers, invite and activate the demo clients, publish a PDF."""
    office = DemoOffice()
    with httpx.Client(base_url=gateway_url, timeout=30.0) as gateway:
        staff_token = log_in(gateway, admin_email, admin_password)["access_token"]
        for path in DEMO_DOSSIERS:
            dossier = json.loads(path.read_text(encoding="utf-8"))
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
