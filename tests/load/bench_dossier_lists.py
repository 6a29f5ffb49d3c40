"""Benchmark: the list pages of the biggest dossier (2,000 contracts, 10,000 claims).

Against a running stack (`make dev`): the office admin imports a generated dossier with the
office's import CLI (`python -m services.dossier import FILE`, which sends it through the admin
API in partial records of 500 objects), twice - the first import creates it, the second finds
everything unchanged - and grants it to the first demo client. The client then asks list pages:
the first page, a deep page and the last page of several sort orders, each reached by following
the pages' cursors (keyset paging) as a client would, and details. Prints the import times and
p50/p95 per page; the walks check on the way that every row comes once and in order.

    python -m tests.load.bench_dossier_lists --run-dir .run/dev
    python -m tests.load.bench_dossier_lists --run-dir .run/dev --contracts 2000 --claims 10000

Loopback only. The dossier id is fixed (DOS-BENCH-BIG), so against a stack that already holds
it both imports find it unchanged.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

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


def import_with_cli(gateway_url: str, email: str, password: str, data: dict[str, Any]
                    ) -> tuple[float, str]:
    """Import the dossier with the office's CLI; seconds taken and its summary line."""
    record = {"dossier_id": DOSSIER_ID, "name": "Transport Janssens NV (benchmark)", **data}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "dossier-bench-big.json"
        path.write_text(json.dumps(record), "utf-8")
        started = time.perf_counter()
        finished = subprocess.run(
            [sys.executable, "-m", "services.dossier", "import", str(path),
             "--gateway", gateway_url, "--email", email],
            env={**os.environ, "MYBROKER_IMPORT_PASSWORD": password},
            capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"import failed: {finished.stdout}{finished.stderr}")
    summary = " ".join(line.strip() for line in finished.stdout.splitlines() if line.strip())
    return took, summary


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
    page = gateway.get(f"{base}/invoices", headers=headers).json()
    got = {name: page[name] for name in expected}
    claims_of_r42 = sorted(c["claim_id"] for c in data["claims"]
                           if c["risk_object_id"] == "R00042")
    detail = gateway.get(f"{base}/risk-objects/R00042", headers=headers).json()
    shown = sorted(claim["claim_id"] for claim in detail["claims"])
    claims_of_c42 = sorted(c["claim_id"] for c in data["claims"] if c["contract_id"] == "C00042")
    contract = gateway.get(f"{base}/contracts/C00042", headers=headers).json()
    of_contract = (sorted(claim["claim_id"] for claim in contract["claims"]),
                   [invoice["invoice_id"] for invoice in contract["invoices"]],
                   [risk["risk_object_id"] for risk in contract["risk_objects"]])
    print(f"invoices: expected {expected}, got {got}; claims on R00042: expected "
          f"{len(claims_of_r42)}, got {len(shown)}; claims of C00042: expected "
          f"{len(claims_of_c42)}, got {len(of_contract[0])}")
    if (got != expected or shown != claims_of_r42 or [c["contract_id"] for c in
            detail["contracts"]] != ["C00042"]
            or of_contract != (claims_of_c42, ["F00042"], ["R00042"])):
        raise SystemExit("wrong answers")


def expected_ids(data: dict[str, Any], list_name: str, id_field: str, sort: str,
                 descending: bool) -> list[str]:
    """A list's ids in the order a client must see them: sort value, ties by id."""
    rows = sorted(data[list_name], key=lambda row: (row[sort], row[id_field]),
                  reverse=descending)
    return [row[id_field] for row in rows]


def walk(gateway: httpx.Client, headers: dict[str, str], first: str, pages: int,
         id_field: str) -> tuple[str, list[str]]:
    """Follow `next` links `pages` times from `first`; the address reached, the ids seen."""
    address, seen = first, []
    for _ in range(pages):
        response = gateway.get(address, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{address}: {response.status_code} {response.text[:300]}")
        body = response.json()
        seen += [item[id_field] for item in body["items"]]
        address = body["links"]["next"]
    return address, seen


def check_order(name: str, got: list[str], expected: list[str]) -> None:
    """The walked part of a list is exactly the start of its expected order."""
    if got != expected[:len(got)]:
        raise SystemExit(f"{name}: rows out of order or missing while walking the pages")


def list_pages(gateway: httpx.Client, headers: dict[str, str], base: str,
               data: dict[str, Any], size: int) -> list[tuple[str, str]]:
    """(label, address) of the pages to time; deep pages reached by walking, as a client."""
    contracts = data["contracts"]
    claims = data["claims"]
    middle_contracts = -(-len(contracts) // size) // 2
    middle_claims = -(-len(claims) // size) // 2
    pages: list[tuple[str, str]] = [
        ("contracts, first page", f"{base}/contract-pages?page_size={size}")]
    first = f"{base}/contract-pages?page_size={size}&sort=renewal_date&order=desc"
    deep, seen = walk(gateway, headers, first, middle_contracts - 1, "contract_id")
    check_order("contracts by renewal", seen, expected_ids(
        data, "contracts", "contract_id", "renewal_date", True))
    pages.append((f"contracts by renewal desc, page {middle_contracts} (deep)", deep))
    first = f"{base}/contract-pages?page_size={size}&sort=policy_number"
    last = gateway.get(first, headers=headers).json()["links"]["last"]
    tail = [c["contract_id"] for c in gateway.get(last, headers=headers).json()["items"]]
    expected = expected_ids(data, "contracts", "contract_id", "policy_number", False)
    if tail != expected[-len(tail):]:
        raise SystemExit("contracts by policy number: wrong last page")
    pages.append(("contracts by policy number, last page", last))
    pages.append(("claims by date of loss desc, first page",
                  f"{base}/claims?page_size={size}&sort=occurred_on&order=desc"))
    first = f"{base}/claims?page_size={size}&sort=claim_number"
    deep, seen = walk(gateway, headers, first, middle_claims - 1, "claim_id")
    check_order("claims by number", seen, expected_ids(
        data, "claims", "claim_id", "claim_number", False))
    pages.append((f"claims by number, page {middle_claims} (deep)", deep))
    first = f"{base}/claims?page_size={size}&sort=status"
    last = gateway.get(first, headers=headers).json()["links"]["last"]
    last_page = gateway.get(last, headers=headers).json()
    expected = expected_ids(data, "claims", "claim_id", "status", False)
    if [c["claim_id"] for c in last_page["items"]] != expected[-len(last_page["items"]):]:
        raise SystemExit("claims by status: wrong last page")
    pages.append(("claims by status, last page", last))
    pages.append(("claims by status, the page before the last", last_page["links"]["previous"]))
    pages.append(("invoices, first page", f"{base}/invoices?page_size={size}"))
    pages.append(("risk objects, first page", f"{base}/risk-objects?page_size={size}"))
    pages.append(("contract detail", f"{base}/contracts/C00042"))
    pages.append(("risk object detail", f"{base}/risk-objects/R00042"))
    return pages


def main() -> None:
    """Build the dossier, then time its list pages."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="`make dev` run dir")
    parser.add_argument("--contracts", type=int, default=2_000)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30, help="requests per list page")
    parser.add_argument("--page-size", type=int, default=20)
    arguments = parser.parse_args()
    demo = json.loads((arguments.run_dir / "demo.json").read_text())
    if urlsplit(demo["gateway_url"]).hostname not in LOOPBACK_HOSTS:
        raise SystemExit("loopback only")
    email, client = next(iter(demo["clients"].items()))
    admin = demo["admin"]
    environment = dict(line.split("=", 1) for line in (
        arguments.run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    metrics = f"http://127.0.0.1:{environment['MYBROKER_DOSSIER_HEALTH_PORT']}/metrics"
    with httpx.Client(base_url=demo["gateway_url"], timeout=60.0) as gateway:
        data = generated_dossier(arguments.contracts, arguments.claims)
        print(f"dossier: {arguments.contracts} contracts, {arguments.claims} claims (+ as many "
              "risk objects and invoices as contracts)")
        for attempt in ("first import", "re-import"):
            took, summary = import_with_cli(demo["gateway_url"], admin["email"],
                                            admin["password"], data)
            print(f"{attempt} with the CLI: {took:.1f} s - {summary}")
            print(f"  waited {wait_for_relay(metrics):.0f} s for the outbox relay to publish "
                  "the import's events (measuring meanwhile would measure the relay)")
        staff = {"Authorization": "Bearer " + log_in(
            gateway, admin["email"], admin["password"])["access_token"]}
        token = log_in(gateway, email, client["password"])["access_token"]
        user_id = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                              ).json()["user_id"]
        gateway.put(f"/admin/api/v1/dossiers/{DOSSIER_ID}/grants/{user_id}",
                    headers=staff).raise_for_status()
        # The grant is in the next token.
        headers = {"Authorization": "Bearer " + log_in(
            gateway, email, client["password"])["access_token"]}
        base = f"/api/v1/dossiers/{DOSSIER_ID}"
        check_answers(gateway, headers, base, data)
        pages = list_pages(gateway, headers, base, data, arguments.page_size)
        print(f"{'page':<56} {'p50 ms':>8} {'p95 ms':>8}")
        for label, path in pages:
            latencies = []
            for _ in range(arguments.repeat):
                sent = time.perf_counter()
                response = gateway.get(path, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - sent)
            print(f"{label:<56} {percentile(latencies, 0.5):8.1f} "
                  f"{percentile(latencies, 0.95):8.1f}")


if __name__ == "__main__":
    main()
