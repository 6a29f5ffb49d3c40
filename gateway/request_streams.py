"""Opening a stream of a dossier's request changes, for the JSON API and for the pages.

The caller's grant is checked once, here, when the stream opens; the stream then ends when the
access token expires (or after `request_stream_max_seconds`): the client reconnects and is
authorized again, so a logout or a dossier taken away reaches an open stream within minutes, and
sooner through the deny-lists checked at every event and heartbeat.
"""

import asyncio
import time

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway.deps import GatewayState
from gateway.request_events import StreamLimits, TooManyStreams, stream_changes
from libs.contracts.auth import AccessClaims
from libs.servicekit.errors import NotFound, RateLimited

EVENT_STREAM = "text/event-stream"
MIN_STREAM_SECONDS = 5.0  # a token about to expire still gets a useful stream, then a reconnect
STREAM_HEADERS = {
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}
RETRY_AFTER_SECONDS = 30


def open_stream(
    state: GatewayState, claims: AccessClaims, dossier_id: str, *, page: bool
) -> StreamingResponse:
    """A server-sent-event response of `dossier_id`'s request changes for `claims`' holder."""
    if dossier_id not in claims.dossiers:
        raise NotFound("This dossier does not exist.")
    hub = state.request_events
    try:
        subscription = hub.open(dossier_id, claims.sub)
    except TooManyStreams:
        raise RateLimited("Too many live connections are open for this account; close a tab or "
                          "try again later.",
                          fields={"retry_after": str(RETRY_AFTER_SECONDS)}) from None
    settings = state.settings
    seconds = max(MIN_STREAM_SECONDS, min(settings.request_stream_max_seconds,
                                          claims.exp - time.time()))
    limits = StreamLimits(heartbeat_seconds=settings.request_stream_heartbeat_seconds,
                          until=asyncio.get_running_loop().time() + seconds)
    verifier = state.verifier

    def still_allowed() -> bool:
        return (claims.sid not in verifier.deny_list
                and dossier_id in verifier.revoked_grants.kept(claims))

    body = stream_changes(hub, subscription, limits, page=page, still_allowed=still_allowed)
    # The task also frees the subscription of a client gone before the body's first byte.
    return StreamingResponse(body, media_type=EVENT_STREAM, headers=STREAM_HEADERS,
                             background=BackgroundTask(hub.close, subscription))
