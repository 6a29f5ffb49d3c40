"""Benchmark: the gateway's CPU per request of the contracts page (`GET /contracts`, HTML).

The gateway app (create_app) with its dossier service played by an in-process stand-in, signed
in as a client of two dossiers, its read model synchronised as if its listener consumed. Modes:

- `rendered`: no version known (the listener not connected): every request reads the service
  and renders the whole page, as without the read model;
- `kept, routed`: the page kept in the read model, the request through FastAPI's routing and
  dependencies (the app without gateway/read_fast_path.py);
- `kept, short way`: the page kept, answered by the short way (the app as it runs);
- `client only`: an empty ASGI app behind the same httpx client: the load generator's share,
  subtracted in the last column.

CPU milliseconds per request of this one process (time.process_time), so a busy machine
changes the figures far less than it changes throughput. Rounds alternate between the modes.

    .venv/bin/python -m tests.load.bench_contracts_page [--requests 2000] [--rounds 3]

No infrastructure needed: one process, loopback ASGI (httpx.ASGITransport).
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from gateway.config import GatewaySettings
from gateway.main import create_app
from gateway.read_fast_path import ReadFastPath
from gateway.read_model import DossierVersions, ReadModel
from tests.service.gateway_support import household_rpc, write_signing_key

PAGE = "/contracts?dossier=D1"


async def _empty(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"x" * 6000})


@asynccontextmanager
async def client_of(mode: str, directory: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in browser on the app of `mode`, warmed up."""
    key = write_signing_key(directory)
    cookies = {"mb_access": key.token(dossiers=("D1", "D2")), "mb_csrf": "c" * 43}
    if mode == "client only":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_empty),
                                     base_url="http://testserver", cookies=cookies) as client:
            yield client
        return
    app: FastAPI = create_app(GatewaySettings(
        environment="test", jwt_public_key_path=str(key.public_pem_path)), rpc=household_rpc())
    if mode == "kept, routed":
        app.user_middleware = [entry for entry in app.user_middleware
                               if getattr(entry, "cls", None) is not ReadFastPath]
    async with app.router.lifespan_context(app):
        state = app.state.gateway
        state.read_model = ReadModel(DossierVersions(settle_seconds=0.0))
        if mode != "rendered":
            state.read_model.versions.synchronise()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver", cookies=cookies) as client:
            for _ in range(50):
                answer = await client.get(PAGE)
                assert answer.status_code == 200, answer.text
            yield client


async def cpu_per_request(client: httpx.AsyncClient, requests: int) -> float:
    """CPU milliseconds of this process per request, `requests` sequential requests."""
    started = time.process_time()
    for _ in range(requests):
        await client.get(PAGE)
    return (time.process_time() - started) * 1000 / requests


async def _benchmark(requests: int, rounds: int) -> None:
    modes = ["rendered", "kept, routed", "kept, short way", "client only"]
    figures: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(rounds):
            for mode in modes:
                async with client_of(mode, Path(directory)) as client:
                    figures[mode].append(await cpu_per_request(client, requests))
    client_share = statistics.median(figures["client only"])
    print(f"GET {PAGE}: {requests} requests x {rounds} rounds per mode, CPU ms per request "
          "(median of the rounds; last column without the client's share)")
    for mode in modes:
        median = statistics.median(figures[mode])
        gateway = f"{median - client_share:6.3f}" if mode != "client only" else "     -"
        print(f"  {mode:<16} {median:6.3f} ms   gateway {gateway} ms")


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(_benchmark(arguments.requests, arguments.rounds))


if __name__ == "__main__":
    main()
