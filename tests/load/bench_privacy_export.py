"""Benchmark: a client's data export of a dossier with --documents (default 200) documents of
about --total-megabytes (default 100) together: seconds from the request to the ZIP ready, and
the resident memory of every process before, at its peak during the export (and its download
through the gateway), and after.

Starts its own stack (every service and the gateway as processes, as the system tests do) on
the infrastructure of `make test`'s wrapper, publishes the documents as staff through the
gateway, then asks for the export as the client and downloads the ZIP (streamed, counted).
The export should be ready in well under 60 s and no process's RSS should grow with the
dossier's size (the parts, the originals and the ZIP are streamed).

    .venv/bin/python -m deploy.local.stack test -- \
        .venv/bin/python -m tests.load.bench_privacy_export

Loopback only; the load generator shares the machine with the stack: compare, don't quote.
"""

import argparse
import hashlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

from deploy.local.applications import SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import write_demo_eid
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer
from tests.load.bench_documents import MIB, RssSampler, _cpu_seconds
from tests.system.stack import (
    SystemStack,
    _storage_and_mail,
    import_dossiers,
    new_client,
    staff_log_in,
)

DOSSIER = "DOS-2019-00417"
PROCESSES = (*SERVICES, "gateway")
FILES_PER_BATCH = 10


def _start(base: Path) -> SystemStack:
    run_id = os.urandom(4).hex()
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
        s3_bucket=f"bench-{run_id}", export_bucket=f"bench-exports-{run_id}",
        extra_environment={"MYBROKER_AUTH_EXPORT_SWEEP_SECONDS": "1"})
    applications = ApplicationStack(config, group)
    applications.start_all()
    return SystemStack(config=config, applications=applications, group=group, eid=eid)


def _document(number: int, size: int) -> bytes:
    """A PDF-headed body of `size` bytes that does not compress (like a scan)."""
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def _publish(stack: SystemStack, gateway: httpx.Client, documents: int, total: int) -> dict[
        str, str]:
    """Publish `documents` documents of `total` bytes together; name -> sha256."""
    staff = bearer(staff_log_in(stack, gateway))
    size = total // documents
    published: dict[str, str] = {}
    for first in range(0, documents, FILES_PER_BATCH):
        files = []
        for number in range(first, min(first + FILES_PER_BATCH, documents)):
            body = _document(number, size)
            name = f"scan-{number:03d}.pdf"
            published[name] = hashlib.sha256(body).hexdigest()
            files.append(("file", (name, body, "application/pdf")))
        answer = gateway.post(f"/admin/api/v1/dossiers/{DOSSIER}/documents/batch",
                              headers=staff, data={"context": "general"}, files=files,
                              timeout=120.0)
        assert answer.status_code == 201, answer.text
    return published


def _rss_mb(samplers: dict[str, RssSampler]) -> dict[str, float]:
    return {name: sampler.rss() / MIB for name, sampler in samplers.items()}


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--total-megabytes", type=int, default=100)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
        stack = _start(Path(directory))
        try:
            run(stack, arguments.documents, arguments.total_megabytes * MIB, Path(directory))
        finally:
            stack.group.stop_all()


def run(stack: SystemStack, documents: int, total: int, directory: Path) -> None:
    """Publish, export, download; print the figures."""
    with httpx.Client(base_url=stack.gateway_url, timeout=60.0) as gateway:
        import_dossiers(stack, gateway, "dupont")
        client = new_client(stack, gateway, "Pieter Dupont", [DOSSIER])
        started = time.monotonic()
        published = _publish(stack, gateway, documents, total)
        print(f"published {documents} documents, {total / MIB:.0f} MB, in "
              f"{time.monotonic() - started:.1f} s")
        time.sleep(5)  # the renditions and thumbnails of the published files settle
        token = bearer(client.log_in(gateway))
        pids = {name: stack.group.processes[name].pid for name in PROCESSES}
        samplers = {name: RssSampler(pid) for name, pid in pids.items()}
        before = _rss_mb(samplers)
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        for sampler in samplers.values():
            sampler.__enter__()
        try:
            asked_at = time.monotonic()
            asked = gateway.post("/api/v1/privacy/exports", headers=token)
            assert asked.status_code == 202, asked.text
            export_id = asked.json()["export"]["export_id"]
            while True:
                export = gateway.get(f"/api/v1/privacy/exports/{export_id}",
                                     headers=token).json()
                if export["state"] != "running":
                    break
                time.sleep(0.1)
            ready_seconds = time.monotonic() - asked_at
            assert export["state"] == "ready", export
            zip_path = directory / "export.zip"
            downloaded_at = time.monotonic()
            with gateway.stream("GET", f"/api/v1/privacy/exports/{export_id}/download",
                                headers=token, timeout=300.0) as download, \
                    zip_path.open("wb") as file:
                assert download.status_code == 200
                for chunk in download.iter_bytes():
                    file.write(chunk)
            download_seconds = time.monotonic() - downloaded_at
        finally:
            for sampler in samplers.values():
                sampler.__exit__()
        time.sleep(2)
        after = _rss_mb(samplers)
        cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    with zipfile.ZipFile(zip_path) as archive:
        originals = [info for info in archive.infolist()
                     if info.filename.startswith("documents/files/")]
        assert len(originals) >= documents, len(originals)
        found = {hashlib.sha256(archive.read(info)).hexdigest() for info in originals}
        assert set(published.values()) <= found, "an original differs in the ZIP"
    size = zip_path.stat().st_size
    print(f"export of {documents} documents ({total / MIB:.0f} MB): ready in "
          f"{ready_seconds:.1f} s (target < 60 s); ZIP {size / MIB:.1f} MB downloaded in "
          f"{download_seconds:.1f} s; every original checked by its sha256")
    print(f"{'process':<10} {'RSS before':>11} {'peak':>8} {'after':>8} {'CPU s':>7}")
    for name in PROCESSES:
        peak = max(samplers[name].samples, default=0) / MIB
        print(f"{name:<10} {before[name]:>9.1f}MB {peak:>6.1f}MB {after[name]:>6.1f}MB "
              f"{cpu[name]:>7.2f}")


if __name__ == "__main__":
    main()
