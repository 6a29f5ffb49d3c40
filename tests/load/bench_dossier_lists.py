"""Benchmark: the list pages of the biggest dossier (2,000 contracts, 10,000 claims).

Against a running stack (`make dev`): the office admin imports a generated dossier through the
admin API (`POST /admin/api/v1/dossier-imports`, cut in partial records of 500 objects exactly
as `python -m services.dossier import` sends a big record), grants it to
the first demo client, and the client then asks list pages (first, middle, last; several sort
orders) one after another. Prints p50/p95 per list page and the import's duration.

    python -m tests.load.bench_dossier_lists --run-dir .run/dev
    python -m tests.load.bench_dossier_lists --run-dir .run/dev --contracts 2000 --claims 10000

Loopback only. The dossier id is fixed (DOS-BENCH-BIG), so a second run re-imports it as
"unchanged" - which measures the idempotent import too.
"""

import argparse
import json
import random
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from libs.contracts.dossier import ImportReport
from services.dossier.cli import AdminApi, send_record

DOSSIER_ID = "DOS-BENCH-BIG"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def generated_dossier(contract_count: int, claim_count: int) -> dict[str, Any]:
    """A company's dossier: one vehicle per contract, claims spread over the contracts."""
    rng = random.Random(4)  # the same dossier on every run: re-imports are unchanged
    start = date(2015, 1, 1)
    risk_objects: list[dict[str, Any]] = []
    contracts: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    for number in range(contract_count):
        risk_id, contract_id = f"R{number:05d}", f"C{number:05d}"
        risk_objects.append({
            "risk_object_id": risk_id, "kind": "vehicle",
            "description": f"Bestelwagen {number:05d}",
            "vehicle": {"license_plate": f"1-{chr(65 + number % 26)}{chr(65 + number // 26 % 26)}"
                                         f"{chr(65 + number // 676 % 26)}-{number % 1000:03d}",
                        "make": "Renault", "model": "Master"}})
        begins = start + timedelta(days=rng.randrange(3000))
        contracts.append({
            "contract_id": contract_id, "policy_number": f"FL-{rng.randrange(10**8):08d}",
            "insurer": rng.choice(["AG Insurance", "AXA Belgium", "Ethias", "Baloise Belgium"]),
            "product": "Vlootverzekering", "start_date": begins.isoformat(),
            "renewal_date": (begins + timedelta(days=365 * 11)).isoformat(),
            "annual_premium_cents": rng.randrange(40_000, 250_000), "risk_object_ids": [risk_id],
            "guarantees": [{"code": "BA", "label": "BA motorrijtuigen"},
                           {"code": "OMN", "label": "Omnium", "optional": True}]})
        invoices.append({
            "invoice_id": f"F{number:05d}", "invoice_number": f"VF-{number:06d}",
            "contract_id": contract_id, "due_date": (begins + timedelta(days=30)).isoformat(),
            "amount_cents": contracts[-1]["annual_premium_cents"],
            "status": rng.choice(["paid", "paid", "open"])})
    for number in range(claim_count):
        contract = contracts[rng.randrange(contract_count)]
        claims.append({
            "claim_id": f"S{number:06d}", "claim_number": f"SCH-{number:07d}",
            "contract_id": contract["contract_id"],
            "risk_object_id": contract["risk_object_ids"][0],
            "occurred_on": (start + timedelta(days=rng.randrange(3800))).isoformat(),
            "description": "Blikschade bij het manoeuvreren.",
            "status": rng.choice(["open", "in_progress", "closed", "closed"])})
    return {"risk_objects": risk_objects, "contracts": contracts, "claims": claims,
            "invoices": invoices}


def log_in(gateway: httpx.Client, email: str, password: str) -> dict[str, Any]:
    """The token pair of a user."""
    response = gateway.post("/api/v1/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    pair: dict[str, Any] = response.json()
    return pair


def import_big_dossier(api: AdminApi, data: dict[str, Any]) -> ImportReport:
    """Import the dossier as the import CLI does (in partial records of 500 objects)."""
    return send_record(api, {"dossier_id": DOSSIER_ID,
                             "name": "Transport Janssens NV (benchmark)", **data},
                       remove_missing=False)


def published_events(metrics_url: str) -> float:
    """How many events the dossier service's outbox relay has published so far."""
    text = httpx.get(metrics_url, timeout=10.0).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("mybroker_outbox_events_published_total{"))


def wait_for_relay(metrics_url: str, quiet_seconds: float = 5.0) -> float:
    """Wait until the relay stopped publishing (the import's events are out); seconds waited."""
    started = time.perf_counter()
    last, last_change = published_events(metrics_url), time.perf_counter()
    while time.perf_counter() - last_change < quiet_seconds:
        time.sleep(1.0)
        now = published_events(metrics_url)
        if now != last:
            last, last_change = now, time.perf_counter()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def check_answers(gateway: httpx.Client, headers: dict[str, str], base: str,
                  data: dict[str, Any]) -> None:
    """Fast is worth nothing if wrong: the totals and a risk object's claims are exact."""
    today = date.today().isoformat()
    unpaid = [i for i in data["invoices"] if i["status"] in ("open", "overdue")]
    expected = {
        "open_amount_cents": sum(i["amount_cents"] for i in unpaid),
        "overdue_count": sum(1 for i in unpaid
                             if i["status"] == "overdue" or i["due_date"] < today),
        "total": len(data["invoices"]),
    }
    page = gateway.get(f"{base}/invoices?page=1", headers=headers).json()
    got = {name: page[name] for name in expected}
    claims_of_r42 = sum(1 for c in data["claims"] if c["risk_object_id"] == "R00042")
    detail = gateway.get(f"{base}/risk-objects/R00042", headers=headers).json()
    print(f"invoices: expected {expected}, got {got}; claims on R00042: expected "
          f"{claims_of_r42}, got {len(detail['claims'])}")
    if got != expected or len(detail["claims"]) != claims_of_r42:
        raise SystemExit("wrong answers")


def main() -> None:
    """Build the dossier, then time its list pages."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="`make dev` run dir")
    parser.add_argument("--contracts", type=int, default=2_000)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30, help="requests per list page")
    arguments = parser.parse_args()
    demo = json.loads((arguments.run_dir / "demo.json").read_text())
    if urlsplit(demo["gateway_url"]).hostname not in LOOPBACK_HOSTS:
        raise SystemExit("loopback only")
    email, client = next(iter(demo["clients"].items()))
    with httpx.Client(base_url=demo["gateway_url"], timeout=60.0) as gateway:
        staff = {"Authorization": "Bearer " + log_in(
            gateway, demo["admin"]["email"], demo["admin"]["password"])["access_token"]}
        data = generated_dossier(arguments.contracts, arguments.claims)
        api = AdminApi(demo["gateway_url"], demo["admin"]["email"], demo["admin"]["password"])
        started = time.perf_counter()
        report = import_big_dossier(api, data)
        took = time.perf_counter() - started
        api.close()
        print(f"import of {arguments.contracts} contracts, {arguments.claims} claims "
              f"(+ as many risk objects and invoices): {took:.1f} s - {report.dossier}, "
              f"created {report.created}, updated {report.updated}, unchanged "
              f"{report.unchanged}, rejected {report.rejected}")
        environment = dict(line.split("=", 1) for line in (
            arguments.run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
        metrics = f"http://127.0.0.1:{environment['MYBROKER_DOSSIER_HEALTH_PORT']}/metrics"
        print(f"waited {wait_for_relay(metrics):.0f} s for the outbox relay to publish the "
              "import's events (measuring meanwhile would measure the relay)")
        token = log_in(gateway, email, client["password"])["access_token"]
        user_id = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                              ).json()["user_id"]
        gateway.put(f"/admin/api/v1/dossiers/{DOSSIER_ID}/grants/{user_id}",
                    headers=staff).raise_for_status()
        # The grant is in the next token.
        headers = {"Authorization": "Bearer " + log_in(
            gateway, email, client["password"])["access_token"]}
        base = f"/api/v1/dossiers/{DOSSIER_ID}"
        last_contracts = -(-arguments.contracts // 20)
        last_claims = -(-arguments.claims // 20)
        pages = [
            f"{base}/contract-pages?page=1",
            f"{base}/contract-pages?page={last_contracts // 2}&sort=renewal_date&order=desc",
            f"{base}/contract-pages?page={last_contracts}&sort=policy_number",
            f"{base}/claims?page=1&sort=occurred_on&order=desc",
            f"{base}/claims?page={last_claims // 2}&sort=claim_number",
            f"{base}/claims?page={last_claims}&sort=status",
            f"{base}/invoices?page=1",
            f"{base}/risk-objects?page=1",
            f"{base}/contracts/C00042",
            f"{base}/risk-objects/R00042",
        ]
        check_answers(gateway, headers, base, data)
        print(f"{'page':<72} {'p50 ms':>8} {'p95 ms':>8}")
        for path in pages:
            latencies = []
            for _ in range(arguments.repeat):
                sent = time.perf_counter()
                response = gateway.get(path, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - sent)
            print(f"{path.removeprefix(base):<72} {percentile(latencies, 0.5):8.1f} "
                  f"{percentile(latencies, 0.95):8.1f}")


if __name__ == "__main__":
    main()
