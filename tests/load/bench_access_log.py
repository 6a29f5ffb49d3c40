"""Benchmark: what recording a staff read in the access log adds to a staff page.

The gateway app (create_app) answers the admin API's dossier summary
(`GET /admin/api/v1/dossiers/{dossier_id}`) for an office admin, its dossier service played by
an in-process stand-in (so the figures are the gateway's own work, not the bus's). Two apps,
identical but for the access log's middleware: with it, every read is noted, buffered and
published in batches by the background task (to a publisher that serializes each batch to
JSON, as the real one does before it hands it to the bus); without it, nothing. Rounds of
--requests sequential calls alternate between the two (ABAB) so a busy neighbour hurts both.
Prints p50/p95/p99 of each and the p95 difference (the brief: under 1 ms), and the reads
published.

    .venv/bin/python -m tests.load.bench_access_log [--requests 2000] [--rounds 4]

No infrastructure needed: one process, loopback ASGI (httpx.ASGITransport).
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from gateway.access_log import StaffReadBuffer, StaffReadMiddleware, staff_read_of
from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts import auth, dossier
from libs.contracts.caller import Role
from libs.contracts.envelope import Event
from tests.service.gateway_support import FakeRpc, write_signing_key

DOSSIER = "DOS-2019-00417"


class SerializingRpc(FakeRpc):
    """The stand-in services; `publish_event` serializes what the real client would send."""

    published_reads = 0

    async def publish_event(self, event: Event) -> None:
        """Serialize the batch as RpcClient.publish_event does, then drop it."""
        event.model_dump_json().encode()
        self.published_reads += len(getattr(event, "reads", []))


def gateway(directory: Path, *, access_log: bool) -> tuple[FastAPI, SerializingRpc, str]:
    key = write_signing_key(directory)
    rpc = SerializingRpc()
    rpc.answer(auth.LIST_REVOKED_SESSIONS, auth.RevokedSessions(session_ids=[]))
    rpc.answer(dossier.GET_DOSSIER_SUMMARY, dossier.DossierSummary(
        dossier_id=DOSSIER, name="Dupont", person_count=3, contract_count=2))
    settings = GatewaySettings(environment="test", jwt_public_key_path=str(key.public_pem_path))
    app = create_app(settings, rpc=rpc)
    if not access_log:  # the same app without the access log's middleware
        app.user_middleware = [entry for entry in app.user_middleware
                               if getattr(entry, "cls", None) is not StaffReadMiddleware]
    token = key.token(user_id="admin-1", role=Role.ADMIN, dossiers=(), name="Els Janssens",
                      lifetime_seconds=3600)
    return app, rpc, token


async def timed_round(client: httpx.AsyncClient, token: str, requests: int) -> list[float]:
    """Milliseconds of each of `requests` sequential staff reads."""
    headers = {"Authorization": f"Bearer {token}"}
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await client.get(f"/admin/api/v1/dossiers/{DOSSIER}", headers=headers)
        durations.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text
    return durations


def direct_cost_microseconds(token_claims: auth.AccessClaims, reads: int = 20_000) -> float:
    """What the middleware itself does per read (note it, buffer it), without the request."""
    route = SimpleNamespace(path="/admin/api/v1/dossiers/{dossier_id}")  # as routing sets it
    scope = {"route": route, "path_params": {"dossier_id": DOSSIER},
             "client": ("127.0.0.1", 5000), "state": {}}
    buffer = StaffReadBuffer(None)
    started = time.process_time()
    for _ in range(reads):
        buffer.add(staff_read_of(scope, token_claims))
    return (time.process_time() - started) / reads * 1e6


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as with_dir, tempfile.TemporaryDirectory() as bare_dir:
        with_app, with_rpc, with_token = gateway(Path(with_dir), access_log=True)
        bare_app, _, bare_token = gateway(Path(bare_dir), access_log=False)
        figures: dict[str, list[float]] = {"with access log": [], "without": []}
        async with with_app.router.lifespan_context(with_app), \
                bare_app.router.lifespan_context(bare_app):
            transports = {"with access log": (with_app, with_token), "without": (bare_app,
                                                                                 bare_token)}
            clients = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url="http://gateway")
                       for name, (app, _) in transports.items()}
            for name, client in clients.items():  # warm up: imports, caches, first connection
                await timed_round(client, transports[name][1], 200)
            for _ in range(rounds):
                for name, client in clients.items():
                    figures[name] += await timed_round(client, transports[name][1], requests)
            await asyncio.sleep(0.5)  # the last batch goes out
            for client in clients.values():
                await client.aclose()
        print(f"staff page GET /admin/api/v1/dossiers/{{id}}, {rounds} x {requests} "
              "sequential requests each, in-process ASGI")
        for name, values in figures.items():
            print(f"  {name:16} p50 {statistics.median(values):6.3f} ms   "
                  f"p95 {percentile(values, 0.95):6.3f} ms   "
                  f"p99 {percentile(values, 0.99):6.3f} ms")
        added = percentile(figures["with access log"], 0.95) - percentile(figures["without"],
                                                                          0.95)
        claims = auth.AccessClaims(sub="admin-1", sid="s1", role=Role.ADMIN,
                                   email="els@kantoor.be", name="Els Janssens", iat=0, exp=1)
        print(f"  the middleware's own CPU per recorded read: "
              f"{direct_cost_microseconds(claims):.1f} us")
        print(f"  access log adds {added:+.3f} ms at p95 "
              f"({'under' if added < 1.0 else 'NOT under'} 1 ms); "
              f"reads published: {with_rpc.published_reads}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
