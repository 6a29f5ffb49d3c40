"""Per-request correlation id and trace (forwarded on every RPC) and request metrics by route."""

import re
import time

from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.contracts.envelope import new_id
from libs.servicekit.logs import correlation_id
from libs.servicekit.tracing import mark_failed, span

CORRELATION_HEADER = b"x-correlation-id"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

http_requests = Counter(
    "mybroker_gateway_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
http_seconds = Histogram(
    "mybroker_gateway_http_request_seconds", "Time to answer (streams: to the last byte)",
    ["method", "route"],
)


class RequestContext:
    """ASGI middleware: sets the correlation id, opens the request's trace (continuing an
    incoming `traceparent`), and counts each request under its route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(CORRELATION_HEADER, b"").decode("latin-1")
        request_id = offered if _ACCEPTED_ID.match(offered) else new_id()
        token = correlation_id.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (CORRELATION_HEADER, request_id.encode())]
            await send(message)

        headers = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope["headers"] if key in (b"traceparent", b"tracestate")}
        try:
            with span(f"{scope['method']} request", SpanKind.SERVER, parent=headers,
                      attributes={"http.request.method": scope["method"],
                                  "correlation_id": request_id}) as current:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    route = getattr(scope.get("route"), "path", "unmatched")
                    current.update_name(f"{scope['method']} {route}")
                    current.set_attribute("http.route", route)
                    current.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        mark_failed(current, f"answered {status}")
        finally:
            http_requests.labels(scope["method"], route, str(status)).inc()
            http_seconds.labels(scope["method"], route).observe(time.perf_counter() - started)
            correlation_id.reset(token)
