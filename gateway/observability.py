"""Per-request correlation id (forwarded on every RPC) and request metrics by route."""

import re
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.contracts.envelope import new_id
from libs.servicekit.logs import correlation_id

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
    """ASGI middleware: sets the correlation id and counts each request under its route."""

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

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            http_requests.labels(scope["method"], route, str(status)).inc()
            http_seconds.labels(scope["method"], route).observe(time.perf_counter() - started)
            correlation_id.reset(token)
