"""Benchmark: documents streamed through the gateway versus straight to/from S3, and renditions.

Starts its own stack (every service and the gateway as processes, as the system tests do) on
the infrastructure of `make test`'s wrapper, then:
1. writes a file of --megabytes (default 200) on disk and uploads it as staff through the
   gateway (multipart, streamed), sampling the gateway process's RSS every 50 ms;
2. downloads it through the gateway (streamed to nowhere, hash verified by the gateway);
3. PUTs and GETs the same file straight to a presigned S3 URL (what the gateway itself does);
4. publishes one file of each supported type, one at a time, --rounds times, and reads the
   conversion time of each from the documents service's log (--conversions-only: just this).
Prints MB/s of both paths and their ratio, the gateway's CPU seconds and RSS before/peak, and
the conversions. On a shared machine the MB/s swing with the load; the CPU seconds much less.

    .venv/bin/python -m deploy.local.stack test -- .venv/bin/python -m tests.load.bench_documents

Loopback only; the load generator shares the machine with the stack: compare, don't quote.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from minio import Minio
from PIL import Image

from deploy.local.applications import SERVICES, ApplicationConfig, ApplicationStack
from deploy.local.demo_eid import write_demo_eid
from deploy.local.demo_pdf import text_pdf
from deploy.local.demo_secrets import new_password, write_signing_keys
from deploy.local.processes import ProcessGroup, free_port
from deploy.local.seed_demo import bearer
from tests.document_samples import converted, heic_bytes, msg_bytes, pptx_bytes, webp_bytes
from tests.system.stack import (
    SystemStack,
    _storage_and_mail,
    import_dossiers,
    new_client,
    staff_log_in,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
MIB = 1024 * 1024
DOSSIER = "DOS-2019-00417"


@dataclass
class RssSampler:
    """Samples a process's resident memory in a thread."""

    pid: int
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def rss(self) -> int:
        """The process's RSS in bytes now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> "RssSampler":
        def sample() -> None:
            while not self._stop.wait(0.05):
                self.samples.append(self.rss())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process used so far: steadier than MB/s on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(base: Path, max_bytes: int) -> SystemStack:
    run_id = uuid.uuid4().hex[:8]
    group = ProcessGroup(base / "logs")
    storage, mail = _storage_and_mail(group, base)
    keys = write_signing_keys(base / "secrets")
    eid = write_demo_eid(base / "eid")
    limits = {"MYBROKER_GATEWAY_MAX_UPLOAD_BYTES": str(max_bytes),
              "MYBROKER_DOCUMENTS_MAX_UPLOAD_BYTES": str(max_bytes),
              "MYBROKER_DOCUMENTS_DOSSIER_QUOTA_BYTES": str(4 * max_bytes)}
    config = ApplicationConfig(
        environment="test", amqp_url=os.environ["MYBROKER_TEST_AMQP_URL"],
        mongo_url=os.environ["MYBROKER_TEST_MONGO_URL"], mongo_db_prefix=f"bench_{run_id}",
        storage=storage, mail=mail, private_key_path=keys.private_key_path,
        public_key_path=keys.public_key_path, admin_email=f"admin.{run_id}@mybroker.example",
        admin_password=new_password(), office_email=f"office.{run_id}@mybroker.example",
        gateway_port=free_port(), health_ports={name: free_port() for name in SERVICES},
        s3_bucket=f"bench-{run_id}", extra_environment=limits)
    applications = ApplicationStack(config, group)
    applications.start_all()
    return SystemStack(config=config, applications=applications, group=group, eid=eid)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(MIB):
            yield chunk


def _big_file(directory: Path, megabytes: int) -> tuple[Path, str]:
    path = directory / "groot.pdf"
    digest = hashlib.sha256()
    block = b"%PDF-1.7\n" + os.urandom(MIB - 9)
    with path.open("wb") as file:
        for number in range(megabytes):
            chunk = block if number == 0 else block[9:] + block[:9]
            file.write(chunk)
            digest.update(chunk)
    return path, digest.hexdigest()


def _rate(size: int, seconds: float) -> float:
    return size / MIB / seconds


def _through_gateway(stack: SystemStack, gateway: httpx.Client, path: Path, sha256: str,
                     pid: int) -> dict[str, float]:
    token = staff_log_in(stack, gateway)
    client = new_client(stack, gateway, "Pieter Dupont", [DOSSIER])
    size = path.stat().st_size
    with RssSampler(pid) as upload_rss, path.open("rb") as file:
        before = upload_rss.rss()
        cpu_before = _cpu_seconds(pid)
        started = time.perf_counter()
        response = gateway.post(f"/admin/api/v1/dossiers/{DOSSIER}/documents",
                                headers=bearer(token), data={"title": "Groot"},
                                files={"file": ("groot.pdf", file, "application/pdf")})
        upload_seconds = time.perf_counter() - started
    upload_cpu = _cpu_seconds(pid) - cpu_before
    response.raise_for_status()
    document = response.json()
    assert document["sha256"] == sha256
    with RssSampler(pid) as download_rss:
        cpu_before = _cpu_seconds(pid)
        digest = hashlib.sha256()
        started = time.perf_counter()
        with gateway.stream("GET", f"/api/v1/dossiers/{DOSSIER}/documents/"
                            f"{document['document_id']}/content",
                            headers=bearer(client.log_in(gateway))) as download:
            download.raise_for_status()
            for chunk in download.iter_bytes(MIB):
                digest.update(chunk)
        download_seconds = time.perf_counter() - started
    download_cpu = _cpu_seconds(pid) - cpu_before
    assert digest.hexdigest() == sha256
    return {"upload_mb_s": _rate(size, upload_seconds),
            "upload_cpu_s": upload_cpu, "download_cpu_s": download_cpu,
            "download_mb_s": _rate(size, download_seconds),
            "rss_before_mb": before / MIB,
            "rss_peak_upload_mb": max(upload_rss.samples, default=before) / MIB,
            "rss_peak_download_mb": max(download_rss.samples, default=before) / MIB}


def _direct(stack: SystemStack, path: Path, sha256: str) -> dict[str, float]:
    storage = stack.config.storage
    endpoint = httpx.URL(storage.endpoint)
    client = Minio(f"{endpoint.host}:{endpoint.port}", access_key=storage.access_key,
                   secret_key=storage.secret_key, secure=False, region="us-east-1")
    key = f"bench/{uuid.uuid4().hex}"
    bucket = stack.config.s3_bucket
    size = path.stat().st_size
    with httpx.Client(timeout=300.0) as http:
        started = time.perf_counter()
        http.put(client.presigned_put_object(bucket, key, expires=timedelta(minutes=5)),
                 content=_file_chunks(path),
                 headers={"Content-Length": str(size)}).raise_for_status()
        upload_seconds = time.perf_counter() - started
        digest = hashlib.sha256()
        started = time.perf_counter()
        with http.stream("GET", client.presigned_get_object(
                bucket, key, expires=timedelta(minutes=5))) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(MIB):
                digest.update(chunk)
        download_seconds = time.perf_counter() - started
    client.remove_object(bucket, key)
    assert digest.hexdigest() == sha256
    return {"upload_mb_s": _rate(size, upload_seconds),
            "download_mb_s": _rate(size, download_seconds)}


def _sample_files() -> list[tuple[str, bytes]]:
    """One file of every type MyBroker shows (office files from fixtures, the rest made now)."""
    picture = io.BytesIO()
    Image.new("RGB", (1600, 1200), (30, 120, 200)).save(picture, "PNG")
    slides = pptx_bytes("Polis", "AUTO-2024-0001")
    return [(p.name, p.read_bytes()) for p in sorted(FIXTURES.iterdir())] + [
        ("slides.pptx", slides), ("slides.ppt", converted(slides, "slides.pptx", "ppt")),
        ("slides.odp", converted(slides, "slides.pptx", "odp")),
        ("notitie.txt", b"Polis AUTO-2024-0001\n" * 200),
        ("pagina.html", b"<html><body><p>Polis AUTO-2024-0001</p></body></html>"),
        ("mail.eml", b"From: a@b.be\r\nTo: c@d.be\r\nSubject: Polis\r\n\r\nAUTO-2024-0001\r\n"),
        ("bericht.msg", msg_bytes(sender="Jan Makelaar", sender_email="jan@kantoor.be",
                                  to="Pieter Dupont", subject="Polis", body="AUTO-2024-0001\r\n",
                                  attachments={"polis.pdf": text_pdf("Polis", ["x"])})),
        ("polis.pdf", text_pdf("Polis", ["AUTO-2024-0001"])), ("foto.png", picture.getvalue()),
        ("foto.webp", webp_bytes()), ("foto.heic", heic_bytes())]


def _rendition_seconds(log_path: Path, document_id: str, deadline: float) -> tuple[float, str]:
    """The seconds the documents service logged for the document's rendition, and its state."""
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if '"rendition' in line and document_id in line:
                entry = json.loads(line[line.index("{"):])
                state = "ready" if entry.get("event") == "rendition ready" else "failed"
                return float(entry.get("seconds", -1)), state
        time.sleep(0.2)
    return -1.0, "timeout"


def _conversions(
    stack: SystemStack, gateway: httpx.Client, base: Path, rounds: int
) -> dict[str, list[float]]:
    """Each type published alone, one after the other (no conversion waits for another):
    the seconds of each round as the worker logged them (download, convert, upload)."""
    token = staff_log_in(stack, gateway)
    log_path = base / "logs" / "documents.log"
    seconds: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, body in _sample_files():
            if name.endswith(".pdf"):
                continue  # a PDF is its own view: nothing to convert
            published = gateway.post(
                f"/admin/api/v1/dossiers/{DOSSIER}/documents/batch", headers=bearer(token),
                files=[("file", (name, body, "application/octet-stream"))])
            published.raise_for_status()
            document_id = published.json()["documents"][0]["document_id"]
            took, state = _rendition_seconds(log_path, document_id, time.monotonic() + 120)
            if state != "ready":
                raise SystemExit(f"{name}: rendition {state}")
            seconds.setdefault(name, []).append(took)
    return seconds


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="conversions of each type")
    parser.add_argument("--conversions-only", action="store_true",
                        help="skip the big transfer; only time the conversions")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as directory:
        base = Path(directory)
        stack = _start(base, (arguments.megabytes + 8) * MIB)
        try:
            with httpx.Client(base_url=stack.gateway_url, timeout=600.0) as gateway:
                import_dossiers(stack, gateway, "dupont")
                if not arguments.conversions_only:
                    path, sha256 = _big_file(base, arguments.megabytes)
                    pid = stack.group.processes["gateway"].pid
                    via_gateway = _through_gateway(stack, gateway, path, sha256, pid)
                    direct = _direct(stack, path, sha256)
                conversions = _conversions(stack, gateway, base, arguments.rounds)
        finally:
            stack.group.stop_all()
    if not arguments.conversions_only:
        _print_transfer(arguments.megabytes, via_gateway, direct)
    print(f"\nconversion per type, {arguments.rounds} round(s), one at a time (seconds)")
    print("| file | type | first | median | min |")
    print("|---|---|---|---|---|")
    for filename, times in sorted(conversions.items(), key=lambda item: item[0].split(".")[-1]):
        print(f"| {filename} | {filename.rsplit('.', 1)[-1]} | {times[0]:.2f} | "
              f"{statistics.median(times):.2f} | {min(times):.2f} |")


def _print_transfer(megabytes: int, via_gateway: dict[str, float],
                    direct: dict[str, float]) -> None:
    print(f"file: {megabytes} MB")
    for direction in ("upload", "download"):
        key = f"{direction}_mb_s"
        print(f"{direction}: gateway {via_gateway[key]:.1f} MB/s, direct S3 {direct[key]:.1f} "
              f"MB/s, ratio {via_gateway[key] / direct[key]:.2f}")
    print(f"gateway CPU: upload {via_gateway['upload_cpu_s']:.2f} s, download "
          f"{via_gateway['download_cpu_s']:.2f} s")
    print(f"gateway RSS: before {via_gateway['rss_before_mb']:.1f} MB, peak during upload "
          f"{via_gateway['rss_peak_upload_mb']:.1f} MB, during download "
          f"{via_gateway['rss_peak_download_mb']:.1f} MB")


if __name__ == "__main__":
    main()
