"""OpenTelemetry traces: one trace per user action, from the gateway through RPC and events.

The W3C trace context (`traceparent` header) rides on every RPC request and every event
message; the outbox stores it with the event, so the relay publishes the event inside the trace
of the action that caused it. Spans are exported over OTLP/HTTP only when
OTEL_EXPORTER_OTLP_ENDPOINT is set (standard OpenTelemetry variables); otherwise they exist for
the log lines' trace id and cost next to nothing.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

TRACER_NAME = "mybroker"
_configured = False


def configure_tracing(service: str) -> None:
    """Install this process's tracer provider (once), exporting when an endpoint is set."""
    global _configured
    if _configured:
        return
    _configured = True
    name = os.environ.get("OTEL_SERVICE_NAME") or f"mybroker-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    """The tracer of MyBroker's own spans."""
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str]:
    """The current trace context as message headers (empty outside any trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, None outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


@contextmanager
def span(
    name: str,
    kind: SpanKind,
    *,
    parent: Mapping[str, Any] | None = None,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span, current while the block runs; `parent` are headers carrying a trace context.

    An exception marks the span as failed and propagates unchanged.
    """
    token = None
    if parent is not None:
        carried = {key: str(value) for key, value in parent.items() if isinstance(value, str)}
        # Without a trace context in `parent`, the current one (if any) stays the parent.
        token = context.attach(propagate.extract(carried, context=context.get_current()))
    try:
        with tracer().start_as_current_span(
            name, kind=kind, attributes=dict(attributes or {}), record_exception=True,
            set_status_on_exception=True,
        ) as current:
            yield current
    finally:
        if token is not None:
            context.detach(token)


def mark_failed(current: Span, description: str) -> None:
    """Mark `current` as failed without an exception (e.g. an RPC answered with an error)."""
    current.set_status(Status(StatusCode.ERROR, description))
