"""What the gateway enforces on every HTTP exchange, before and after any route: bounded request
headers, and answers that no browser or proxy keeps.

Header limits are set twice. The server (uvicorn on h11, SERVER_PARSER) stops reading a
request whose head grows past MAX_HEADER_BYTES, so a megabyte of headers is never buffered;
the ASGI check below answers 431 for too many headers (h11 has no count limit) and for a head
that passed a server without the byte limit (tests, another server).
"""

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import problem_response

MAX_HEADER_BYTES = 32 * 1024  # the request line and every header together
MAX_HEADERS = 100
# uvicorn's pure-Python h11 parser bounds the request head (h11_max_incomplete_event_size);
# its default C parser (httptools) buffers a head of any size.
SERVER_PARSER = "h11"
# Static files may be cached; every other answer carries a token, personal data or a page
# of a signed-in person, unless its route says otherwise (downloads: "private, no-store").
_CACHEABLE_PREFIXES = ("/static/",)
_CACHE_CONTROL = b"cache-control"


def _too_many_headers(headers: list[tuple[bytes, bytes]]) -> bool:
    if len(headers) > MAX_HEADERS:
        return True
    return sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES


class EdgeGuard:
    """ASGI middleware: 431 for oversized request headers; `Cache-Control: no-store` on every
    answer that sets no caching of its own, static files excepted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _too_many_headers(scope["headers"]):
            response = problem_response(
                Request(scope), 431, "headers_too_large",
                f"The request has more than {MAX_HEADERS} headers or {MAX_HEADER_BYTES} bytes "
                "of them.")
            await response(scope, receive, send)
            return
        if scope["path"].startswith(_CACHEABLE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == _CACHE_CONTROL for name, _ in headers):
                    message["headers"] = [*headers, (_CACHE_CONTROL, b"no-store")]
            await send(message)

        await self.app(scope, receive, send_not_stored)
