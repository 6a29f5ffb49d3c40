"""Use cases of the requests service."""

from collections.abc import Callable

from libs.contracts.envelope import new_id, utc_now
from libs.contracts.requests import (
    ListRequestsQuery,
    RequestList,
    RequestPublic,
    RequestSubmitted,
    SendMessageRequest,
)
from libs.servicekit.access import require_dossier_access
from libs.servicekit.logs import correlation_id, get_logger
from services.requests.domain import (
    RequestKind,
    RequestStatus,
    clean_message,
    parse_status_filter,
)
from services.requests.store import RequestStore

log = get_logger(__name__)


class RequestHandlers:
    """One method per query or command."""

    def __init__(self, store: RequestStore, on_events_stored: Callable[[], None]) -> None:
        self._store = store
        self._on_events_stored = on_events_stored

    async def send_message(self, request: SendMessageRequest) -> RequestPublic:
        """A free message to the broker (manual 6): stored as a pending request, office told."""
        require_dossier_access(request.caller, request.dossier_id)
        text = clean_message(request.subject, request.body)
        sent = RequestPublic(
            request_id=new_id(),
            dossier_id=request.dossier_id,
            kind=RequestKind.MESSAGE,
            subject=text.subject,
            body=text.body,
            status=RequestStatus.PENDING,
            sent_by=request.caller.user_id,
            sent_by_name=" ".join(request.sender_name.split()),
            sent_at=utc_now(),
        )
        event = RequestSubmitted(
            dossier_id=sent.dossier_id,
            occurred_at=sent.sent_at,
            correlation_id=request.correlation_id or correlation_id.get(),
            request_id=sent.request_id,
            kind=sent.kind,
            subject=sent.subject,
            sent_by=sent.sent_by,
        )
        await self._store.insert(sent, event)
        self._on_events_stored()
        log.info("request submitted", dossier_id=sent.dossier_id, request_id=sent.request_id,
                 event_id=event.event_id)
        return sent

    async def list_requests(self, query: ListRequestsQuery) -> RequestList:
        """The "my requests" list of a dossier (manual 3.2): newest first, optionally one status."""
        require_dossier_access(query.caller, query.dossier_id)
        status = parse_status_filter(query.status)
        return RequestList(requests=await self._store.list_for_dossier(query.dossier_id, status))
