"""Request statuses and what a sent message must contain (pure rules)."""

import pytest

from libs.servicekit.errors import Conflict, Invalid
from services.requests.domain import (
    RequestStatus,
    clean_message,
    may_move,
    parse_status_filter,
    require_transition,
)

PENDING, IN_PROGRESS, ACCEPTED, REFUSED = (
    RequestStatus.PENDING, RequestStatus.IN_PROGRESS, RequestStatus.ACCEPTED, RequestStatus.REFUSED
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (PENDING, IN_PROGRESS),
        (PENDING, ACCEPTED),
        (PENDING, REFUSED),
        (IN_PROGRESS, ACCEPTED),
        (IN_PROGRESS, REFUSED),
    ],
)
def test_the_broker_may_move_an_open_request_forward(
    current: RequestStatus, target: RequestStatus
) -> None:
    assert may_move(current, target)
    require_transition(current, target)


@pytest.mark.parametrize("target", list(RequestStatus))
@pytest.mark.parametrize("answered", [ACCEPTED, REFUSED])
def test_an_answered_request_is_final(answered: RequestStatus, target: RequestStatus) -> None:
    assert not may_move(answered, target)
    with pytest.raises(Conflict):
        require_transition(answered, target)


def test_a_request_in_progress_cannot_go_back_to_pending() -> None:
    with pytest.raises(Conflict, match="in_progress cannot become pending"):
        require_transition(IN_PROGRESS, PENDING)


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
