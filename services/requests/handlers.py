"""Use cases of the requests service."""

from collections.abc import Callable, Mapping
from datetime import datetime

from prometheus_client import Counter

from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.requests import (
    AdmitAttachmentRequest,
    ListRequestsQuery,
    RequestKind,
    RequestList,
    RequestPublic,
    RequestStatus,
    RequestSubmitted,
    SendMessageRequest,
)
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_dossier_access
from libs.servicekit.errors import RateLimited
from libs.servicekit.logs import correlation_id, get_logger
from services.requests.domain import clean_message, parse_status_filter
from services.requests.store import RequestStore, SubmissionWindows
from services.requests.submission_limits import SubmissionKind, SubmissionLimit

log = get_logger(__name__)
throttled = Counter("mybroker_requests_submissions_throttled_total",
                    "Messages and attachment uploads refused by the per-account window",
                    ["kind"])
RETRY_AFTER_FIELD = "retry_after"  # seconds; the gateway turns it into a Retry-After header
TOO_MANY = {
    SubmissionKind.MESSAGE: "Too many messages in a short time. Please try again in {seconds} "
                            "seconds.",
    SubmissionKind.ATTACHMENT: "Too many attachments in a short time. Please try again in "
                               "{seconds} seconds.",
}


class RequestHandlers:
    """One method per query or command."""

    def __init__(
        self, store: RequestStore, on_events_stored: Callable[[], None], *,
        windows: SubmissionWindows, limits: Mapping[SubmissionKind, SubmissionLimit],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._on_events_stored = on_events_stored
        self._windows = windows
        self._limits = limits
        self._clock = clock

    async def _take_submission(self, caller: Caller, kind: SubmissionKind) -> None:
        """Spend one of the account's submissions of `kind`, or refuse with how long to wait."""
        admission = await self._windows.take(f"{kind}:{caller.user_id}", self._clock(),
                                             self._limits[kind])
        if not admission.allowed:
            seconds = admission.retry_after_seconds
            throttled.labels(str(kind)).inc()
            log.warning("submissions throttled", kind=str(kind), user_id=caller.user_id,
                        retry_after=seconds)
            raise RateLimited(TOO_MANY[kind].format(seconds=seconds),
                              fields={RETRY_AFTER_FIELD: str(seconds)})

    async def send_message(self, request: SendMessageRequest) -> RequestPublic:
        """A free message to the broker (manual 6): stored as a pending request, office told."""
        require_dossier_access(request.caller, request.dossier_id)
        text = clean_message(request.subject, request.body)
        await self._take_submission(request.caller, SubmissionKind.MESSAGE)
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

    async def admit_attachment(self, request: AdmitAttachmentRequest) -> Ack:
        """A client is about to attach files: allowed within the account's attachment window."""
        require_dossier_access(request.caller, request.dossier_id)
        await self._take_submission(request.caller, SubmissionKind.ATTACHMENT)
        return Ack()

    async def list_requests(self, query: ListRequestsQuery) -> RequestList:
        """The "my requests" list of a dossier (manual 3.2): newest first, optionally one status."""
        require_dossier_access(query.caller, query.dossier_id)
        status = parse_status_filter(query.status)
        return RequestList(requests=await self._store.list_for_dossier(query.dossier_id, status))
