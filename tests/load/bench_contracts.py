"""Benchmark: "my contracts" through the whole stack versus a bare MongoDB read.

Starts nothing of the stack itself. Against a running stack (`make dev`), it loads
GET /api/v1/dossiers/{id}/contracts with N concurrent httpx clients for T seconds, then starts a
minimal FastAPI app (a subprocess) that reads the same dossier straight from MongoDB and loads it
the same way. Prints requests/s and p50/p95/p99 of both and their ratio: what the gateway, the
token check and the RPC over RabbitMQ cost on top of the database read.

    python -m tests.load.bench_contracts --run-dir .run/dev              # a `make dev` stack
    python -m tests.load.bench_contracts --gateway http://127.0.0.1:8000 --email E --password P \
        --dossier DOS-2019-00417 --mongo-url mongodb://127.0.0.1:27017 --mongo-db mybroker_dossier

Loopback only; bounded by --seconds (at most 240: access tokens live 5 minutes) and --max-requests.
The load generator runs on the same machine and takes CPU from the stack: compare, don't quote.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPOSITORY = Path(__file__).resolve().parents[2]
MAX_SECONDS = 240.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    def line(self) -> str:
        """One printed line of figures."""
        return (f"{self.name:<9} {self.per_second:8.1f} req/s  p50 {self.percentile(0.50):7.1f} ms"
                f"  p95 {self.percentile(0.95):7.1f} ms  p99 {self.percentile(0.99):7.1f} ms"
                f"  ({self.requests} ok, {self.errors} errors in {self.seconds:.1f} s)")


async def load(
    name: str, url: str, headers: dict[str, str], *, concurrency: int, seconds: float,
    max_requests: int,
) -> LoadResult:
    """GET `url` from `concurrency` clients, each one request at a time, until time or count."""
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def one_client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(headers=headers, timeout=30.0) as client:
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                sent = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    errors += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors += 1

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return LoadResult(name, len(latencies), errors, time.perf_counter() - started, latencies)


# --- the baseline: a minimal app reading the dossier straight from MongoDB -----------------------


def serve_baseline(port: int, mongo_url: str, mongo_db: str) -> None:
    """Run the baseline app (this module with --serve-baseline) until terminated."""
    import uvicorn
    from fastapi import FastAPI, HTTPException

    from libs.contracts.caller import Caller, Role
    from libs.contracts.dossier import Contract, ContractList, ContractPage, ListQuery, RiskObject
    from libs.servicekit.cursor_signing import CursorSigner
    from libs.servicekit.errors import ServiceError
    from libs.servicekit.mongo import create_mongo_client
    from services.dossier.consultation import DossierConsultation
    from services.dossier.cursors import PageCursors
    from services.dossier.domain import covered_risk_objects
    from services.dossier.store import DossierStore

    app = FastAPI()
    store = DossierStore(create_mongo_client(mongo_url)[mongo_db])  # the same queries, no RPC
    consultation = DossierConsultation(store, PageCursors(CursorSigner(os.urandom(32))))
    reader = Caller(user_id="baseline", role=Role.AGENT)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/dossiers/{dossier_id}/contracts")
    async def contracts(dossier_id: str) -> ContractList:
        if await store.get_header(dossier_id) is None:
            raise HTTPException(404)
        contracts = await store.find(dossier_id, Contract)
        return ContractList(
            dossier_id=dossier_id, contracts=contracts,
            risk_objects=covered_risk_objects(contracts, await store.find(dossier_id, RiskObject)),
        )

    @app.get("/dossiers/{dossier_id}/contract-pages")
    async def contract_page(dossier_id: str, page_size: int = 20) -> ContractPage:
        try:
            return await consultation.list_contract_page(ListQuery(
                caller=reader, dossier_id=dossier_id, page_size=page_size))
        except ServiceError as error:
            raise HTTPException(404 if error.code == "not_found" else 422) from None

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_baseline(mongo_url: str, mongo_db: str) -> tuple[subprocess.Popen[bytes], str]:
    """The baseline app in a subprocess on a free loopback port, once it answers."""
    from deploy.local.processes import free_port, http_ok

    port = free_port()
    process = subprocess.Popen([
        sys.executable, "-m", "tests.load.bench_contracts", "--serve-baseline", str(port),
        "--mongo-url", mongo_url, "--mongo-db", mongo_db], cwd=REPOSITORY)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not http_ok(f"{base}/health"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the baseline app did not start")
        time.sleep(0.2)
    return process, base


# --- command line --------------------------------------------------------------------------------


def _defaults_from_run_dir(run_dir: Path) -> dict[str, Any]:
    """Gateway, Mongo and the first demo client of a `make dev` run directory."""
    environment = dict(line.split("=", 1) for line in
                       (run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    demo = json.loads((run_dir / "demo.json").read_text())
    email, client = next(iter(demo["clients"].items()))
    return {"gateway": environment["MYBROKER_GATEWAY_PUBLIC_URL"],
            "mongo_url": environment["MYBROKER_MONGO_URL"],
            "mongo_db": f"{environment['MYBROKER_MONGO_DB_PREFIX']}_dossier",
            "email": email, "password": client["password"], "dossier": client["dossiers"][0]}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="a `make dev` run dir (.run/dev)")
    parser.add_argument("--gateway")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--dossier")
    parser.add_argument("--mongo-url")
    parser.add_argument("--mongo-db", help="the dossier service's database")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.run_dir is not None:
        for key, value in _defaults_from_run_dir(arguments.run_dir).items():
            if getattr(arguments, key) is None:
                setattr(arguments, key, value)
    if arguments.serve_baseline is None:
        missing = [name for name in ("gateway", "email", "password", "dossier", "mongo_url",
                                     "mongo_db") if getattr(arguments, name) is None]
        if missing:
            parser.error(f"missing: {', '.join(missing)} (or give --run-dir)")
        if urlsplit(arguments.gateway).hostname not in LOOPBACK_HOSTS:
            parser.error("loopback only: the gateway must be on 127.0.0.1 / localhost")
        if not 0 < arguments.seconds <= MAX_SECONDS:
            parser.error(f"--seconds must be in (0, {MAX_SECONDS:.0f}]")
    return arguments


async def bearer_headers(gateway_url: str, email: str, password: str) -> dict[str, str]:
    """Log the client in through the gateway: the Authorization header of its access token."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30.0) as gateway:
        login = await gateway.post("/api/v1/auth/login", json={
            "email": email, "password": password})
        login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _benchmark(arguments: argparse.Namespace) -> None:
    headers = await bearer_headers(arguments.gateway, arguments.email, arguments.password)
    path = f"/api/v1/dossiers/{arguments.dossier}/contracts"
    shape = {"concurrency": arguments.concurrency, "seconds": arguments.seconds,
             "max_requests": arguments.max_requests}
    print(f"GET {path}: {arguments.concurrency} clients, {arguments.seconds:.0f} s each, "
          f"{os.cpu_count()} CPUs shared with the load generator")
    await load("warm-up", arguments.gateway + path, headers, concurrency=2, seconds=1.0,
               max_requests=200)
    stack = await load("gateway", arguments.gateway + path, headers, **shape)
    print(stack.line(), flush=True)

    process, base = start_baseline(arguments.mongo_url, arguments.mongo_db)
    try:
        baseline_url = f"{base}/dossiers/{arguments.dossier}/contracts"
        await load("warm-up", baseline_url, {}, concurrency=2, seconds=1.0, max_requests=200)
        baseline = await load("mongo", baseline_url, {}, **shape)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(baseline.line())
    if stack.per_second:
        print(f"ratio     mongo/gateway throughput {baseline.per_second / stack.per_second:.2f}x, "
              f"gateway/mongo p50 latency "
              f"{stack.percentile(0.5) / baseline.percentile(0.5):.2f}x")


def main() -> None:
    """Run the benchmark, or (internally) serve the baseline app."""
    arguments = _arguments()
    if arguments.serve_baseline is not None:
        serve_baseline(arguments.serve_baseline, arguments.mongo_url, arguments.mongo_db)
    else:
        asyncio.run(_benchmark(arguments))


if __name__ == "__main__":
    main()
