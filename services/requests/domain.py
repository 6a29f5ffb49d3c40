"""Rules of requests and messages clients send to their broker (pure: no I/O).

A request is a thread: the client's first message (or form), the office's answers and the
client's replies, a status the office moves along the allowed transitions, a timeline, the
office's internal notes, unread markers on both sides and the target of the office's first
answer in Belgian working days. Each change returns the new state and the events to store with
it in the same write.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import holidays

from libs.contracts.envelope import OFFICE_TIMEZONE, Event, new_id
from libs.contracts.requests import (
    AttachmentRef,
    DeskItem,
    EntryAuthor,
    InternalNote,
    OfficeRequest,
    RequestAbout,
    RequestAssigned,
    RequestKind,
    RequestPublic,
    RequestReplied,
    RequestStatus,
    RequestStatusChanged,
    RequestSubmitted,
    RequestSummary,
    ThreadEntry,
    TimelineStep,
    TimelineStepKind,
)
from libs.servicekit.errors import Conflict, Invalid

BRUSSELS = OFFICE_TIMEZONE
CLOSED_THREAD = "This conversation is closed; send a new message."
OPEN_STATUSES = frozenset({RequestStatus.PENDING, RequestStatus.IN_PROGRESS})
FINAL_STATUSES = frozenset({RequestStatus.ACCEPTED, RequestStatus.REFUSED, RequestStatus.CLOSED})

ALLOWED_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    # The broker may answer at once, without taking the request in progress first.
    RequestStatus.PENDING: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.ACCEPTED,
                                      RequestStatus.REFUSED, RequestStatus.CLOSED}),
    # Back to pending: released, for a colleague to take.
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.ACCEPTED, RequestStatus.REFUSED,
                                          RequestStatus.CLOSED, RequestStatus.PENDING}),
    RequestStatus.ACCEPTED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.REFUSED: frozenset({RequestStatus.CLOSED}),
    # A closed thread is final: a new question is a new message.
    RequestStatus.CLOSED: frozenset(),
}
STEP_OF_STATUS: Mapping[RequestStatus, TimelineStepKind] = {
    RequestStatus.IN_PROGRESS: TimelineStepKind.TAKEN,
    RequestStatus.ACCEPTED: TimelineStepKind.ACCEPTED,
    RequestStatus.REFUSED: TimelineStepKind.REFUSED,
    RequestStatus.CLOSED: TimelineStepKind.CLOSED,
    RequestStatus.PENDING: TimelineStepKind.RELEASED,
}


def may_move(current: RequestStatus, target: RequestStatus) -> bool:
    """True when a request in `current` may be moved to `target`."""
    return target in ALLOWED_TRANSITIONS[current]


def require_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Refuse a status change the rules do not allow."""
    if not may_move(current, target):
        raise Conflict(f"A request that is {current} cannot become {target}.")


def require_same_kind(first: OfficeRequest | RequestPublic, kind: str) -> None:
    """A resend under an idempotency key answers with the first request only when it is the
    same kind of thing: a message sent under a form's key would otherwise vanish unseen."""
    if first.kind != kind:
        raise Conflict(f"This idempotency key was already used for another request "
                       f"(a {first.kind}).",
                       fields={"idempotency_key": "used for another request"})


def require_open_thread(status: RequestStatus) -> None:
    """Nobody adds to a closed conversation."""
    if status == RequestStatus.CLOSED:
        raise Conflict(CLOSED_THREAD)


# --- service level: Belgian working days ---------------------------------------------------


class WorkingCalendar:
    """Belgium's working days (no weekends, no legal holidays) and the office's hours, in
    Brussels time."""

    def __init__(self, opens: time = time(9), closes: time = time(17),
                 is_holiday: Callable[[date], bool] | None = None) -> None:
        if closes <= opens and closes != time(0):
            raise ValueError("the office closes after it opens")
        self._opens = opens
        self._closes = closes
        self._holidays = holidays.country_holidays("BE")  # grows by year as it is asked
        self._is_holiday = is_holiday or (lambda day: day in self._holidays)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, not one of Belgium's legal holidays."""
        return day.weekday() < 5 and not self._is_holiday(day)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def clock_start(self, moment: datetime) -> datetime:
        """When the office's clock starts for something arriving at `moment` (Brussels): then,
        during office hours of a working day; else at the next opening."""
        local = moment.astimezone(BRUSSELS)
        day = local.date()
        closes_at = time(23, 59, 59, 999999) if self._closes == time(0) else self._closes
        if self.is_working_day(day):
            if local.time() < self._opens:
                return datetime.combine(day, self._opens, BRUSSELS)
            if local.time() < closes_at:
                return local
        return datetime.combine(self.next_working_day(day), self._opens, BRUSSELS)

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """`days` working days after `moment`, at the same hour (UTC): a claim arriving on a
        Thursday at 14:00 with one working day is due Friday 14:00, on Christmas Eve 14:00 the
        next Monday (the 25th is a holiday) at 14:00."""
        start = self.clock_start(moment)
        day = start.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, start.timetz().replace(tzinfo=None), BRUSSELS).astimezone(UTC)


@dataclass(frozen=True)
class ServiceLevels:
    """The office's target for its first answer, per kind, in working days."""

    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    working_days: Mapping[str, int] = field(default_factory=lambda: {RequestKind.CLAIM: 1})
    default_working_days: int = 2

    def target_at(self, kind: str, sent_at: datetime) -> datetime:
        """When the first answer to a request of `kind` sent at `sent_at` is due."""
        days = self.working_days.get(str(kind), self.default_working_days)
        return self.calendar.add_working_days(sent_at, days)


def is_overdue(request: RequestSummary | OfficeRequest, now: datetime) -> bool:
    """Past its target without an answer, and still waiting for one."""
    return (request.answered_at is None and request.target_at is not None
            and request.status != RequestStatus.CLOSED and now > request.target_at)


# --- the desk's order ------------------------------------------------------------------------

_MS_DIGITS = 13  # milliseconds since 1970 fit in 13 digits until the year 2286
_MS_MAX: int = 10**_MS_DIGITS - 1


def _ms(moment: datetime) -> int:
    return max(0, min(_MS_MAX, int(moment.timestamp() * 1000)))


def desk_key(request: OfficeRequest) -> str:
    """The request's place on the desk, one string so a page is one indexed range: first the
    ones awaiting the office's first answer by target (overdue ones have the earliest), then
    the answered open ones by target, then the finished ones, the latest first. It begins with a
    letter (a key beginning like a date is compared as one by the Mongo-wire server)."""
    status = RequestStatus(request.status)
    target = _ms(request.target_at or request.sent_at)
    if status in FINAL_STATUSES:
        group, position = 2, _MS_MAX - _ms(request.updated_at or request.sent_at)
    elif request.answered_at is None:
        group, position = 0, target
    else:
        group, position = 1, target
    return f"k{group}{position:0{_MS_DIGITS}d}{request.request_id}"


def dossier_key(dossier_id: str, sent_at: datetime, request_id: str) -> str:
    """The request's place among its dossier's, newest first (one indexed range per dossier)."""
    return f"k{dossier_id}\x1d{_MS_MAX - _ms(sent_at):0{_MS_DIGITS}d}\x1f{request_id}"


def dossier_range(dossier_id: str) -> tuple[str, str]:
    """Bounds (low included, high excluded) of a dossier's keys: dossier ids hold no control
    characters, so "D1" never reaches into "D10"'s."""
    return f"k{dossier_id}\x1d", f"k{dossier_id}\x1e"


# --- reading -----------------------------------------------------------------------------------


def summary(request: OfficeRequest, now: datetime) -> RequestSummary:
    """The "Mijn aanvragen" row of a request."""
    return RequestSummary.model_validate(_summary_fields(request, now))


def desk_item(request: OfficeRequest, now: datetime) -> DeskItem:
    """The desk row of a request."""
    return DeskItem.model_validate({
        **_summary_fields(request, now), "unread_by_office": request.unread_by_office,
        "assignee_id": request.assignee_id, "assignee_name": request.assignee_name})


def _summary_fields(request: OfficeRequest, now: datetime) -> dict[str, object]:
    return {
        "request_id": request.request_id, "dossier_id": request.dossier_id,
        "kind": request.kind, "subject": request.subject, "about": request.about,
        "status": request.status, "status_reason": request.status_reason,
        "sent_at": request.sent_at, "updated_at": request.updated_at,
        "unread_by_client": request.unread_by_client,
        "last_entry_at": request.entries[-1].at if request.entries else request.sent_at,
        "target_at": request.target_at, "answered_at": request.answered_at,
        "overdue": is_overdue(request, now), "sent_by": request.sent_by,
        "sent_by_name": request.sent_by_name,
    }


def for_client(request: OfficeRequest, now: datetime) -> RequestPublic:
    """What a dossier's clients see: everything but the office's notes."""
    public = RequestPublic.model_validate(request.model_dump(exclude={"notes"}))
    return public.model_copy(update={"overdue": is_overdue(request, now)})


def for_office(request: OfficeRequest, now: datetime) -> OfficeRequest:
    """What the desk shows, with whether it is overdue now."""
    return request.model_copy(update={"overdue": is_overdue(request, now)})


# --- changes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change: their user id and name as their access token gives them."""

    user_id: str
    name: str


@dataclass(frozen=True)
class Change:
    """A request's new state and the events to store with it."""

    request: OfficeRequest
    events: tuple[Event, ...]


def clean_name(name: str) -> str:
    """A person's name on one line (it ends up in mail headers and list rows)."""
    return " ".join(name.split())


def clean_body(body: str, attachments: list[AttachmentRef]) -> str:
    """An entry's text without surrounding blanks; an entry with neither text nor files is
    refused."""
    text = body.strip()
    if not text and not attachments:
        raise Invalid("The message is empty.", fields={"body": "must not be empty"})
    return text


def clean_reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    return text or None


def open_request(
    *, request_id: str, dossier_id: str, kind: str, subject: str, body: str,
    about: RequestAbout, form: dict[str, object] | None, attachments: list[AttachmentRef],
    sender: Actor, now: datetime, levels: ServiceLevels, correlation_id: str | None,
) -> Change:
    """A new request as the client sent it: pending, unread by the office, with its target,
    its first entry and the RequestSubmitted event (the office's mail)."""
    entry = ThreadEntry(entry_id=new_id(), author=EntryAuthor.CLIENT, author_id=sender.user_id,
                        author_name=sender.name, body=body, attachments=attachments, at=now)
    request = OfficeRequest(
        request_id=request_id, dossier_id=dossier_id, kind=kind, subject=subject, body=body,
        about=about, form=form, status=RequestStatus.PENDING, entries=[entry],
        timeline=[TimelineStep(step=TimelineStepKind.SENT, at=now, by_name=sender.name)],
        target_at=levels.target_at(kind, now), unread_by_office=True,
        sent_by=sender.user_id, sent_by_name=sender.name, sent_at=now, updated_at=now,
        version=1)
    event = RequestSubmitted(
        dossier_id=dossier_id, occurred_at=now, correlation_id=correlation_id,
        request_id=request_id, kind=kind, subject=subject, sent_by=sender.user_id,
        about_kind=about.kind, sent_by_name=sender.name)
    return Change(request=request, events=(event,))


def _changed(request: OfficeRequest, now: datetime, **fields: object) -> OfficeRequest:
    return request.model_copy(update={**fields, "updated_at": now,
                                      "version": request.version + 1})


def _step(kind: TimelineStepKind, now: datetime, actor: Actor) -> TimelineStep:
    return TimelineStep(step=kind, at=now, by_name=actor.name)


def client_reply(request: OfficeRequest, *, body: str, attachments: list[AttachmentRef],
                 client: Actor, now: datetime, correlation_id: str | None) -> Change:
    """The client adds to the thread, while it is not closed: unread by the office."""
    require_open_thread(RequestStatus(request.status))
    text = clean_body(body, attachments)
    entry = ThreadEntry(entry_id=new_id(), author=EntryAuthor.CLIENT, author_id=client.user_id,
                        author_name=client.name, body=text, attachments=attachments, at=now)
    changed = _changed(
        request, now, entries=[*request.entries, entry], unread_by_office=True,
        timeline=[*request.timeline, _step(TimelineStepKind.CLIENT_REPLIED, now, client)])
    return Change(changed, (_replied(changed, entry, now, correlation_id),))


def _replied(request: OfficeRequest, entry: ThreadEntry, now: datetime,
             correlation_id: str | None) -> RequestReplied:
    return RequestReplied(
        dossier_id=request.dossier_id, occurred_at=now, correlation_id=correlation_id,
        request_id=request.request_id, kind=request.kind, subject=request.subject,
        entry_id=entry.entry_id, author=entry.author, author_name=entry.author_name,
        sent_by=request.sent_by)


def attach(request: OfficeRequest, *, entry_id: str | None, attachments: list[AttachmentRef],
           actor: Actor, now: datetime, max_files: int) -> OfficeRequest:
    """Files uploaded after their entry was stored, added to it: only to one's own entry, not
    in a closed thread, and never a file twice."""
    require_open_thread(RequestStatus(request.status))
    wanted = entry_id or (request.entries[0].entry_id if request.entries else None)
    entries = list(request.entries)
    for index, entry in enumerate(entries):
        if entry.entry_id == wanted and entry.author_id == actor.user_id:
            known = {ref.document_id for ref in entry.attachments}
            added = [ref for ref in attachments if ref.document_id not in known]
            if len(entry.attachments) + len(added) > max_files:
                raise Invalid("Too many files.", fields={
                    "attachments": f"at most {max_files} files a message"})
            entries[index] = entry.model_copy(update={"attachments": [*entry.attachments,
                                                                      *added]})
            return _changed(request, now, entries=entries)
    raise Invalid("No such entry of yours in this request.",
                  fields={"entry_id": "not an entry you wrote in this request"})


def mark_read_by_client(request: OfficeRequest) -> OfficeRequest | None:
    """The client opened the request: the new state, or None when it was read already.

    The version stays: opening is no change of the request, so an office action on the
    version it was shown is not refused because the client read the answer meanwhile.
    """
    if not request.unread_by_client:
        return None
    return request.model_copy(update={"unread_by_client": False})


def mark_read_by_office(request: OfficeRequest) -> OfficeRequest | None:
    """Staff opened the request: the new state, or None when it was read already (the
    version stays, as for the client)."""
    if not request.unread_by_office:
        return None
    return request.model_copy(update={"unread_by_office": False})


def seen_by_office(change: Change) -> Change:
    """Staff who act on a request have seen it: it is no longer unread for the office."""
    return Change(change.request.model_copy(update={"unread_by_office": False}), change.events)


def _assigned(request: OfficeRequest, now: datetime, correlation_id: str | None
              ) -> RequestAssigned:
    return RequestAssigned(dossier_id=request.dossier_id, occurred_at=now,
                           correlation_id=correlation_id, request_id=request.request_id,
                           assignee_id=request.assignee_id or "",
                           assignee_name=request.assignee_name or "")


def take(request: OfficeRequest, *, staff: Actor, now: datetime,
         correlation_id: str | None) -> Change:
    """Take in progress: assigned to the caller (a request in progress may be taken over)."""
    status = RequestStatus(request.status)
    if status not in OPEN_STATUSES:
        raise Conflict(f"A request that is {status} cannot be taken.")
    if status == RequestStatus.IN_PROGRESS and request.assignee_id == staff.user_id:
        raise Conflict("You have taken this request already.")
    timeline = [*request.timeline, _step(TimelineStepKind.TAKEN if status ==
                                         RequestStatus.PENDING else TimelineStepKind.REASSIGNED,
                                         now, staff)]
    changed = _changed(request, now, status=RequestStatus.IN_PROGRESS,
                       assignee_id=staff.user_id, assignee_name=staff.name, timeline=timeline,
                       unread_by_client=request.unread_by_client or status ==
                       RequestStatus.PENDING)
    events: list[Event] = [_assigned(changed, now, correlation_id)]
    if status == RequestStatus.PENDING:
        events.append(_status_changed(request, changed, staff, now, correlation_id))
    return Change(changed, tuple(events))


def reassign(request: OfficeRequest, *, assignee: Actor, staff: Actor, now: datetime,
             correlation_id: str | None) -> Change:
    """Hand the request to a colleague (its status stays)."""
    if RequestStatus(request.status) == RequestStatus.CLOSED:
        raise Conflict(f"A closed request cannot be reassigned. {CLOSED_THREAD}")
    if request.assignee_id == assignee.user_id:
        raise Conflict("The request is assigned to this person already.")
    changed = _changed(request, now, assignee_id=assignee.user_id, assignee_name=assignee.name,
                       timeline=[*request.timeline, _step(TimelineStepKind.REASSIGNED, now,
                                                          staff)])
    return Change(changed, (_assigned(changed, now, correlation_id),))


def _status_changed(before: OfficeRequest, after: OfficeRequest, staff: Actor, now: datetime,
                    correlation_id: str | None) -> RequestStatusChanged:
    return RequestStatusChanged(
        dossier_id=after.dossier_id, occurred_at=now, correlation_id=correlation_id,
        request_id=after.request_id, kind=after.kind, subject=after.subject,
        old_status=before.status, new_status=after.status, reason=after.status_reason,
        by_name=staff.name, sent_by=after.sent_by)


def set_status(request: OfficeRequest, *, target: RequestStatus, reason: str | None,
               staff: Actor, now: datetime, correlation_id: str | None) -> Change:
    """Accept, refuse (with a reason the client sees), close, release or take in progress."""
    current = RequestStatus(request.status)
    require_transition(current, target)
    why = clean_reason(reason)
    if target == RequestStatus.REFUSED and why is None:
        raise Invalid("Say why the request is refused.",
                      fields={"reason": "required to refuse"})
    fields: dict[str, object] = {
        "status": target, "unread_by_client": True,
        "timeline": [*request.timeline, _step(STEP_OF_STATUS[target], now, staff)]}
    if target in (RequestStatus.ACCEPTED, RequestStatus.REFUSED):
        fields["status_reason"] = why
        if request.answered_at is None:
            fields["answered_at"] = now
    if target == RequestStatus.PENDING:  # released: nobody has it any more
        fields.update(assignee_id=None, assignee_name=None)
    if target == RequestStatus.IN_PROGRESS and request.assignee_id is None:
        fields.update(assignee_id=staff.user_id, assignee_name=staff.name)
    changed = _changed(request, now, **fields)
    events: list[Event] = [_status_changed(request, changed, staff, now, correlation_id)]
    if changed.assignee_id != request.assignee_id and changed.assignee_id is not None:
        events.append(_assigned(changed, now, correlation_id))
    return Change(changed, tuple(events))


def answer(request: OfficeRequest, *, body: str, attachments: list[AttachmentRef],
           status: RequestStatus | None, reason: str | None, staff: Actor, now: datetime,
           correlation_id: str | None) -> Change:
    """The office answers in the thread (an entry for the client), optionally moving the status
    in the same step; the first answer stops the service-level clock."""
    require_open_thread(RequestStatus(request.status))
    if status is not None:
        require_transition(RequestStatus(request.status), status)
    text = clean_body(body, attachments)
    entry = ThreadEntry(entry_id=new_id(), author=EntryAuthor.OFFICE, author_id=staff.user_id,
                        author_name=staff.name, body=text, attachments=attachments, at=now)
    answered = _changed(
        request, now, entries=[*request.entries, entry], unread_by_client=True,
        answered_at=request.answered_at or now,
        timeline=[*request.timeline, _step(TimelineStepKind.ANSWERED, now, staff)])
    events: list[Event] = [_replied(answered, entry, now, correlation_id)]
    if status is None:
        return Change(answered, tuple(events))
    moved = set_status(answered, target=status, reason=reason, staff=staff, now=now,
                       correlation_id=correlation_id)
    # One write, one new version: the two steps are one change of the request.
    final = moved.request.model_copy(update={"version": request.version + 1})
    events.extend(moved.events)
    return Change(final, tuple(events))


def add_note(request: OfficeRequest, *, body: str, staff: Actor, now: datetime
             ) -> OfficeRequest:
    """An internal note: the client never sees it, so it emits no event and marks nothing
    unread."""
    text = body.strip()
    if not text:
        raise Invalid("The note is empty.", fields={"body": "must not be empty"})
    note = InternalNote(note_id=new_id(), author_id=staff.user_id, author_name=staff.name,
                        body=text, at=now)
    return _changed(request, now, notes=[*request.notes, note])


class MessageText(NamedTuple):
    """A message's subject and body as stored."""

    subject: str
    body: str


def clean_message(subject: str, body: str) -> MessageText:
    """Subject on one line and body without surrounding blanks; refuse either when empty.

    The length limits are the contract's (SendMessageRequest); trimming only shortens.
    """
    # The subject ends up in e-mail headers and list rows: line breaks have no place there.
    clean_subject = " ".join(subject.split())
    clean_body = body.strip()
    problems = {
        field: "must not be empty"
        for field, value in (("subject", clean_subject), ("body", clean_body))
        if not value
    }
    if problems:
        raise Invalid("The message is empty.", fields=problems)
    return MessageText(subject=clean_subject, body=clean_body)


def parse_status_filter(status: str | None) -> RequestStatus | None:
    """The status to filter "my requests" on; None lists them all."""
    if status is None or status in ("", "all"):
        return None
    try:
        return RequestStatus(status)
    except ValueError:
        known = ", ".join(RequestStatus)
        raise Invalid(
            f"Unknown request status {status!r}.", fields={"status": f"one of: all, {known}"}
        ) from None
