"""One trace per user action: a client's message through the gateway, the requests service (RPC),
its outbox relay and the notifier (event consumer) carries one trace id from end to end.

Runs on the real RabbitMQ and Mongo-wire server with an in-process SMTP server; the spans are
collected by OpenTelemetry's in-memory exporter.
"""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from deploy.local import infra
from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts import auth
from libs.contracts.rpc import RpcMethod
from libs.servicekit.bus import create_broker
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import _add_trace_id
from libs.servicekit.rpc import RpcClient, serve_rpc
from libs.servicekit.tracing import span
from services.notifier.config import NotifierSettings
from services.notifier.main import NotifierService
from services.notifier.main import build as build_notifier
from services.requests.config import RequestsSettings
from services.requests.main import build as build_requests
from tests.service.gateway_support import write_signing_key
from tests.service.test_notifier import MailSink, free_port


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process ends while the test runs."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()


@pytest.fixture
def own_vhost(amqp_url: str) -> Iterator[str]:
    """A RabbitMQ vhost of this test alone: the session's system stack (started by the browser
    tests) consumes the same RPC queues in the run's vhost and would answer in our place."""
    vhost = f"mybroker-trace-{uuid.uuid4().hex[:8]}"
    if not infra.create_vhost(vhost):
        pytest.skip("creating a RabbitMQ vhost needs rabbitmqctl as root; the running stack "
                    "would compete for the requests service's RPC queue")
    parts = urlsplit(amqp_url)
    yield urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
    infra.delete_vhost(vhost)


@pytest.fixture
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    sink, port = MailSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@contextlib.asynccontextmanager
async def running_services(
    amqp_url: str, mongo_url: str, database: str, smtp_port: int
) -> AsyncIterator[NotifierService]:
    """The requests service (with its outbox relay) and the notifier on the real bus; the
    office's digest is due at once (the test runs the notifier's periodic check itself)."""
    requests_service = build_requests(RequestsSettings(
        environment="test", amqp_url=amqp_url, mongo_url=mongo_url, mongo_db=f"{database}_rq"))
    notifier = build_notifier(NotifierSettings(
        environment="test", amqp_url=amqp_url, mongo_url=mongo_url, mongo_db=f"{database}_nt",
        smtp_host="127.0.0.1", smtp_port=smtp_port, office_email="office@example.be",
        office_digest_window_seconds=0))
    auth_stub = create_broker(amqp_url, "auth-stub")

    async def no_revoked_sessions(_: auth.RevokedSessionsRequest) -> auth.RevokedSessions:
        return auth.RevokedSessions(session_ids=[])

    serve_rpc(auth_stub, auth.LIST_REVOKED_SESSIONS, no_revoked_sessions)
    await requests_service.store.ensure_indexes()
    await notifier.store.ensure_indexes()
    brokers = [requests_service.runtime.broker, notifier.runtime.broker, auth_stub]
    for broker in brokers:
        await broker.start()
    relay = asyncio.create_task(requests_service.relay.run())
    try:
        yield notifier
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        for broker in brokers:
            await broker.stop()


async def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_message_sent_through_the_gateway_is_one_trace_across_the_services(
    spans: InMemorySpanExporter, mail_sink: tuple[MailSink, int], own_vhost: str,
    mongo_url: str, database_name: str, tmp_path: Path,
) -> None:
    amqp_url = own_vhost
    sink, smtp_port = mail_sink
    key = write_signing_key(tmp_path)
    rpc = RpcClient(amqp_url, timeout_seconds=5.0)
    await rpc.connect()
    app = create_app(
        GatewaySettings(environment="test", jwt_public_key_path=str(key.public_pem_path)),
        rpc=rpc)
    async with running_services(amqp_url, mongo_url, database_name, smtp_port) as notifier, \
            app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                              base_url="http://testserver") as client:
        response = await client.post(
            "/api/v1/dossiers/D1/messages", json={"subject": "Nieuwe auto", "body": "Graag."},
            headers={"Authorization": f"Bearer {key.token(dossiers=('D1',))}"})
        assert response.status_code == 201, response.text
        await _wait_for(lambda: any(s.name.startswith("consume notifier.")
                                    for s in spans.get_finished_spans()))
        await notifier.check_mails()  # the office's digest of the dossier's messages
        assert len(sink.mails) == 1
    await rpc.close()

    finished: tuple[ReadableSpan, ...] = spans.get_finished_spans()
    request_span = next(s for s in finished if s.name == "POST /api/v1/dossiers/{dossier_id}/"
                        "messages")
    assert request_span.context is not None
    trace_id = request_span.context.trace_id
    in_trace = {(s.name, s.kind) for s in finished
                if s.context is not None and s.context.trace_id == trace_id}
    gateway_spans = [s.name for s in finished if s.context is not None
                     and s.context.trace_id == trace_id and s.kind == SpanKind.SERVER
                     and not s.name.startswith("rpc ")]
    assert gateway_spans == [request_span.name]  # one span of the request, not FastAPI's too
    assert ("rpc requests.rpc.send_message", SpanKind.CLIENT) in in_trace  # gateway
    assert ("rpc requests.rpc.send_message", SpanKind.SERVER) in in_trace  # requests service
    assert ("publish requests.request.submitted", SpanKind.PRODUCER) in in_trace  # its relay
    assert any(name.startswith("consume notifier.") and kind == SpanKind.CONSUMER
               for name, kind in in_trace)  # the notifier


async def test_the_rpc_and_event_metrics_count_what_happened(amqp_url: str) -> None:
    before = REGISTRY.get_sample_value(
        "mybroker_rpc_calls_total", {"queue": "kit.nobody.home", "outcome": "unavailable"}) or 0
    rpc = RpcClient(amqp_url, timeout_seconds=0.2)
    await rpc.connect()
    nobody = RpcMethod("kit.nobody.home", auth.RevokedSessionsRequest, auth.RevokedSessions)
    with pytest.raises(Unavailable):
        await rpc.call(nobody, auth.RevokedSessionsRequest(since=datetime.now(UTC)))
    await rpc.close()
    after = REGISTRY.get_sample_value(
        "mybroker_rpc_calls_total", {"queue": "kit.nobody.home", "outcome": "unavailable"})
    assert after == before + 1


def test_log_lines_carry_the_trace_id_of_the_current_span(spans: InMemorySpanExporter) -> None:
    with span("a user action", SpanKind.SERVER) as current:
        line = _add_trace_id(None, "info", {"event": "something happened"})
    assert line["trace_id"] == format(current.get_span_context().trace_id, "032x")
    assert "trace_id" not in _add_trace_id(None, "info", {"event": "outside any trace"})
    assert json.dumps(line)
