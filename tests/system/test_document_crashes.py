"""Crashes in the middle of an upload, with real processes: the orphan sweep finds what was left
half-written and repairs it, visibly for the operator (a log line and a metric).

An upload writes three times: the documents service records the upload ("upload begun"), the
gateway PUTs the body to S3, the documents service records its completion. Here the documents
service is frozen (SIGSTOP) after the first write, the gateway's S3 write goes through, then the
service is killed (SIGKILL) and restarted; and the gateway is killed while it stores a body and
while a client still streams one. The documents service runs with a sweep every second and a
grace of three seconds for the time of these tests, and reaches S3 through a proxy the tests can
hold: a body in flight stays in flight until the test has frozen or killed what it wants (without
it, a fast S3 write finishes before the test can act and the crash happens after the upload).
"""

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio

from deploy.local.demo_pdf import text_pdf
from deploy.local.processes import free_port
from deploy.local.seed_demo import bearer
from tests.system.conftest import DUPONT
from tests.system.stack import ClientLogin, SystemStack, metric, service_metric, staff_log_in

pytestmark = pytest.mark.system
MIB = 1024 * 1024
QUICK_SWEEP = {"MYBROKER_DOCUMENTS_ORPHAN_SWEEP_SECONDS": "1",
               "MYBROKER_DOCUMENTS_ORPHAN_GRACE_SECONDS": "3"}
# Large enough that the gateway's PUT takes a while: time to freeze or kill in between.
BIG_PDF = b"%PDF-1.4\n" + bytes(range(256)) * (20 * MIB // 256) + b"\n%%EOF\n"
B = "crash-test-boundary"  # of the multipart body a client streams by hand


class ProcessLog:
    """The JSON lines a process writes from now on."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = path.stat().st_size

    def _new_entries(self) -> list[dict[str, Any]]:
        with self._path.open("rb") as log:
            log.seek(self._offset)
            *lines, rest = log.read().split(b"\n")
            self._offset = log.tell() - len(rest)  # a half-written line is read next time
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line[line.index(b"{"):]))
            except ValueError:
                continue  # not a JSON line (a traceback, ...)
        return entries

    def seen(self, event: str) -> list[dict[str, Any]]:
        """The new entries with this event, without waiting."""
        return [entry for entry in self._new_entries() if entry.get("event") == event]

    def wait_for(self, event: str, matches: Callable[[dict[str, Any]], bool] = lambda _: True,
                 *, seconds: float = 30.0) -> dict[str, Any]:
        """The first new entry with this event that matches; polled every 2 ms."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for entry in self.seen(event):
                if matches(entry):
                    return entry
            time.sleep(0.002)
        raise AssertionError(f"no '{event}' in {self._path} within {seconds:g} s")


class HoldingProxy:
    """A TCP proxy in front of S3 that forwards nothing while held: a slow object store on demand.

    The documents service presigns its links for the proxy's address, so the gateway's PUT goes
    through it; bytes sent while held wait in the sockets' buffers until `release`.
    """

    def __init__(self, target: httpx.URL) -> None:
        self._target = (target.host, target.port or 80)
        self._flowing = threading.Event()
        self._flowing.set()
        self._listener = socket.create_server(("127.0.0.1", free_port()))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._flowing.set()
        self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed at the end of the module
            while True:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                self._flowing.wait()
                chunk = source.recv(65536)
                if not chunk:
                    break
                self._flowing.wait()
                sink.sendall(chunk)
        for end in (source, sink):  # one side gone: the other sees it as the client would
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def object_storage(stack: SystemStack) -> Minio:
    """The stack's S3, as an operator would look into it."""
    storage = stack.config.storage
    endpoint = httpx.URL(storage.endpoint)
    return Minio(f"{endpoint.host}:{endpoint.port}", access_key=storage.access_key,
                 secret_key=storage.secret_key, secure=False, region="us-east-1")


def stored_size(stack: SystemStack, key: str) -> int | None:
    """The size of the object at `key`, or None when S3 has none."""
    found = list(object_storage(stack).list_objects(stack.config.s3_bucket, prefix=key))
    sizes = [stored.size for stored in found if stored.object_name == key]
    return int(sizes[0] or 0) if sizes else None


def documents_metric(stack: SystemStack, name: str, **labels: str) -> float:
    """A sample of the documents service's metrics (on its health port)."""
    return service_metric(stack, "documents", name, **labels)


def slots_received(stack: SystemStack) -> float:
    """How many upload slots the gateway got from the documents service so far."""
    return metric(f"{stack.gateway_url}/metrics", "mybroker_rpc_calls_total",
                  queue="documents.rpc.begin_upload", outcome="ok")


def upload_in_background(stack: SystemStack, staff: dict[str, str], title: str,
                         content: Any = None) -> tuple[threading.Thread, dict[str, Any]]:
    """Staff publish BIG_PDF (or stream `content`) from a thread; the outcome lands in the dict."""
    outcome: dict[str, Any] = {}

    def upload() -> None:
        with httpx.Client(base_url=stack.gateway_url, timeout=60.0) as http:
            try:
                if content is None:
                    outcome["response"] = http.post(
                        f"/admin/api/v1/dossiers/{DUPONT}/documents", headers=staff,
                        data={"title": title},
                        files={"file": (f"{title}.pdf", BIG_PDF, "application/pdf")})
                else:
                    outcome["response"] = http.post(
                        f"/admin/api/v1/dossiers/{DUPONT}/documents", content=content,
                        headers={**staff, "Content-Type": f"multipart/form-data; boundary={B}"})
            except httpx.HTTPError as error:
                outcome["error"] = error

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    return thread, outcome


def document_problems(stack: SystemStack, gateway: httpx.Client) -> dict[str, dict[str, Any]]:
    """What the office sees in the admin API's list of document problems, by document id."""
    response = gateway.get("/admin/api/v1/documents/problems",
                           headers=bearer(staff_log_in(stack, gateway)))
    assert response.status_code == 200, response.text
    return {problem["document_id"]: problem for problem in response.json()["problems"]}


def listed_titles(gateway: httpx.Client, client: ClientLogin) -> list[str]:
    """What the client sees in "Mijn documenten"."""
    response = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents",
                           headers=bearer(client.log_in(gateway)))
    assert response.status_code == 200, response.text
    return [document["title"] for document in response.json()["documents"]]


@pytest.fixture(scope="module")
def s3_proxy(system_stack: SystemStack) -> Iterator[HoldingProxy]:
    proxy = HoldingProxy(httpx.URL(system_stack.config.storage.endpoint))
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def quick_sweep(system_stack: SystemStack, s3_proxy: HoldingProxy) -> Iterator[dict[str, str]]:
    """The documents service sweeping every second and reaching S3 through the proxy for these
    tests, as configured after; the settings to restart it with."""
    settings = {**QUICK_SWEEP, "MYBROKER_DOCUMENTS_S3_ENDPOINT": s3_proxy.endpoint}
    system_stack.group.stop("documents")
    system_stack.applications.restart("documents", settings)
    yield settings
    system_stack.group.stop("documents")
    system_stack.applications.restart("documents")


def wait_for_upload_slot(stack: SystemStack, slots_before: float) -> None:
    """Until the gateway got its presigned PUT from the documents service (and started it)."""
    deadline = time.monotonic() + 30
    while slots_received(stack) == slots_before:
        assert time.monotonic() < deadline, "the gateway never got its upload slot"
        time.sleep(0.01)


def test_an_upload_whose_service_is_killed_between_the_s3_and_the_metadata_write_is_swept(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    quick_sweep: dict[str, str], s3_proxy: HoldingProxy,
) -> None:
    group = system_stack.group
    documents_log = ProcessLog(group.log_path("documents"))
    slots_before = slots_received(system_stack)
    s3_proxy.hold()
    try:
        thread, outcome = upload_in_background(
            system_stack, bearer(staff_log_in(system_stack, gateway)), "Frozen")
        begun = documents_log.wait_for("upload begun")  # the first write
        wait_for_upload_slot(system_stack, slots_before)  # the gateway's S3 write is in flight...
        os.killpg(group.processes["documents"].pid, signal.SIGSTOP)  # ...the last cannot land
    finally:
        s3_proxy.release()
    key = f"{DUPONT}/{begun['document_id']}"
    try:
        deadline = time.monotonic() + 30
        while stored_size(system_stack, key) != len(BIG_PDF):  # the gateway's S3 write
            assert time.monotonic() < deadline, "the body never reached S3"
            time.sleep(0.05)
        thread.join(60)
        response = outcome["response"]
        assert response.status_code in (502, 503, 504), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    finally:
        group.kill("documents")  # SIGKILL, frozen as it is: nothing more is written
        after_restart = ProcessLog(group.log_path("documents"))
        system_stack.applications.restart("documents", quick_sweep)

    swept = after_restart.wait_for(
        "orphan sweep repaired", lambda entry: begun["document_id"] in entry["abandoned_uploads"])

    assert swept["level"] == "warning"
    assert stored_size(system_stack, key) is None  # the body without metadata is removed
    assert documents_metric(system_stack, "mybroker_documents_orphans_total",
                            kind="abandoned_upload") >= 1
    assert documents_metric(
        system_stack, "mybroker_documents_orphan_sweep_completed_timestamp_seconds") > 0
    assert "Frozen" not in listed_titles(gateway, dupont_client)
    problem = document_problems(system_stack, gateway)[begun["document_id"]]
    assert (problem["problem"], problem["reason"]) == (
        "upload_failed", "The upload was never completed.")


def test_an_upload_whose_gateway_is_killed_while_it_stores_the_body_is_swept(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    quick_sweep: dict[str, str], s3_proxy: HoldingProxy,
) -> None:
    group = system_stack.group
    documents_log = ProcessLog(group.log_path("documents"))
    slots_before = slots_received(system_stack)
    s3_proxy.hold()
    try:
        thread, outcome = upload_in_background(
            system_stack, bearer(staff_log_in(system_stack, gateway)), "Cut off")
        begun = documents_log.wait_for("upload begun")
        wait_for_upload_slot(system_stack, slots_before)
        group.kill("gateway")  # in the middle of its S3 write
    finally:
        s3_proxy.release()
    try:
        thread.join(60)
        assert isinstance(outcome.get("error"), httpx.TransportError), outcome
        key = f"{DUPONT}/{begun['document_id']}"
        assert stored_size(system_stack, key) is None  # metadata without its object

        swept = documents_log.wait_for(
            "orphan sweep repaired",
            lambda entry: begun["document_id"] in entry["abandoned_uploads"])
    finally:
        system_stack.applications.restart("gateway")

    assert swept["level"] == "warning"
    assert stored_size(system_stack, key) is None
    assert "Cut off" not in listed_titles(gateway, dupont_client)


def test_a_gateway_killed_while_the_client_still_streams_leaves_nothing_behind(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    quick_sweep: dict[str, str],
) -> None:
    group = system_stack.group
    documents_log = ProcessLog(group.log_path("documents"))
    halfway = threading.Event()
    before = {stored.object_name for stored in object_storage(system_stack).list_objects(
        system_stack.config.s3_bucket, prefix=f"{DUPONT}/", recursive=True)}

    def slow_body() -> Iterator[bytes]:
        yield (f'--{B}\r\nContent-Disposition: form-data; name="title"\r\n\r\nHalfway\r\n'
               f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="half.pdf"\r\n'
               "Content-Type: application/pdf\r\n\r\n").encode()
        for number in range(40):
            if number == 4:
                halfway.set()
            yield BIG_PDF[number * 256 * 1024:(number + 1) * 256 * 1024]
            time.sleep(0.05)
        yield f"\r\n--{B}--\r\n".encode()

    thread, outcome = upload_in_background(
        system_stack, bearer(staff_log_in(system_stack, gateway)), "Halfway", slow_body())
    assert halfway.wait(30)
    group.kill("gateway")
    try:
        thread.join(60)
        assert isinstance(outcome.get("error"), httpx.TransportError), outcome
    finally:
        system_stack.applications.restart("gateway")

    assert documents_log.seen("upload begun") == []  # the documents service never heard of it
    after = {stored.object_name for stored in object_storage(system_stack).list_objects(
        system_stack.config.s3_bucket, prefix=f"{DUPONT}/", recursive=True)}
    assert after - before == set()
    assert "Halfway" not in listed_titles(gateway, dupont_client)


def test_a_published_document_whose_body_vanished_from_s3_is_swept_and_served_410(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    quick_sweep: dict[str, str],
) -> None:
    documents_log = ProcessLog(system_stack.group.log_path("documents"))
    published = gateway.post(
        f"/admin/api/v1/dossiers/{DUPONT}/documents",
        headers=bearer(staff_log_in(system_stack, gateway)), data={"title": "Vanished"},
        files={"file": ("vanished.pdf", text_pdf("Vanished", ["AUTO-2024-0001"]),
                        "application/pdf")})
    assert published.status_code == 201, published.text
    document_id = published.json()["document_id"]
    object_storage(system_stack).remove_object(system_stack.config.s3_bucket,
                                               f"{DUPONT}/{document_id}")

    documents_log.wait_for("orphan sweep repaired",
                           lambda entry: document_id in entry["missing_bodies"])

    client = bearer(dupont_client.log_in(gateway))
    response = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents/{document_id}/content",
                           headers=client)
    assert response.status_code == 410, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    listed = gateway.get(f"/api/v1/dossiers/{DUPONT}/documents", headers=client).json()
    [vanished] = [d for d in listed["documents"] if d["document_id"] == document_id]
    assert vanished["damaged"] is True
    assert documents_metric(system_stack, "mybroker_documents_orphans_total",
                            kind="missing_body") >= 1
    assert documents_metric(system_stack, "mybroker_documents_damaged_total",
                            found_by="sweep") >= 1
    assert document_problems(system_stack, gateway)[document_id]["problem"] == "damaged"
