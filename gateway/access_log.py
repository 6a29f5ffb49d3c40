"""Recording every staff read of a dossier's data for the access log ("Wie bekeek mijn dossier").

An ASGI middleware notes, after a staff member's successful GET of an office page or of the
admin API, who read what: the route (its template, e.g. `/admin/dossiers/{dossier_id}/
documents/{document_id}/file`) and its ids, from which address. Reads that name no dossier in
their path (a list, a request's detail) are recorded too, with the dossier a route found, if it
told (`note_dossier_read`). The page never waits for the log: a read is appended to an in-memory
buffer and a background task publishes the buffer as one event (`gateway.staff_reads.recorded`)
every fraction of a second; auth stores it. While the bus is away the buffer waits (bounded:
the oldest reads are dropped and counted beyond `MAX_BUFFERED`).
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.contracts.auth import AccessClaims
from libs.contracts.envelope import Event, new_id, utc_now
from libs.contracts.privacy import StaffRead, StaffReadsRecorded
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
CLAIMS_KEY = "caller_claims"
DOSSIER_KEY = "read_dossier_id"
MAX_BATCH = 500
MAX_BUFFERED = 50_000
FLUSH_SECONDS = 0.2
STAFF_PREFIXES = ("/admin/", "/admin")
# Office routes that read no client's data (the docs, the live counters polled every minute).
NOT_READS = ("/admin/api-docs", "/admin/asyncapi.json", "/admin/desk/new-count")
# Routes that show the office's own records about a dossier, not the client's data: the access
# log itself and an erasure's report (its progress page is read after the dossier is gone).
NOT_READ_ROUTES = frozenset({
    "/admin/api/v1/access-log", "/admin/access-log", "/admin/api/v1/erasures",
    "/admin/api/v1/dossiers/{dossier_id}/erasure", "/admin/erasures",
    "/admin/erasures/{dossier_id}"})
reads_recorded = Counter("mybroker_gateway_staff_reads_total", "Staff reads recorded",
                         ["outcome"])

Publish = Callable[[Event], Awaitable[None]]


def note_caller(scope_state: dict[str, Any], claims: AccessClaims) -> None:
    """Remember who the request's caller is (the token and session checks call this)."""
    scope_state[CLAIMS_KEY] = claims


def note_dossier_read(scope_state: dict[str, Any], dossier_id: str) -> None:
    """A route whose path names no dossier tells which dossier it showed."""
    scope_state[DOSSIER_KEY] = dossier_id


class StaffReadBuffer:
    """Reads waiting to be published; `run` publishes them in batches until cancelled."""

    def __init__(self, publish: Publish | None, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._publish = publish
        self._flush_seconds = flush_seconds
        self._reads: deque[StaffRead] = deque()

    def add(self, read: StaffRead) -> None:
        """Queue one read (never waits, never fails)."""
        if len(self._reads) >= MAX_BUFFERED:
            self._reads.popleft()
            reads_recorded.labels("dropped").inc()
        self._reads.append(read)
        reads_recorded.labels("buffered").inc()

    def __len__(self) -> int:
        return len(self._reads)

    async def flush(self) -> int:
        """Publish what is buffered, a batch at a time; how many went out."""
        sent = 0
        while self._reads and self._publish is not None:
            batch = [self._reads.popleft() for _ in range(min(MAX_BATCH, len(self._reads)))]
            try:
                await self._publish(StaffReadsRecorded(reads=batch))
            except Exception:
                self._reads.extendleft(reversed(batch))  # tried again next round
                raise
            sent += len(batch)
        return sent

    async def run(self) -> None:
        """Publish every `flush_seconds` until cancelled; a failure waits for the next round."""
        try:
            while True:
                await asyncio.sleep(self._flush_seconds)
                try:
                    await self.flush()
                except Exception as error:  # noqa: BLE001 - the bus is away: kept, retried
                    log.warning("staff reads not published yet; retrying",
                                error=str(error) or type(error).__name__,
                                waiting=len(self._reads))
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self.flush()  # what a stop would lose


def staff_read_of(scope: Scope, claims: AccessClaims) -> StaffRead:
    """The read a staff member's request made."""
    route = scope.get("route")
    template = getattr(route, "path", None) or scope.get("path", "")
    params = {name: str(value) for name, value in (scope.get("path_params") or {}).items()}
    state = scope.get("state") or {}
    dossier_id = params.pop("dossier_id", None) or state.get(DOSSIER_KEY)
    object_id = "/".join(params[name] for name in sorted(params)) or None
    client = scope.get("client")
    return StaffRead(read_id=new_id(), at=utc_now(), staff_id=claims.sub,
                     staff_name=claims.name[:200], route_kind=template[:200],
                     dossier_id=dossier_id, object_id=object_id[:200] if object_id else None,
                     client_ip=client[0] if client else None)


class StaffReadMiddleware:
    """Adds every successful staff read of an office page or the admin API to the buffer."""

    def __init__(self, app: ASGIApp, buffer: StaffReadBuffer) -> None:
        self.app = app
        self.buffer = buffer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; note the read once the answer started with 200."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (scope["type"] != "http" or scope.get("method") != "GET"
                or not path.startswith(STAFF_PREFIXES) or path.startswith(NOT_READS)):
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, noting_status)
        claims = (scope.get("state") or {}).get(CLAIMS_KEY)
        route = getattr(scope.get("route"), "path", None)
        if (status and status[0] in (200, 206) and claims is not None
                and claims.caller().is_staff and route not in NOT_READ_ROUTES):
            self.buffer.add(staff_read_of(scope, claims))
