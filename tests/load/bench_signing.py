"""Benchmark: from the last signer's click to the sealed PDF downloadable, and the audit chain.

1. Starts its own stack (every service, the gateway and the demo TSA as processes, as the system
   tests do) on the infrastructure of `make test`'s wrapper; offers one PDF --signings times
   (default 20) to one signer, who opens it; then the --signings signatures are sent at once,
   each from its own thread, and each thread measures from its POST to the moment the signed
   PDF downloads (sealed with the demo seal, RFC 3161 timestamp from the local TSA), asking for
   the request with `?wait=10` (answered once sealed; `--short-polls`: every 0.1 s). Prints
   p50, p99 and the maximum, the service's time per step of each seal, the stack's CPU seconds
   per signing and the load average.
2. Verifies the hash chain of a --events (default 1,000) record trail, --rounds times, and
   prints the median and the worst time.

    .venv/bin/python -m deploy.local.stack test -- .venv/bin/python -m tests.load.bench_signing

Loopback only; the load generator shares the machine with the stack: compare, don't quote.
`--chain-only` runs part 2 alone (no stack needed).
"""

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from deploy.local.applications import SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import write_demo_eid
from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_seal import start_demo_signing
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer, expect, import_dossier, invite_and_activate, log_in
from libs.contracts.signing import AuditKind, AuditRecord
from services.signing.domain import check_chain, next_record
from tests.system.stack import SystemStack, _storage_and_mail, fixture_dossier, staff_log_in


def _start(base: Path) -> SystemStack:
    run_id = uuid.uuid4().hex[:8]
    group = ProcessGroup(base / "logs")
    storage, mail = _storage_and_mail(group, base)
    keys = write_signing_keys(base / "secrets")
    eid = write_demo_eid(base / "eid")
    config = ApplicationConfig(
        environment="test", amqp_url=os.environ["MYBROKER_TEST_AMQP_URL"],
        mongo_url=os.environ["MYBROKER_TEST_MONGO_URL"], mongo_db_prefix=f"bench_{run_id}",
        storage=storage, mail=mail, private_key_path=keys.private_key_path,
        public_key_path=keys.public_key_path, admin_email=f"admin.{run_id}@mybroker.example",
        admin_password=new_password(), office_email=f"office.{run_id}@mybroker.example",
        gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
        s3_bucket=f"bench-{run_id}", demo_signing=start_demo_signing(group, base / "signing"))
    applications = ApplicationStack(config, group)
    applications.start_all()
    return SystemStack(config=config, applications=applications, group=group, eid=eid)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _prepare(stack: SystemStack, gateway: httpx.Client, signings: int) -> tuple[str, list[str]]:
    """One signer, one PDF offered `signings` times, opened: the signer's token and the ids."""
    dossier = fixture_dossier("dupont")
    dossier["dossier_id"] = f"DOS-BENCH-{uuid.uuid4().hex[:6]}"
    person = dossier["persons"][0]
    person["email"] = email = f"bench.{uuid.uuid4().hex[:6]}@example.com"
    password = new_password()
    staff = staff_log_in(stack, gateway)
    import_dossier(gateway, staff, dossier)
    invite_and_activate(gateway, staff, stack.maildir, email=email, display_name="Bench",
                        dossier_ids=[dossier["dossier_id"]], password=password)
    pdf = text_pdf("Klantenfiche", [f"Regel {n}: verzekeringsbehoeften" for n in range(40)])
    stored = expect(gateway.post(
        f"/admin/api/v1/dossiers/{dossier['dossier_id']}/documents/batch", headers=bearer(staff),
        files=[("file", ("klantenfiche.pdf", pdf, "application/pdf"))]), 201)
    document_id = stored["documents"][0]["document_id"]
    ids: list[str] = []
    while len(ids) < signings:
        created = gateway.post(
            f"/admin/api/v1/dossiers/{dossier['dossier_id']}/signature-requests",
            headers=bearer(staff),
            json={"document_id": document_id, "signer_person_ids": [person["person_id"]]})
        if created.status_code == 422:  # the viewable form may still be prepared
            time.sleep(0.2)
            continue
        ids.append(expect(created, 201)["signature_request_id"])
    token: str = log_in(gateway, email, password)["access_token"]
    shown = gateway.get(f"/api/v1/dossiers/{dossier['dossier_id']}/documents/{document_id}/view",
                        headers=bearer(token))  # opened: every request of it at once
    assert shown.status_code == 200, shown.status_code
    return token, ids


def _sign_and_wait(base_url: str, token: str, request_id: str, start: threading.Barrier,
                   results: dict[str, float], steps: dict[str, dict[str, float]],
                   wait: float) -> None:
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        start.wait()
        clicked = time.perf_counter()
        expect(client.post(f"/api/v1/signature-requests/{request_id}/sign",
                           headers=bearer(token), json={"approved": True}), 200)
        signed = time.perf_counter()
        polls = 0
        while True:  # as a page would: look at the request, then download once it is sealed
            offer = expect(client.get(f"/api/v1/signature-requests/{request_id}",
                                      params={"wait": wait}, headers=bearer(token)), 200)
            polls += 1
            if offer["request"]["state"] == "awaiting_broker":
                break
            time.sleep(0.1)
        seen = time.perf_counter()
        download = client.get(f"/api/v1/signature-requests/{request_id}/signed-document",
                              headers=bearer(token))
        assert download.status_code == 200 and download.content.startswith(b"%PDF")
        results[request_id] = time.perf_counter() - clicked
        steps[request_id] = {"sign": signed - clicked, "until_sealed_seen": seen - signed,
                             "download": time.perf_counter() - seen, "polls": polls}


def _cpu_seconds(names: dict[int, str]) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of every process below this one, with the name of the
    stack's process it belongs to (a sealing worker counts for the signing service)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    found: dict[int, tuple[str, float]] = {}
    for pid, seconds in spent.items():
        ancestor, name = pid, None
        while ancestor in parents and ancestor != os.getpid():
            name = names.get(ancestor, name)
            ancestor = parents[ancestor]
        if ancestor == os.getpid() and pid != os.getpid():
            found[pid] = (name or "other", seconds)
    return found


def _print_cpu(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
               signings: int) -> None:
    by_name: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        by_name[name] = by_name.get(name, 0.0) + seconds - before.get(pid, (name, 0.0))[1]
    total = sum(by_name.values())
    print(f"CPU of the stack per signing: {total / signings:.3f} s ("
          + ", ".join(f"{name} {seconds / signings:.3f}" for name, seconds in
                      sorted(by_name.items(), key=lambda item: -item[1]) if seconds > 0.005)
          + ")")


def _print_phases(log: Path) -> None:
    """The signing service's own account of each seal: download, wait, seal, upload."""
    phases: dict[str, list[float]] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"signed PDF made"' not in line:
            continue
        entry = json.loads(line)
        for phase in ("download_s", "wait_s", "seal_s", "seal_cpu_s", "seal_worker_s",
                      "seal_tsa_s", "upload_s",
                      "upload_begin_s", "upload_put_s", "upload_complete_s", "total_s"):
            if phase in entry:
                phases.setdefault(phase, []).append(float(entry[phase]))
    print("per seal (median / max, s): " + ", ".join(
        f"{phase[:-2]} {statistics.median(v):.2f}/{max(v):.2f}" for phase, v in phases.items()))


def bench_signings(signings: int, wait: float) -> None:
    with TemporaryDirectory() as directory:
        run_dir = os.environ.get("MYBROKER_TEST_RUN_DIR")  # kept with its logs when set
        stack = _start(Path(run_dir) / "bench-signing" if run_dir else Path(directory))
        try:
            with httpx.Client(base_url=stack.gateway_url, timeout=60.0) as gateway:
                token, ids = _prepare(stack, gateway, signings)
            start = threading.Barrier(len(ids))
            results: dict[str, float] = {}
            steps: dict[str, dict[str, float]] = {}
            threads = [threading.Thread(target=_sign_and_wait, args=(
                stack.gateway_url, token, request_id, start, results, steps, wait))
                for request_id in ids]
            names = {process.pid: name for name, process in stack.group.processes.items()}
            load_before = os.getloadavg()[0]
            cpu_before = _cpu_seconds(names)
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            cpu_after = _cpu_seconds(names)
            seconds = list(results.values())
            _print_phases(stack.group.log_path("signing"))
            print("per signing, as the client saw it (median / max, s): " + ", ".join(
                f"{step} {statistics.median(v[step] for v in steps.values()):.2f}/"
                f"{max(v[step] for v in steps.values()):.2f}"
                for step in ("sign", "until_sealed_seen", "download", "polls")))
            _print_cpu(cpu_before, cpu_after, len(ids))
            print(f"load average (1 min) {load_before:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after; {os.cpu_count()} CPUs")
            print(f"{len(seconds)} signings at once, last click -> sealed PDF downloadable "
                  f"(timestamped): p50 {statistics.median(seconds):.2f} s, "
                  f"p99 {_percentile(seconds, 0.99):.2f} s, max {max(seconds):.2f} s")
        finally:
            stack.group.stop_all()


def bench_chain(events: int, rounds: int) -> None:
    records: list[AuditRecord] = []
    moment = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    for index in range(events):
        records.append(next_record(
            request_id="bench", previous=records[-1] if records else None,
            kind=AuditKind.OPENED, at=moment + timedelta(seconds=index), actor="u1",
            details={"client_ip": "192.0.2.1", "device": "Firefox on Windows"},
            document_sha256="a" * 64))
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        check = check_chain(records, request_id="bench", document_sha256="a" * 64,
                            head_hash=records[-1].hash)
        timings.append(time.perf_counter() - started)
        assert check.intact
    print(f"audit chain of {events} records verified: median "
          f"{statistics.median(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms "
          f"({rounds} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signings", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--chain-only", action="store_true")
    parser.add_argument("--short-polls", action="store_true", help="look every 0.1 s instead "
                        "of asking the service to answer once the seal is made")
    arguments = parser.parse_args()
    bench_chain(arguments.events, arguments.rounds)
    if not arguments.chain_only:
        bench_signings(arguments.signings, 0 if arguments.short_polls else 10)


if __name__ == "__main__":
    main()
