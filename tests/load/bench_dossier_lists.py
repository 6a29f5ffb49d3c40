"""Benchmark: the list pages of the biggest dossier (2,000 contracts, 10,000 claims).

Against a running stack (`make dev`): the office admin imports a generated dossier through the
admin API (`POST /admin/api/v1/dossier-imports`, in parts: risk objects and contracts first,
then claims and invoices in batches - the partial imports an office would send), grants it to
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

DOSSIER_ID = "DOS-BENCH-BIG"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
BATCH = 2_000


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


def import_big_dossier(gateway: httpx.Client, staff: dict[str, str],
                       data: dict[str, Any]) -> list[dict[str, Any]]:
    """Import the dossier in parts; the reports of every part."""
    parts: list[dict[str, Any]] = [{"name": "Transport Janssens NV (benchmark)",
                                    "risk_objects": data["risk_objects"],
                                    "contracts": data["contracts"]}]
    for kind in ("claims", "invoices"):
        parts += [{kind: data[kind][i:i + BATCH]} for i in range(0, len(data[kind]), BATCH)]
    reports = []
    for part in parts:
        response = gateway.post("/admin/api/v1/dossier-imports",
                                json={"dossier_id": DOSSIER_ID, **part}, headers=staff,
                                timeout=600.0)
        response.raise_for_status()
        reports.append(response.json())
    return reports


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
        started = time.perf_counter()
        reports = import_big_dossier(gateway, staff, data)
        took = time.perf_counter() - started
        totals = {key: sum(r[key] for r in reports)
                  for key in ("created", "updated", "unchanged", "rejected")}
        print(f"import of {arguments.contracts} contracts, {arguments.claims} claims "
              f"(+ risk objects, invoices): {took:.1f} s  {totals}")
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
