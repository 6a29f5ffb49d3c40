"""No log line holds a presigned storage URL's signature: whoever reads the logs must not get
the documents (a logged URL is a login-free download for its whole lifetime)."""

import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts import documents
from libs.contracts.rpc import Ack
from libs.servicekit.logs import configure_logging
from tests.service.gateway_support import (
    STORE,
    household_rpc,
    published,
    run_gateway,
    write_signing_key,
)

SIGNED = ("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=mybroker%2F20261205%2Fus-east-1"
          "%2Fs3%2Faws4_request&X-Amz-Date=20261205T052426Z&X-Amz-Expires=300"
          "&X-Amz-SignedHeaders=host&X-Amz-Signature=b67829eaf8490618c09f6bf569454dd7")
SECRETS = ("X-Amz-Signature", "X-Amz-Credential", "b67829eaf8490618", "aws4_request")


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """The process's logging as `python -m gateway` configures it; yields a function giving
    every line written so far (structlog's JSON lines and the standard library's records)."""
    saved_config = structlog.get_config()
    saved_factory = logging.getLogRecordFactory()
    printed = io.StringIO()
    configure_logging("gateway", "INFO")
    # Same processors, printed here; not cached, so later tests log as before.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(printed),
                        cache_logger_on_first_use=False)
    caplog.set_level(logging.INFO)

    def lines() -> list[str]:
        return [*printed.getvalue().splitlines(),
                *(caplog.handler.format(record) for record in caplog.records)]

    try:
        yield lines
    finally:
        structlog.configure(**saved_config)
        structlog.contextvars.clear_contextvars()
        logging.setLogRecordFactory(saved_factory)


def leaked(lines: list[str]) -> list[str]:
    return [line for line in lines if any(secret in line for secret in SECRETS)]


def test_a_download_leaves_no_signed_url_in_any_log_line(
    tmp_path: Path, log_lines: Callable[[], list[str]],
) -> None:
    for gateway in run_gateway(tmp_path, household_rpc()):
        body = b"%PDF-1.7 polis" * 50
        gateway.store.objects["/mybroker-documents/doc9"] = body
        gateway.rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
            document=published("doc9", size=len(body), sha256=hashlib.sha256(body).hexdigest()),
            download_url=f"{STORE}/doc9{SIGNED}"))
        gateway.rpc.answer(documents.REPORT_VERIFIED, Ack())
        response = gateway.client.get("/api/v1/dossiers/D1/documents/doc9/content",
                                      headers=gateway.bearer())
        assert response.status_code == 200 and response.content == body

    lines = log_lines()
    requests = [line for line in lines if "HTTP Request: GET" in line]
    assert requests, lines  # httpx did log the request to the store...
    assert "/mybroker-documents/doc9?" in requests[0]  # ...with the object it read...
    assert leaked(lines) == []  # ...but nothing that lets anyone else read it


def test_a_store_failure_that_names_the_url_is_logged_without_its_signature(
    tmp_path: Path, log_lines: Callable[[], list[str]],
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    rpc = household_rpc()
    rpc.answer(documents.OPEN_DOWNLOAD, documents.DownloadTicket(
        document=published("doc9", size=3, sha256="0" * 64), download_url=f"{STORE}/doc9{SIGNED}"))
    key = write_signing_key(tmp_path)
    app = create_app(GatewaySettings(environment="test",
                                     jwt_public_key_path=str(key.public_pem_path)),
                     rpc=rpc, storage=httpx.AsyncClient(transport=httpx.MockTransport(unreachable)))
    with TestClient(app) as client:
        response = client.get("/api/v1/dossiers/D1/documents/doc9/content",
                              headers={"Authorization": f"Bearer {key.token()}"})
        assert response.status_code == 503

    lines = log_lines()
    failures = [line for line in lines if "object storage unreachable" in line]
    assert failures and "s3.test/mybroker-documents/doc9?" in failures[0], lines
    assert leaked(lines) == []
