"""A request as a thread: the office's target in Belgian working days, unread markers on both
sides, the timeline, closed threads, the desk's order and the idempotency of a resubmission
(pure rules)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.contracts.requests import (
    AttachmentRef,
    EntryAuthor,
    OfficeRequest,
    RequestAbout,
    RequestAssigned,
    RequestReplied,
    RequestStatus,
    RequestStatusChanged,
    RequestSubmitted,
)
from libs.servicekit.errors import Conflict, Invalid
from services.requests import domain
from services.requests.domain import Actor, ServiceLevels, WorkingCalendar
from services.requests.store import from_document, idempotency_slot, to_document

BRUSSELS = ZoneInfo("Europe/Brussels")
CLIENT = Actor("u-client", "An Peeters")
STAFF = Actor("u-staff", "Sofie Claes")
LEVELS = ServiceLevels()


def brussels(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def sent(kind: str = "message", at: datetime | None = None) -> OfficeRequest:
    return domain.open_request(
        request_id="r1", dossier_id="D1", kind=kind, subject="Vraag", body="Is mijn ruit gedekt?",
        about=RequestAbout(), form=None, attachments=[], sender=CLIENT,
        now=at or brussels(2026, 12, 1), levels=LEVELS, correlation_id=None).request


# --- service level ------------------------------------------------------------------------


def test_a_claim_is_due_one_working_day_later_at_the_same_hour() -> None:
    # Tuesday 1 December 2026, 10:00 -> Wednesday 10:00.
    assert LEVELS.target_at("claim", brussels(2026, 12, 1)) == brussels(2026, 12, 2)


def test_other_kinds_take_the_default_of_two_working_days() -> None:
    assert LEVELS.target_at("message", brussels(2026, 12, 1)) == brussels(2026, 12, 3)
    assert LEVELS.target_at("address", brussels(2026, 12, 1)) == brussels(2026, 12, 3)


def test_the_weekend_is_not_counted() -> None:
    # Friday 4 December 14:00 + 1 working day -> Monday 7 December 14:00.
    assert LEVELS.target_at("claim", brussels(2026, 12, 4, 14)) == brussels(2026, 12, 7, 14)


def test_a_belgian_holiday_is_not_counted() -> None:
    # Christmas Eve (Thursday) 14:00: the 25th is a legal holiday, then the weekend.
    assert LEVELS.target_at("claim", brussels(2026, 12, 24, 14)) == brussels(2026, 12, 28, 14)
    # National day, Tuesday 21 July 2026: a message of Monday 20 July is due on Wednesday 22.
    assert LEVELS.target_at("message", brussels(2026, 7, 20)) == brussels(2026, 7, 23)


def test_the_clock_starts_at_the_next_opening_outside_office_hours() -> None:
    # Saturday: the clock starts on Monday 09:00, one working day later is Tuesday 09:00.
    assert LEVELS.target_at("claim", brussels(2026, 12, 5, 11)) == brussels(2026, 12, 8, 9)
    # Friday evening: the same.
    assert LEVELS.target_at("claim", brussels(2026, 12, 4, 20)) == brussels(2026, 12, 8, 9)
    # Early on a working day: that day's opening.
    assert LEVELS.target_at("claim", brussels(2026, 12, 1, 7)) == brussels(2026, 12, 2, 9)


def test_easter_monday_and_ascension_are_holidays() -> None:
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(datetime(2027, 3, 29).date())  # Easter Monday 2027
    assert not calendar.is_working_day(datetime(2027, 5, 6).date())  # Ascension 2027
    assert calendar.is_working_day(datetime(2027, 3, 30).date())


def test_the_targets_are_configurable_per_kind() -> None:
    levels = ServiceLevels(working_days={"claim": 3}, default_working_days=5)
    assert levels.target_at("claim", brussels(2026, 12, 1)) == brussels(2026, 12, 4)
    assert levels.target_at("message", brussels(2026, 12, 1)) == brussels(2026, 12, 8)


def test_overdue_means_past_the_target_without_an_answer() -> None:
    request = sent("claim")
    assert request.target_at is not None
    after = request.target_at + timedelta(minutes=1)
    assert not domain.is_overdue(request, request.target_at - timedelta(minutes=1))
    assert domain.is_overdue(request, after)
    answered = domain.answer(request, body="We bekijken het.", attachments=[], status=None,
                             reason=None, staff=STAFF, now=brussels(2026, 12, 1, 11),
                             correlation_id=None).request
    assert not domain.is_overdue(answered, after)
    closed = domain.set_status(request, target=RequestStatus.CLOSED, reason=None, staff=STAFF,
                               now=brussels(2026, 12, 1, 11), correlation_id=None).request
    assert not domain.is_overdue(closed, after)


# --- the thread ------------------------------------------------------------------------------


def test_a_new_request_is_pending_unread_by_the_office_and_announced() -> None:
    change = domain.open_request(
        request_id="r1", dossier_id="D1", kind="message", subject="Vraag", body="Tekst",
        about=RequestAbout(kind="contract", ref_id="C-1", label="Polis 123"), form=None,
        attachments=[AttachmentRef(document_id="doc1", filename="foto.jpg", size=10)],
        sender=CLIENT, now=brussels(2026, 12, 1), levels=LEVELS, correlation_id="c1")
    request = change.request
    assert request.status == RequestStatus.PENDING
    assert request.unread_by_office and not request.unread_by_client
    assert [entry.author for entry in request.entries] == [EntryAuthor.CLIENT]
    assert request.entries[0].attachments[0].filename == "foto.jpg"
    assert [step.step for step in request.timeline] == ["sent"]
    [event] = change.events
    assert isinstance(event, RequestSubmitted)
    assert (event.about_kind, event.sent_by_name, event.dossier_id) == ("contract", "An Peeters",
                                                                        "D1")


def test_the_office_answer_is_unread_by_the_client_until_opened() -> None:
    request = domain.take(sent(), staff=STAFF, now=brussels(2026, 12, 1, 11),
                          correlation_id=None).request
    request = domain.mark_read_by_client(request) or request
    assert not request.unread_by_client
    change = domain.answer(request, body="Ja, uw ruit is gedekt.", attachments=[], status=None,
                           reason=None, staff=STAFF, now=brussels(2026, 12, 1, 12),
                           correlation_id=None)
    answered = change.request
    assert answered.unread_by_client
    assert answered.answered_at == brussels(2026, 12, 1, 12)
    assert [step.step for step in answered.timeline] == ["sent", "taken", "answered"]
    [event] = change.events
    assert isinstance(event, RequestReplied) and event.author == EntryAuthor.OFFICE
    opened = domain.mark_read_by_client(answered)
    assert opened is not None and not opened.unread_by_client
    assert opened.version == answered.version  # reading is no change the office must reload
    assert domain.mark_read_by_client(opened) is None  # read already: nothing to write


def test_a_client_reply_is_unread_by_the_office() -> None:
    request = domain.mark_read_by_office(sent())
    assert request is not None and not request.unread_by_office
    change = domain.client_reply(request, body="Nog een vraag", attachments=[], client=CLIENT,
                                 now=brussels(2026, 12, 2), correlation_id=None)
    assert change.request.unread_by_office
    assert change.request.timeline[-1].step == "client_replied"
    [event] = change.events
    assert isinstance(event, RequestReplied) and event.author == EntryAuthor.CLIENT


def test_a_reply_to_a_closed_thread_is_refused_with_a_clear_message() -> None:
    closed = domain.set_status(sent(), target=RequestStatus.CLOSED, reason=None, staff=STAFF,
                               now=brussels(2026, 12, 2), correlation_id=None).request
    with pytest.raises(Conflict, match=r"This conversation is closed; send a new message\."):
        domain.client_reply(closed, body="Nog iets", attachments=[], client=CLIENT,
                            now=brussels(2026, 12, 3), correlation_id=None)
    with pytest.raises(Conflict):
        domain.answer(closed, body="x", attachments=[], status=None, reason=None, staff=STAFF,
                      now=brussels(2026, 12, 3), correlation_id=None)


def test_an_empty_reply_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        domain.client_reply(sent(), body="  \n", attachments=[], client=CLIENT,
                            now=brussels(2026, 12, 2), correlation_id=None)
    assert refused.value.fields == {"body": "must not be empty"}


def test_a_refusal_needs_a_reason_the_client_sees() -> None:
    with pytest.raises(Invalid) as refused:
        domain.set_status(sent(), target=RequestStatus.REFUSED, reason=" ", staff=STAFF,
                          now=brussels(2026, 12, 2), correlation_id=None)
    assert refused.value.fields == {"reason": "required to refuse"}
    change = domain.set_status(sent(), target=RequestStatus.REFUSED, reason="Geen dekking",
                               staff=STAFF, now=brussels(2026, 12, 2), correlation_id=None)
    assert change.request.status_reason == "Geen dekking"
    assert change.request.unread_by_client and change.request.answered_at is not None
    [event] = change.events
    assert isinstance(event, RequestStatusChanged)
    assert (event.old_status, event.new_status, event.reason, event.sent_by) == (
        "pending", "refused", "Geen dekking", "u-client")


def test_taking_assigns_and_releasing_unassigns() -> None:
    change = domain.take(sent(), staff=STAFF, now=brussels(2026, 12, 1, 11), correlation_id=None)
    taken = change.request
    assert (taken.status, taken.assignee_id, taken.assignee_name) == (
        "in_progress", "u-staff", "Sofie Claes")
    assert {type(event) for event in change.events} == {RequestAssigned, RequestStatusChanged}
    released = domain.set_status(taken, target=RequestStatus.PENDING, reason=None, staff=STAFF,
                                 now=brussels(2026, 12, 1, 12), correlation_id=None).request
    assert released.assignee_id is None and released.timeline[-1].step == "released"


def test_an_answer_may_accept_in_the_same_step_as_one_new_version() -> None:
    request = sent()
    change = domain.answer(request, body="Aanvaard.", attachments=[],
                           status=RequestStatus.ACCEPTED, reason=None, staff=STAFF,
                           now=brussels(2026, 12, 1, 12), correlation_id=None)
    assert change.request.status == "accepted"
    assert change.request.version == request.version + 1
    assert [type(event) for event in change.events] == [RequestReplied, RequestStatusChanged]


def test_every_change_moves_the_version() -> None:
    request = sent()
    noted = domain.add_note(request, body="Klant bellen", staff=STAFF, now=brussels(2026, 12, 2))
    assert noted.version == request.version + 1
    assert not noted.unread_by_client  # the client never sees a note


def test_the_client_never_sees_the_notes() -> None:
    noted = domain.add_note(sent(), body="Klant bellen", staff=STAFF, now=brussels(2026, 12, 2))
    public = domain.for_client(noted, brussels(2026, 12, 2))
    assert "notes" not in public.model_dump()
    assert "Klant bellen" not in public.model_dump_json()


# --- the desk's order and the stored form -------------------------------------------------


def test_the_desk_lists_overdue_first_then_closest_to_target_then_answered_then_done() -> None:
    now = brussels(2026, 12, 10)
    overdue = sent("message", brussels(2026, 12, 1)).model_copy(update={"request_id": "a"})
    soon = sent("claim", brussels(2026, 12, 9)).model_copy(update={"request_id": "b"})
    later = sent("message", brussels(2026, 12, 10)).model_copy(update={"request_id": "c"})
    answered = domain.answer(
        sent("message", brussels(2026, 11, 20)).model_copy(update={"request_id": "d"}),
        body="Antwoord", attachments=[], status=None, reason=None, staff=STAFF,
        now=brussels(2026, 11, 21), correlation_id=None).request
    done_old = domain.set_status(
        sent("message", brussels(2026, 11, 1)).model_copy(update={"request_id": "e"}),
        target=RequestStatus.CLOSED, reason=None, staff=STAFF, now=brussels(2026, 11, 2),
        correlation_id=None).request
    done_new = domain.set_status(
        sent("message", brussels(2026, 11, 1)).model_copy(update={"request_id": "f"}),
        target=RequestStatus.CLOSED, reason=None, staff=STAFF, now=brussels(2026, 11, 5),
        correlation_id=None).request
    ordered = sorted([done_old, later, answered, done_new, soon, overdue], key=domain.desk_key)
    assert [request.request_id for request in ordered] == ["a", "b", "c", "d", "f", "e"]
    assert domain.is_overdue(overdue, now) and not domain.is_overdue(later, now)


def test_a_request_reads_back_as_it_was_stored() -> None:
    request = domain.answer(sent(), body="Antwoord", attachments=[
        AttachmentRef(document_id="doc9", filename="offerte.pdf", size=1234,
                      description="De offerte")], status=None, reason=None, staff=STAFF,
        now=brussels(2026, 12, 1, 12), correlation_id=None).request
    document = to_document(request)
    assert document["_id"] == "r1" and "overdue" not in document
    assert document["desk_key"].startswith("k1")  # answered, still open
    assert from_document(document) == request


def test_a_top_level_timestamp_stored_as_text_reads_back_as_utc() -> None:
    document = to_document(sent())
    document["updated_at"] = "2026-12-01 09:00:00.000000"  # how a `$set` datetime comes back
    assert from_document(document).updated_at == datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_a_message_stored_before_threads_reads_as_a_thread_of_one_entry() -> None:
    stored = {"_id": "old1", "dossier_id": "D1", "kind": "message", "subject": "Oud",
              "body": "Oude vraag", "status": "pending", "sent_by": "u1",
              "sent_by_name": "An", "sent_at": datetime(2026, 1, 5, 9, tzinfo=UTC)}
    request = from_document(stored)
    assert [entry.body for entry in request.entries] == ["Oude vraag"]
    assert request.version == 1 and request.timeline[0].step == "sent"


def test_one_idempotency_slot_per_dossier_sender_and_key() -> None:
    assert idempotency_slot("D1", "u1", "key") == idempotency_slot("D1", "u1", "key")
    assert len({idempotency_slot("D1", "u1", "key"), idempotency_slot("D2", "u1", "key"),
                idempotency_slot("D1", "u2", "key"), idempotency_slot("D1", "u1", "key2"),
                idempotency_slot("D1u", "1", "key")}) == 5


def test_staff_who_act_on_a_request_have_seen_it() -> None:
    request = sent()
    assert request.unread_by_office
    change = domain.seen_by_office(domain.take(request, staff=STAFF, now=brussels(2026, 12, 1, 11),
                                               correlation_id=None))
    assert not change.request.unread_by_office and change.events
