"""Request statuses and what a sent message must contain (pure rules)."""

import pytest

from libs.contracts.requests import RequestStatus
from libs.servicekit.errors import Conflict, Invalid
from services.requests.domain import (
    clean_message,
    may_move,
    parse_status_filter,
    require_transition,
)

PENDING, IN_PROGRESS, ACCEPTED, REFUSED, CLOSED = (
    RequestStatus.PENDING, RequestStatus.IN_PROGRESS, RequestStatus.ACCEPTED,
    RequestStatus.REFUSED, RequestStatus.CLOSED,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (PENDING, IN_PROGRESS),
        (PENDING, ACCEPTED),
        (PENDING, REFUSED),
        (PENDING, CLOSED),
        (IN_PROGRESS, ACCEPTED),
        (IN_PROGRESS, REFUSED),
        (IN_PROGRESS, CLOSED),
        (IN_PROGRESS, PENDING),  # released for a colleague
        (ACCEPTED, CLOSED),
        (REFUSED, CLOSED),
    ],
)
def test_the_broker_may_move_a_request_forward(
    current: RequestStatus, target: RequestStatus
) -> None:
    assert may_move(current, target)
    require_transition(current, target)


@pytest.mark.parametrize("target", [PENDING, IN_PROGRESS, ACCEPTED, REFUSED])
@pytest.mark.parametrize("answered", [ACCEPTED, REFUSED])
def test_an_answered_request_may_only_be_closed(
    answered: RequestStatus, target: RequestStatus
) -> None:
    assert not may_move(answered, target)
    with pytest.raises(Conflict):
        require_transition(answered, target)


@pytest.mark.parametrize("target", list(RequestStatus))
def test_a_closed_request_is_final(target: RequestStatus) -> None:
    with pytest.raises(Conflict, match="closed cannot become"):
        require_transition(CLOSED, target)


@pytest.mark.parametrize("status", list(RequestStatus))
def test_a_request_does_not_move_to_the_status_it_has(status: RequestStatus) -> None:
    assert not may_move(status, status)


def test_a_message_is_stored_without_surrounding_blanks() -> None:
    text = clean_message(
        "  Vraag over mijn omnium \n", "\n  Goedemiddag,\n\nIs mijn ruit gedekt?  \n"
    )
    assert text.subject == "Vraag over mijn omnium"
    assert text.body == "Goedemiddag,\n\nIs mijn ruit gedekt?"


def test_a_subject_is_kept_on_one_line() -> None:
    assert clean_message("Adres\r\nBcc: someone", "body").subject == "Adres Bcc: someone"


def test_a_body_of_only_blanks_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        clean_message("Vraag", " \n\t ")
    assert refused.value.fields == {"body": "must not be empty"}


def test_a_subject_of_only_blanks_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        clean_message("   ", "Is mijn ruit gedekt?")
    assert refused.value.fields == {"subject": "must not be empty"}


@pytest.mark.parametrize("shown_all", [None, "", "all"])
def test_the_all_filter_lists_every_status(shown_all: str | None) -> None:
    assert parse_status_filter(shown_all) is None


def test_the_status_filter_takes_each_known_status() -> None:
    assert [parse_status_filter(s.value) for s in RequestStatus] == list(RequestStatus)


def test_an_unknown_status_filter_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        parse_status_filter("done")
    assert refused.value.fields is not None
    assert "pending" in refused.value.fields["status"]
