"""The office loads a dossier with the import CLI through the admin API; the client then reads
exactly that data in every view, and another client reads none of it (manual 3.1)."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack, fixture_dossier, new_client

pytestmark = pytest.mark.system
REPOSITORY = Path(__file__).resolve().parents[2]


def run_import(stack: SystemStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m services.dossier import ...` as the office runs it."""
    environment = {**os.environ, "MYBROKER_IMPORT_GATEWAY_URL": stack.gateway_url,
                   "MYBROKER_IMPORT_EMAIL": stack.config.admin_email,
                   "MYBROKER_IMPORT_PASSWORD": stack.config.admin_password}
    return subprocess.run([sys.executable, "-m", "services.dossier", "import", *arguments],
                          cwd=REPOSITORY, env=environment, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def imported(system_stack: SystemStack, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Any]:
    """A fresh copy of the Dupont household, imported twice by the CLI (JSON Lines file)."""
    record = fixture_dossier("dupont")
    record["dossier_id"] = f"DOS-SYS-{uuid.uuid4().hex[:8]}"
    broken = dict(record["invoices"][0], invoice_id="F-BROKEN", due_date="31/02/2026")
    sent = dict(record, invoices=[*record["invoices"], broken])
    export = tmp_path_factory.mktemp("export") / "office.jsonl"
    export.write_text(json.dumps(sent) + "\n", encoding="utf-8")

    first = run_import(system_stack, str(export))
    assert first.returncode == 1, first.stderr  # one object refused
    assert "created 11, updated 0, unchanged 0, removed 0, rejected 1" in first.stdout
    assert f"{export}:1 invoices[2] (F-BROKEN): invoices[2].due_date" in first.stdout

    again = run_import(system_stack, str(export))
    assert "created 0, updated 0, unchanged 11, removed 0, rejected 1" in again.stdout
    return record


@pytest.fixture(scope="module")
def household(system_stack: SystemStack, imported: dict[str, Any]) -> ClientLogin:
    with httpx.Client(base_url=system_stack.gateway_url, timeout=30.0) as gateway:
        return new_client(system_stack, gateway, "Pieter Dupont", [imported["dossier_id"]])


def test_the_client_sees_exactly_the_imported_data(
    gateway: httpx.Client, imported: dict[str, Any], household: ClientLogin,
) -> None:
    client = bearer(household.log_in(gateway))
    base = f"/api/v1/dossiers/{imported['dossier_id']}"

    persons = gateway.get(f"{base}/persons", headers=client).json()["persons"]
    assert [p["national_number"] for p in persons] == [
        p["national_number"] for p in imported["persons"]]

    risks = gateway.get(f"{base}/risk-objects", headers=client).json()
    assert [line["risk_object"]["risk_object_id"] for line in risks["items"]] == [
        r["risk_object_id"] for r in imported["risk_objects"]]
    car = gateway.get(f"{base}/risk-objects/R-00417-1", headers=client).json()
    assert car["risk_object"]["vehicle"]["vin"] == "WVWZZZCDZMW123456"
    assert [c["contract_id"] for c in car["contracts"]] == ["C-00417-AUTO"]
    assert [c["claim_id"] for c in car["claims"]] == ["S-00417-1"]

    contracts = gateway.get(f"{base}/contract-pages?sort=policy_number", headers=client).json()
    assert [c["policy_number"] for c in contracts["items"]] == sorted(
        c["policy_number"] for c in imported["contracts"])
    detail = gateway.get(f"{base}/contracts/C-00417-AUTO", headers=client).json()
    assert detail["contract"] == gateway.get(f"{base}/contracts", headers=client).json()[
        "contracts"][0]
    assert [i["invoice_id"] for i in detail["invoices"]] == ["F-00417-1"]

    claims = gateway.get(f"{base}/claims", headers=client).json()
    assert [c["claim_number"] for c in claims["items"]] == ["SCH-2024-018832"]
    invoices = gateway.get(f"{base}/invoices", headers=client).json()
    assert [i["invoice_id"] for i in invoices["items"]] == ["F-00417-1", "F-00417-2"]
    assert invoices["open_amount_cents"] == 48720


def test_another_client_sees_nothing_of_it(
    gateway: httpx.Client, imported: dict[str, Any], peeters_client: ClientLogin,
) -> None:
    other = bearer(peeters_client.log_in(gateway))
    base = f"/api/v1/dossiers/{imported['dossier_id']}"
    for path in ("persons", "risk-objects", "risk-objects/R-00417-1", "contract-pages",
                 "contracts/C-00417-AUTO", "claims", "claims/S-00417-1", "invoices"):
        response = gateway.get(f"{base}/{path}", headers=other)
        assert response.status_code == 404, path
        assert set(response.json()) <= {"type", "title", "status", "detail", "instance"}
        assert "Dupont" not in response.text


def test_the_client_pages_through_a_list_by_its_links_and_a_forged_cursor_is_refused(
    gateway: httpx.Client, imported: dict[str, Any], household: ClientLogin,
) -> None:
    client = bearer(household.log_in(gateway))
    first = gateway.get(f"/api/v1/dossiers/{imported['dossier_id']}/contract-pages"
                        "?page_size=2&sort=insurer&order=desc", headers=client).json()
    assert (first["page"], first["page_count"], first["links"]["previous"]) == (1, 2, None)
    second = gateway.get(first["links"]["next"], headers=client).json()
    assert (second["page"], second["links"]["next"]) == (2, None)
    assert second == gateway.get(first["links"]["last"], headers=client).json() | {
        "links": second["links"]}
    insurers = [c["insurer"] for c in first["items"] + second["items"]]
    assert insurers == sorted((c["insurer"] for c in imported["contracts"]), reverse=True)
    back = gateway.get(second["links"]["previous"], headers=client).json()
    assert back["items"] == first["items"]

    forged = first["links"]["next"][:-6] + "AAAAAA"
    refused = gateway.get(forged, headers=client)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cursor" in refused.json()["errors"]
