"""Benchmark: client reads of the dossier through the gateway versus a monolith reading MongoDB.

Against a running stack (`make dev`), with `wrk` (Debian package) as the load generator:

- closed loop (`wrk -c 32`): throughput and latency of "my contracts" (the paged route
  `/contract-pages` when it exists, else `/contracts`), of the contracts page (`/contracts`, HTML),
  and of the baseline: a minimal FastAPI app (tests/load/bench_contracts.py --serve-baseline)
  that runs the dossier service's own queries on its database, no gateway, no RPC, no token;
- fixed rates (100 and 300 requests/s, wrk with tests/load/wrk_rate.lua pacing each thread):
  p50/p99 of the gateway and of the baseline, and the rate actually held;
- CPU milliseconds per request of each process (gateway, dossier, RabbitMQ, the database;
  baseline), from /proc/<pid>/stat before and after each run (RabbitMQ is the machine's: other
  vhosts' traffic counts too);
- `--staleness N`: N imports through the dossier service's RPC (not through this gateway, as
  another gateway instance or the office's tool would), each followed by reads through the
  gateway until the new premium shows: the delay after the service's acknowledgement, p50/p99.

    python -m tests.load.bench_reads --run-dir .run/dev [--seconds 10] [--staleness 50]
        [--list contracts] [--no-page]

Loopback only; every wrk run is bounded by --seconds (at most 60). The load generator shares
the machine's CPUs with the stack: compare the rows of one run, don't quote them alone.
"""

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.load.bench_contracts import (
    LOOPBACK_HOSTS,
    _defaults_from_run_dir,
    bearer_headers,
    start_baseline,
)

MAX_SECONDS = 60.0
RATE_SCRIPT = Path(__file__).with_name("wrk_rate.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run printed."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, headers: dict[str, str], *, connections: int, seconds: float,
            rate: float | None = None, threads: int = 2) -> WrkResult:
    """One wrk run on `url`; with `rate`, paced to that many requests per second in all."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
               "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    environment = dict(os.environ)
    if rate is not None:
        command += ["-s", str(RATE_SCRIPT)]
        environment["WRK_RATE"] = str(rate / threads)  # each thread paces its own share
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env=environment, timeout=seconds + 30).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(s|ms|m)", output)
    assert done is not None, output
    errors = sum(int(number) for number in re.findall(
        r"(?:connect|read|write|timeout) (\d+)", output))
    errors += int(found.group(1)) if (found := re.search(
        r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    assert "50" in latency and "99" in latency, output
    return WrkResult(int(done.group(1)), _milliseconds(done.group(2) + done.group(3)) / 1000,
                     _milliseconds(latency["50"]), _milliseconds(latency["99"]), errors)


# --- CPU time of the processes ------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                if "=" in item)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def stack_processes(gateway_url: str, mongo_url: str) -> dict[str, list[int]]:
    """The pids of this stack's gateway and dossier service (by their environment), of the
    database server (by its port) and of RabbitMQ (the machine's)."""
    found: dict[str, list[int]] = {"gateway": [], "dossier": [], "rabbitmq": [], "database": []}
    mongo_port = str(urlsplit(mongo_url).port or 27017)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        command = _cmdline(pid)
        if "beam.smp" in command and "-home /var/lib/rabbitmq" in command:
            found["rabbitmq"].append(pid)  # the machine's node (a test's own lives elsewhere)
        elif re.search(rf"(nx-27017|mongod)\b.* (-p|--port) {mongo_port}\b", command):
            found["database"].append(pid)
        elif (" -m gateway" in command or " -m services.dossier" in command) \
                and _environ(pid).get("MYBROKER_MONGO_URL") == mongo_url:
            found["gateway" if " -m gateway" in command else "dossier"].append(pid)
    if len(found["rabbitmq"]) > 1:  # a test's own node started as the same user: the oldest
        found["rabbitmq"] = [min(found["rabbitmq"], key=_started)]
    return found


def _started(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except OSError:
        return 1 << 62


class CpuMeter:
    """CPU time of groups of processes between `start()` and `stop()`."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = {name: pids for name, pids in groups.items() if pids}
        self._before: dict[str, int] = {}

    def _read(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for name, pids in self.groups.items():
            total = 0
            for pid in pids:
                with contextlib.suppress(OSError):  # ended meanwhile
                    total += _cpu_ticks(pid)
            totals[name] = total
        return totals

    def start(self) -> None:
        """Take the first reading."""
        self._before = self._read()

    def per_request(self, requests: int) -> dict[str, float]:
        """CPU milliseconds per request of each group since `start()`."""
        after = self._read()
        return {name: (after[name] - self._before[name]) * 1000 / CLK_TCK / max(requests, 1)
                for name in self.groups}


def measured(name: str, url: str, headers: dict[str, str], meter: CpuMeter, **shape: Any
             ) -> str:
    """One wrk run as one printed row: rate, p50, p99, errors, CPU ms per request."""
    meter.start()
    result = run_wrk(url, headers, **shape)
    cpu = meter.per_request(result.requests)
    cpu_text = "  ".join(f"{group} {value:.2f}" for group, value in cpu.items())
    return (f"{name:<34} {result.per_second:7.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
            f"p99 {result.p99_ms:6.1f} ms  errors {result.errors:<4}  CPU ms/req: {cpu_text}")


# --- staleness after an import ------------------------------------------------------------------


async def staleness(gateway_url: str, amqp_url: str, headers: dict[str, str], dossier_id: str,
                    rounds: int) -> list[float]:
    """Seconds from the service's acknowledgement of an import to the gateway showing it."""
    from libs.contracts import dossier
    from libs.contracts.caller import Caller, Role
    from libs.servicekit.rpc import RpcClient

    rpc = RpcClient(amqp_url, timeout_seconds=30)
    await rpc.connect()
    path = f"/api/v1/dossiers/{dossier_id}/contracts"
    delays: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=gateway_url, headers=headers,
                                     timeout=30.0) as client:
            contract = (await client.get(path)).json()["contracts"][0]
            for round_number in range(rounds):
                premium = contract["annual_premium_cents"] + 1 + round_number
                # The gateway keeps the current answer first (a read model that has it cached
                # is what may be stale), then the import goes to the service directly.
                for _ in range(3):
                    await client.get(path)
                await asyncio.sleep(1.1)  # past the settling time of the previous change
                await client.get(path)
                await rpc.call(dossier.UPSERT_DOSSIER, dossier.UpsertDossierRequest(
                    caller=Caller(user_id="bench", role=Role.ADMIN),
                    record=dossier.DossierRecord.model_validate({
                        "dossier_id": dossier_id,
                        "contracts": [{**contract, "annual_premium_cents": premium}]})))
                acknowledged = time.perf_counter()
                while True:
                    answer = (await client.get(path)).json()
                    shown = {c["contract_id"]: c["annual_premium_cents"]
                             for c in answer["contracts"]}
                    if shown.get(contract["contract_id"]) == premium:
                        break
                    if time.perf_counter() - acknowledged > 30:
                        raise SystemExit("the gateway did not show an import within 30 s")
                delays.append(time.perf_counter() - acknowledged)
            # Put the premium back as it was.
            await rpc.call(dossier.UPSERT_DOSSIER, dossier.UpsertDossierRequest(
                caller=Caller(user_id="bench", role=Role.ADMIN),
                record=dossier.DossierRecord.model_validate({
                    "dossier_id": dossier_id, "contracts": [contract]})))
    finally:
        await rpc.close()
    return delays


# --- command line --------------------------------------------------------------------------------


async def _page_cookies(gateway_url: str, email: str, password: str) -> str:
    """A Cookie header of a browser signed in through the login form."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30.0) as browser:
        form = await browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None, "no CSRF field on the login page"
        signed_in = await browser.post("/login", data={
            "email": email, "password": password, "next": "/", "csrf_token": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="a `make dev` run dir")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rates", default="100,300")
    parser.add_argument("--list", choices=["auto", "contract-pages", "contracts"],
                        default="auto", help="the API route (auto: the paged one if it exists)")
    parser.add_argument("--no-page", action="store_true", help="skip the HTML page")
    parser.add_argument("--staleness", type=int, default=0, metavar="N",
                        help="also measure N imports' delay until the gateway shows them")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is missing: apt-get install -y wrk")
    if not 0 < arguments.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS:.0f}]")
    found = _defaults_from_run_dir(arguments.run_dir)
    gateway = found["gateway"]
    if urlsplit(gateway).hostname not in LOOPBACK_HOSTS:
        parser.error("loopback only: the gateway must be on 127.0.0.1 / localhost")
    environment = dict(line.split("=", 1) for line in
                       (arguments.run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    headers = asyncio.run(bearer_headers(gateway, found["email"], found["password"]))
    cookies = asyncio.run(_page_cookies(gateway, found["email"], found["password"]))
    dossier_id = found["dossier"]
    api_path = arguments.list
    if api_path == "auto":
        paged = httpx.get(f"{gateway}/api/v1/dossiers/{dossier_id}/contract-pages",
                          headers=headers)
        api_path = "contract-pages" if paged.status_code == 200 else "contracts"
    baseline_path = api_path
    api_url = f"{gateway}/api/v1/dossiers/{dossier_id}/{api_path}"
    page_url = f"{gateway}/contracts?dossier={dossier_id}"
    meter = CpuMeter(stack_processes(gateway, found["mongo_url"]))
    print(f"{os.cpu_count()} CPUs shared with wrk (and whatever else runs); processes: "
          + ", ".join(f"{name} {pids}" for name, pids in meter.groups.items()))
    print(f"gateway API: GET {api_url}\ngateway page: GET {page_url}")
    rates = [float(rate) for rate in arguments.rates.split(",") if rate]
    closed = {"connections": arguments.connections, "seconds": arguments.seconds}
    shapes: list[tuple[str, dict[str, Any]]] = [(f"c{arguments.connections}", closed)] + [
        (f"{rate:.0f}/s", {"connections": 32, "seconds": arguments.seconds, "rate": rate})
        for rate in rates]
    process, base = start_baseline(found["mongo_url"], found["mongo_db"])
    try:
        baseline_meter = CpuMeter({"baseline": [process.pid],
                                   "database": meter.groups.get("database", [])})
        baseline_url = f"{base}/dossiers/{dossier_id}/{baseline_path}"
        # Each shape runs on the gateway and then at once on the baseline: the machine's other
        # load changes less between the two rows that are compared.
        targets = [(api_url, f"gateway /{api_path}", headers, meter),
                   (baseline_url, f"baseline /{baseline_path}", {}, baseline_meter)]
        if not arguments.no_page:
            targets.append((page_url, "gateway page /contracts", {"Cookie": cookies}, meter))
        for url, _, use, _ in targets:
            run_wrk(url, use, connections=4, seconds=2)  # warm-up
        for shape_name, shape in shapes:
            for url, name, use, group in targets:
                print(measured(f"{name} {shape_name}", url, use, group, **shape), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=10)

    if arguments.staleness:
        delays = asyncio.run(staleness(gateway, environment["MYBROKER_AMQP_URL"], headers,
                                       dossier_id, arguments.staleness))
        ordered = sorted(delays)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        print(f"staleness after an import acknowledged by the service ({len(delays)} imports): "
              f"p50 {1000 * statistics.median(delays):.0f} ms  p99 {1000 * p99:.0f} ms  "
              f"max {1000 * max(delays):.0f} ms")


if __name__ == "__main__":
    main()
