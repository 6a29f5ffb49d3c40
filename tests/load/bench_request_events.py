"""Benchmark: how fast an office answer reaches an open "Mijn aanvragen" stream, and what 1,000
open streams cost the gateway.

Starts a stack of its own (every service and the gateway as processes, like the system tests)
on the infrastructure `deploy.local.stack test` provides, with the streams-per-account limit
raised so one client can hold the 1,000 streams. Then:

1. latency: one stream open on the client's dossier; the office answers the client's message N
   times through the admin API; for each answer, the time from sending the answer to the
   `replied` event arriving on the stream. Prints p50/p99.
2. memory: the gateway's resident memory (VmRSS) before and after opening 1,000 streams.

    python -m deploy.local.stack test -- .venv/bin/python -m tests.load.bench_request_events \
        --answers 200 --streams 1000

The figures are printed, not asserted. The load runs on the same machine as the stack.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from deploy.local import infra
from deploy.local.applications import GATEWAY, SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import write_demo_eid
from deploy.local.demo_secrets import new_password, new_s3_keys, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, import_dossier, invite_and_activate, log_in
from tests.system.stack import TEST_ENVIRONMENT, fixture_dossier


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return 1000 * ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def start_stack(base: Path, streams: int) -> tuple[ProcessGroup, ApplicationConfig]:
    """Every service and the gateway on the test infrastructure of the environment."""
    environ = os.environ
    run_id = uuid.uuid4().hex[:8]
    group = ProcessGroup(base / "logs")
    storage = (infra.ObjectStorage(environ["MYBROKER_TEST_S3_ENDPOINT"],
                                   environ.get("MYBROKER_TEST_S3_ACCESS_KEY", ""),
                                   environ.get("MYBROKER_TEST_S3_SECRET_KEY", ""))
               if environ.get("MYBROKER_TEST_S3_ENDPOINT") else
               infra.start_object_storage(group, base / "s3", infra.free_s3_port(),
                                          *new_s3_keys()))
    mail = (infra.MailSink(environ.get("MYBROKER_TEST_SMTP_HOST", infra.LOOPBACK),
                           int(environ.get("MYBROKER_TEST_SMTP_PORT", "1025")),
                           Path(environ["MYBROKER_TEST_MAILDIR"]))
            if environ.get("MYBROKER_TEST_MAILDIR") else
            infra.start_mail_sink(group, free_port(), base / "maildir"))
    keys = write_signing_keys(base / "secrets")
    eid = write_demo_eid(base / "eid")
    config = ApplicationConfig(
        environment="test", amqp_url=environ["MYBROKER_TEST_AMQP_URL"],
        mongo_url=environ["MYBROKER_TEST_MONGO_URL"], mongo_db_prefix=f"bench_{run_id}",
        storage=storage, mail=mail, private_key_path=keys.private_key_path,
        public_key_path=keys.public_key_path, admin_email=f"admin.{run_id}@mybroker.example",
        admin_password=new_password(), office_email=f"office.{run_id}@mybroker.example",
        gateway_port=free_port(),
        health_ports={name: free_port() for name in SERVICES},
        s3_bucket=f"bench-{run_id}", eid_trust_bundle_path=eid.trust_bundle_path,
        trusted_proxy_secret=eid.proxy_secret,
        extra_environment={**TEST_ENVIRONMENT,
                           "MYBROKER_GATEWAY_REQUEST_STREAMS_PER_ACCOUNT": str(streams + 10),
                           "MYBROKER_GATEWAY_REQUEST_STREAMS_MAX": str(streams + 100)})
    try:
        ApplicationStack(config, group).start_all()
    except BaseException:
        group.stop_all()
        raise
    return group, config


async def read_events(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                      arrived: "asyncio.Queue[tuple[float, dict[str, object]]]",
                      opened: asyncio.Event) -> None:
    """Put each event of one stream on `arrived` with its arrival time."""
    async with client.stream("GET", url, headers=headers) as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if line.startswith("event: ready"):
                opened.set()
            elif line.startswith("data: "):
                await arrived.put((time.perf_counter(), json.loads(line[6:])))


async def measure_latency(base: str, client_token: str, staff_token: str, dossier_id: str,
                          request_id: str, answers: int) -> tuple[list[float], list[float]]:
    """Answer sent -> event seen, and the answer call's own time, once per answer, one after
    the other."""
    latencies: list[float] = []
    calls: list[float] = []
    arrived: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
    opened = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        reader = asyncio.create_task(read_events(
            client, f"/api/v1/dossiers/{dossier_id}/requests/events", bearer(client_token),
            arrived, opened))
        await asyncio.wait_for(opened.wait(), 10)
        for number in range(answers):
            sent = time.perf_counter()
            answer = await client.post(f"/admin/api/v1/requests/{request_id}/answer",
                                       headers=bearer(staff_token),
                                       json={"body": f"Antwoord {number}"})
            answer.raise_for_status()
            calls.append(time.perf_counter() - sent)
            while True:
                at, change = await asyncio.wait_for(arrived.get(), 10)
                if change.get("change") == "replied":
                    latencies.append(at - sent)
                    break
        reader.cancel()
    return latencies, calls


async def hold_streams(base: str, token: str, dossier_id: str, count: int,
                       gateway_pid: int) -> tuple[float, float, int]:
    """RSS before, RSS with `count` open streams, and how many opened."""
    before = rss_mib(gateway_pid)
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    opened_events = [asyncio.Event() for _ in range(count)]
    sink: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
    async with httpx.AsyncClient(base_url=base, timeout=120.0, limits=limits) as client:
        readers = [asyncio.create_task(read_events(
            client, f"/api/v1/dossiers/{dossier_id}/requests/events", bearer(token), sink,
            opened)) for opened in opened_events]
        await asyncio.wait([asyncio.create_task(e.wait()) for e in opened_events], timeout=120)
        await asyncio.sleep(2)
        with_streams = rss_mib(gateway_pid)
        opened_count = sum(e.is_set() for e in opened_events)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return before, with_streams, opened_count


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--streams", type=int, default=1000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-request-events-") as directory:
        group, config = start_stack(Path(directory), arguments.streams)
        try:
            base = config.gateway_url
            dupont = fixture_dossier("dupont")
            with httpx.Client(base_url=base, timeout=30.0) as gateway:
                staff = log_in(gateway, config.admin_email, config.admin_password)["access_token"]
                import_dossier(gateway, staff, dupont)
                email, password = f"bench.{uuid.uuid4().hex[:6]}@example.com", new_password()
                invite_and_activate(gateway, staff, config.mail.maildir, email=email,
                                    display_name="Bench Client",
                                    dossier_ids=[dupont["dossier_id"]], password=password)
                client = log_in(gateway, email, password)["access_token"]
                sent = gateway.post(f"/api/v1/dossiers/{dupont['dossier_id']}/messages",
                                    headers=bearer(client),
                                    json={"subject": "Bench", "body": "Een vraag"})
                sent.raise_for_status()
                request_id = sent.json()["request_id"]
            latencies, calls = asyncio.run(measure_latency(
                base, client, staff, dupont["dossier_id"], request_id, arguments.answers))
            print(f"office answer -> event on an open stream, {len(latencies)} answers: "
                  f"p50 {percentile(latencies, 0.5):.1f} ms  p99 {percentile(latencies, 0.99):.1f}"
                  f" ms  max {1000 * max(latencies):.1f} ms (the answer call itself: p50 "
                  f"{percentile(calls, 0.5):.1f} ms  p99 {percentile(calls, 0.99):.1f} ms)")
            gateway_pid = group.processes[GATEWAY].pid
            before, after, opened = asyncio.run(hold_streams(
                base, client, dupont["dossier_id"], arguments.streams, gateway_pid))
            print(f"gateway RSS: {before:.1f} MiB before, {after:.1f} MiB with {opened} open "
                  f"streams: +{after - before:.1f} MiB "
                  f"({1024 * (after - before) / max(opened, 1):.1f} KiB a stream)")
        finally:
            group.stop_all()


if __name__ == "__main__":
    main()
