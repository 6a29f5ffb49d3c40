"""Live changes of a dossier's requests for the mobile app (server-sent events)."""

from fastapi.responses import StreamingResponse

from gateway.deps import CurrentCaller, GrantedDossier, State
from gateway.problems import api_router
from gateway.request_streams import EVENT_STREAM, open_stream

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["requests"])


@router.get(
    "/requests/events",
    response_class=StreamingResponse,
    responses={200: {"content": {EVENT_STREAM: {}}, "description": (
        "A `ready` event, then one `request` event per change (JSON: event_id, change = "
        "submitted | replied | status_changed | resync, request_id, occurred_at, status on a "
        "status change, author on a reply) and a comment line as heartbeat. `resync`: changes "
        "may have been missed, fetch the list again.")}},
)
async def request_events(
    dossier_id: GrantedDossier, claims: CurrentCaller, state: State
) -> StreamingResponse:
    """This dossier's request changes as they happen, until the access token expires (then
    reconnect with a fresh one and fetch the list again); 429 past the account's streams."""
    return open_stream(state, claims, dossier_id, page=False)
