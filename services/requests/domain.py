"""Rules of requests and messages clients send to their broker (pure: no I/O)."""

from collections.abc import Mapping
from typing import NamedTuple

from libs.contracts.requests import RequestStatus
from libs.servicekit.errors import Conflict, Invalid

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


def may_move(current: RequestStatus, target: RequestStatus) -> bool:
    """True when a request in `current` may be moved to `target`."""
    return target in ALLOWED_TRANSITIONS[current]


def require_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Refuse a status change the rules do not allow."""
    if not may_move(current, target):
        raise Conflict(f"A request that is {current} cannot become {target}.")


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
