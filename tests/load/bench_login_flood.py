"""Benchmark: do contract reads keep going while a flood of wrong-password logins arrives?

Against a running stack (`make dev`): reads "my contracts" with N clients for T seconds (before),
then again while F senders post wrong-password logins as fast as they are answered (during).
Each flood login uses a fresh unknown address and a fresh X-Forwarded-For address (the gateway
trusts it from 127.0.0.1 by default), so neither the per-account nor the per-IP back-off stops
it early: every attempt reaches auth's password hashing, the worst case for the CPU. Prints the
reads' p50/p95 before and during, and the logins answered per second by status.

    python -m tests.load.bench_login_flood --run-dir .run/dev
    python -m tests.load.bench_login_flood --gateway http://127.0.0.1:8400 --email E \
        --password P --dossier DOS-2019-00417 --flood 32 --seconds 15

Loopback only; bounded by --seconds (at most 240: access tokens live 5 minutes).
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.load.bench_contracts import (
    LOOPBACK_HOSTS,
    MAX_SECONDS,
    LoadResult,
    bearer_headers,
    load,
)


def _defaults_from_run_dir(run_dir: Path) -> dict[str, str]:
    """Gateway and the first demo client of a `make dev` run directory."""
    environment = dict(line.split("=", 1) for line in
                       (run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    demo = json.loads((run_dir / "demo.json").read_text())
    email, client = next(iter(demo["clients"].items()))
    return {"gateway": environment["MYBROKER_GATEWAY_PUBLIC_URL"], "email": email,
            "password": client["password"], "dossier": client["dossiers"][0]}


async def flood(gateway: str, *, senders: int, seconds: float) -> tuple[Counter[int], float]:
    """Wrong-password logins from `senders` clients until time is up: statuses, seconds."""
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    deadline = started + seconds

    async def one_sender(number: int) -> None:
        async with httpx.AsyncClient(base_url=gateway, timeout=60.0) as client:
            attempt = 0
            while time.perf_counter() < deadline:
                attempt += 1
                # 10.x.y.z: a different client address per attempt (documentation-free range)
                address = f"10.{number % 250}.{attempt // 250 % 250}.{attempt % 250 + 1}"
                try:
                    response = await client.post(
                        "/api/v1/auth/login",
                        json={"email": f"flood-{uuid.uuid4().hex[:12]}@example.com",
                              "password": "not the right password at all"},
                        headers={"X-Forwarded-For": address})
                except httpx.HTTPError:
                    statuses[0] += 1
                    continue
                statuses[response.status_code] += 1

    await asyncio.gather(*(one_sender(n) for n in range(senders)))
    return statuses, time.perf_counter() - started


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="a `make dev` run dir (.run/dev)")
    parser.add_argument("--gateway")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--dossier")
    parser.add_argument("--readers", type=int, default=4, help="concurrent contract readers")
    parser.add_argument("--flood", type=int, default=32, help="concurrent login senders")
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    arguments = parser.parse_args()
    if arguments.run_dir is not None:
        for key, value in _defaults_from_run_dir(arguments.run_dir).items():
            if getattr(arguments, key) is None:
                setattr(arguments, key, value)
    missing = [n for n in ("gateway", "email", "password", "dossier") if not getattr(arguments, n)]
    if missing:
        parser.error(f"missing: {', '.join(missing)} (or give --run-dir)")
    if urlsplit(arguments.gateway).hostname not in LOOPBACK_HOSTS:
        parser.error("loopback only: the gateway must be on 127.0.0.1 / localhost")
    if not 0 < arguments.seconds <= MAX_SECONDS / 2:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS / 2:.0f}]")
    return arguments


async def _benchmark(arguments: argparse.Namespace) -> None:
    headers = await bearer_headers(arguments.gateway, arguments.email, arguments.password)
    url = f"{arguments.gateway}/api/v1/dossiers/{arguments.dossier}/contracts"
    shape = {"concurrency": arguments.readers, "seconds": arguments.seconds,
             "max_requests": 1_000_000}
    print(f"reads: GET {url} from {arguments.readers} clients; flood: {arguments.flood} "
          f"senders of wrong-password logins; {arguments.seconds:.0f} s per phase; "
          f"{os.cpu_count()} CPUs shared with the load generator")
    before: LoadResult = await load("before", url, headers, **shape)
    print(before.line())
    during, (statuses, flood_seconds) = await asyncio.gather(
        load("during", url, headers, **shape),
        flood(arguments.gateway, senders=arguments.flood, seconds=arguments.seconds))
    print(during.line())
    answered = sum(count for status, count in statuses.items() if status)
    by_status = ", ".join(f"{status or 'error'}: {count}" for status, count in
                          sorted(statuses.items()))
    print(f"logins   {answered / flood_seconds:8.1f} answered/s  ({by_status} in "
          f"{flood_seconds:.1f} s)")
    if before.percentile(0.95) > 0:
        ratio = during.percentile(0.95) / before.percentile(0.95)
        print(f"reads p95 during / before: {ratio:.1f}x")


def main() -> None:
    """Command line entry point."""
    asyncio.run(_benchmark(_arguments()))


if __name__ == "__main__":
    main()
