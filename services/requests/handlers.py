"""Use cases of the requests service: the client's messages and replies, and the office's desk.

Every change reads the request, lets the pure rules (domain.py) make the new state and its
events, and writes both in one compare-and-set on the request's version, retried when someone
else changed it in between (or refused, when the caller said which version they acted on).
"""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from prometheus_client import Counter

from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.requests import (
    MAX_ATTACHMENTS,
    AddNoteCommand,
    AdmitAttachmentRequest,
    AnswerCommand,
    AssignCommand,
    AssigneeFilter,
    AttachCommand,
    DeskGetQuery,
    DeskPage,
    DeskQuery,
    FindResubmittedQuery,
    GetRequestQuery,
    ListRequestsQuery,
    OfficeCommand,
    OfficeRequest,
    ReplyCommand,
    RequestKind,
    RequestList,
    RequestPublic,
    RequestStatus,
    SendMessageRequest,
    SetStatusCommand,
    TakeCommand,
)
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.errors import Conflict, NotFound, RateLimited
from libs.servicekit.keyset import ListCursors
from libs.servicekit.logs import correlation_id, get_logger
from services.requests import domain
from services.requests.domain import (
    Actor,
    Change,
    ServiceLevels,
    clean_message,
    clean_name,
    parse_status_filter,
)
from services.requests.store import DeskFilter, RequestStore, SubmissionWindows
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


NOT_FOUND = "This request does not exist."
STALE = "This request changed since you opened it: reload it and try again."
CHANGE_ATTEMPTS = 8  # concurrent changes of one request retry their compare-and-set
DESK_CURSOR_VERSION = "desk-1"

Mutation = Callable[[OfficeRequest], Change]


class RequestHandlers:
    """One method per query or command."""

    def __init__(
        self, store: RequestStore, on_events_stored: Callable[[], None], *,
        windows: SubmissionWindows, limits: Mapping[SubmissionKind, SubmissionLimit],
        levels: ServiceLevels | None = None, cursor_signer: CursorSigner | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._on_events_stored = on_events_stored
        self._windows = windows
        self._limits = limits
        self._levels = levels or ServiceLevels()
        self._cursors = ListCursors(cursor_signer or CursorSigner(new_id().encode()),
                                    DESK_CURSOR_VERSION, shown_as="request_desk")
        self._clock = clock

    @property
    def levels(self) -> ServiceLevels:
        """The service levels (the forms' submissions take their targets from them)."""
        return self._levels

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

    # --- the client's side ------------------------------------------------------------------

    async def send_message(self, request: SendMessageRequest) -> RequestPublic:
        """A free message to the broker (manual 6), about something of the dossier or not, with
        its files: stored as a pending request, the office told. A resubmission under the same
        idempotency key answers with the request stored the first time."""
        require_dossier_access(request.caller, request.dossier_id)
        if request.idempotency_key is not None:
            stored = await self._store.find_resubmitted(
                request.dossier_id, request.caller.user_id, request.idempotency_key)
            if stored is not None:
                domain.require_same_kind(stored, RequestKind.MESSAGE)
                return domain.for_client(stored, self._clock())
        text = clean_message(request.subject, request.body)
        await self._take_submission(request.caller, SubmissionKind.MESSAGE)
        change = domain.open_request(
            request_id=request.request_id or new_id(), dossier_id=request.dossier_id,
            kind=RequestKind.MESSAGE, subject=text.subject, body=text.body,
            about=request.about, form=None, attachments=request.attachments,
            sender=Actor(request.caller.user_id, clean_name(request.sender_name)),
            now=self._clock(), levels=self._levels,
            correlation_id=request.correlation_id or correlation_id.get())
        stored = await self._store.insert(change.request, change.events,
                                          idempotency_key=request.idempotency_key)
        domain.require_same_kind(stored, RequestKind.MESSAGE)  # the same key, at the same time
        if stored.entries[0].entry_id == change.request.entries[0].entry_id:  # not a resend
            self._on_events_stored()
            log.info("request submitted", dossier_id=stored.dossier_id,
                     request_id=stored.request_id, event_id=change.events[0].event_id)
        return domain.for_client(stored, self._clock())

    async def find_resubmitted(self, query: FindResubmittedQuery) -> RequestPublic:
        """The request the caller stored in the dossier under this idempotency key (a resend
        with files is answered before its files are read again)."""
        require_dossier_access(query.caller, query.dossier_id)
        stored = await self._store.find_resubmitted(query.dossier_id, query.caller.user_id,
                                                    query.idempotency_key)
        if stored is None:
            raise NotFound("Nothing was sent under this key.")
        if query.kind is not None:
            domain.require_same_kind(stored, query.kind)
        return domain.for_client(stored, self._clock())

    async def admit_attachment(self, request: AdmitAttachmentRequest) -> Ack:
        """A client is about to attach files: allowed within the account's attachment window."""
        require_dossier_access(request.caller, request.dossier_id)
        await self._take_submission(request.caller, SubmissionKind.ATTACHMENT)
        return Ack()

    async def list_requests(self, query: ListRequestsQuery) -> RequestList:
        """The "my requests" list of a dossier (manual 3.2): newest first, optionally one status."""
        require_dossier_access(query.caller, query.dossier_id)
        status = parse_status_filter(query.status)
        now = self._clock()
        return RequestList(requests=[
            domain.summary(request, now)
            for request in await self._store.list_for_dossier(query.dossier_id, status)])

    async def _dossier_request(self, caller: Caller, dossier_id: str, request_id: str
                               ) -> OfficeRequest:
        """The request, if it is of this dossier and the caller may see the dossier; another
        dossier's request is "not found" like a missing one."""
        require_dossier_access(caller, dossier_id)
        request = await self._store.get(request_id)
        if request is None or request.dossier_id != dossier_id:
            raise NotFound(NOT_FOUND)
        return request

    async def get_request(self, query: GetRequestQuery) -> RequestPublic:
        """A request's detail with its thread and timeline; opened by a client, it is read."""
        request = await self._dossier_request(query.caller, query.dossier_id, query.request_id)
        if query.mark_read and not query.caller.is_staff:
            request = await self._mark_read(request, domain.mark_read_by_client)
        return domain.for_client(request, self._clock())

    async def reply(self, command: ReplyCommand) -> RequestPublic:
        """The client adds to the thread (not to a closed one: 409); the office is told."""
        await self._dossier_request(command.caller, command.dossier_id, command.request_id)
        client = Actor(command.caller.user_id, clean_name(command.author_name))
        cid = command.correlation_id or correlation_id.get()
        changed = await self._change(command.request_id, None, lambda request: (
            domain.client_reply(request, body=command.body, attachments=command.attachments,
                                client=client, now=self._clock(), correlation_id=cid)))
        return domain.for_client(changed, self._clock())

    async def attach(self, command: AttachCommand) -> RequestPublic:
        """Files uploaded after their entry was stored, added to it (one's own entry)."""
        await self._dossier_request(command.caller, command.dossier_id, command.request_id)
        actor = Actor(command.caller.user_id, "")
        changed = await self._change(command.request_id, None, lambda request: Change(
            domain.attach(request, entry_id=command.entry_id, attachments=command.attachments,
                          actor=actor, now=self._clock(), max_files=MAX_ATTACHMENTS), ()))
        return domain.for_client(changed, self._clock())

    # --- the office's desk ------------------------------------------------------------------

    def _desk_context(self, query: DeskQuery) -> tuple[str, ...]:
        me = query.caller.user_id if query.assignee == AssigneeFilter.ME else ""
        context = (str(query.status or ""), str(query.open_only),
                   str(query.kind or ""), query.dossier_id or "", query.assignee or "", me,
                   str(query.older_than_days if query.older_than_days is not None else ""))
        return (*context, "unread") if query.unread_only else context

    async def desk_list(self, query: DeskQuery) -> DeskPage:
        """Every dossier's requests for the office: overdue first, then closest to target,
        answered ones after, finished ones last; filtered, keyset paged (signed cursors)."""
        require_staff(query.caller)
        now = self._clock()
        after = None
        if query.cursor:
            after = self._cursors.open_text(query.cursor, *self._desk_context(query),
                                            caller=query.caller)
            if not after.startswith("k"):
                self._cursors.refuse(query.caller)
        assignee = query.assignee
        desk_filter = DeskFilter(
            status=query.status, open_only=query.open_only,
            kind=str(query.kind) if query.kind else None, dossier_id=query.dossier_id,
            unassigned=assignee == AssigneeFilter.NONE,
            assignee_id=(query.caller.user_id if assignee == AssigneeFilter.ME
                         else None if assignee == AssigneeFilter.NONE else assignee),
            sent_before_ms=(None if query.older_than_days is None else int(
                (now - timedelta(days=query.older_than_days)).timestamp() * 1000)),
            unread_only=query.unread_only)
        page, next_after = await self._store.desk_page(desk_filter, after=after,
                                                       limit=query.limit)
        return DeskPage(
            items=[domain.desk_item(request, now) for request in page],
            next_cursor=None if next_after is None else self._cursors.sign(
                next_after.encode(), *self._desk_context(query)))

    async def _office_request(self, caller: Caller, request_id: str) -> OfficeRequest:
        require_staff(caller)
        request = await self._store.get(request_id)
        if request is None:
            raise NotFound(NOT_FOUND)
        return request

    async def desk_get(self, query: DeskGetQuery) -> OfficeRequest:
        """A request with its internal notes; opened by staff, it is read for the office."""
        request = await self._office_request(query.caller, query.request_id)
        if query.mark_read:
            request = await self._mark_read(request, domain.mark_read_by_office)
        return domain.for_office(request, self._clock())

    async def _office_change(self, command: OfficeCommand,
                             mutate: Callable[[OfficeRequest, Actor, str | None], Change]
                             ) -> OfficeRequest:
        await self._office_request(command.caller, command.request_id)
        staff = Actor(command.caller.user_id, clean_name(command.staff_name))
        cid = command.correlation_id or correlation_id.get()
        changed = await self._change(command.request_id, command.version,
                                     lambda request: domain.seen_by_office(
                                         mutate(request, staff, cid)))
        return domain.for_office(changed, self._clock())

    async def take(self, command: TakeCommand) -> OfficeRequest:
        """Take in progress: assigned to the caller."""
        return await self._office_change(command, lambda request, staff, cid: domain.take(
            request, staff=staff, now=self._clock(), correlation_id=cid))

    async def reassign(self, command: AssignCommand) -> OfficeRequest:
        """Hand to a colleague (the gateway checked that the colleague is staff)."""
        assignee = Actor(command.assignee_id, clean_name(command.assignee_name))
        return await self._office_change(command, lambda request, staff, cid: domain.reassign(
            request, assignee=assignee, staff=staff, now=self._clock(), correlation_id=cid))

    async def answer(self, command: AnswerCommand) -> OfficeRequest:
        """An answer in the thread for the client, optionally with a status change."""
        target = None if command.status is None else RequestStatus(command.status)
        return await self._office_change(command, lambda request, staff, cid: domain.answer(
            request, body=command.body, attachments=command.attachments, status=target,
            reason=command.reason, staff=staff, now=self._clock(), correlation_id=cid))

    async def set_status(self, command: SetStatusCommand) -> OfficeRequest:
        """Accept, refuse with a reason, close, release (pending) or take in progress."""
        target = RequestStatus(command.status)
        return await self._office_change(command, lambda request, staff, cid: (
            domain.set_status(request, target=target, reason=command.reason, staff=staff,
                              now=self._clock(), correlation_id=cid)))

    async def add_note(self, command: AddNoteCommand) -> OfficeRequest:
        """An internal note (never shown to the client, no event)."""
        return await self._office_change(command, lambda request, staff, _cid: Change(
            domain.add_note(request, body=command.body, staff=staff, now=self._clock()), ()))

    # --- writing ------------------------------------------------------------------------------

    async def _mark_read(self, request: OfficeRequest,
                         read: Callable[[OfficeRequest], OfficeRequest | None]
                         ) -> OfficeRequest:
        """Clear an unread marker (best effort: a lost race leaves it for the next opening)."""
        after = read(request)
        if after is None:
            return request
        if await self._store.save(request, after):
            return after
        latest = await self._store.get(request.request_id)
        return latest or request

    async def _change(self, request_id: str, version: int | None, mutate: Mutation
                      ) -> OfficeRequest:
        """Apply `mutate` to the current request and store the result with its events, by
        compare-and-set on the version; retried on a race unless the caller acted on a given
        version (then 409: they must see the other change first)."""
        for _ in range(CHANGE_ATTEMPTS):
            request = await self._store.get(request_id)
            if request is None:
                raise NotFound(NOT_FOUND)
            if version is not None and request.version != version:
                raise Conflict(STALE)
            change = mutate(request)
            if await self._store.save(request, change.request, change.events):
                if change.events:
                    self._on_events_stored()
                    log.info("request changed", request_id=request_id,
                             dossier_id=request.dossier_id, version=change.request.version,
                             events=[event.routing_key for event in change.events])
                return change.request
        log.warning("request contended; refused for now", request_id=request_id)
        raise Conflict(STALE)
