"""The life of an outgoing mail: what a redelivery does with a mail it finds, what staff may
resend, and the office's digest of a dossier's messages (pure rules)."""

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from libs.contracts.requests import RequestSubmitted
from services.notifier.deliveries import (
    MailState,
    OnClaimed,
    mail_id_of,
    may_resend,
    on_claimed,
    retry_pause,
    stalled_before,
)
from services.notifier.office_digest import digest_item, digest_mail, read_items


def plain_text(mail: EmailMessage) -> str:
    """The mail's plain-text part (the HTML part says the same)."""
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize(("state", "decision"), [
    (MailState.SENDING, OnClaimed.MARK_UNCERTAIN),  # handed over, never recorded: never again
    (MailState.SENT, OnClaimed.SKIP),
    (MailState.UNCERTAIN, OnClaimed.SKIP),  # staff decide, not a redelivery
    (MailState.FAILED, OnClaimed.RETRY),  # surely not sent: trying again is safe
])
def test_a_redelivered_event_never_sends_a_mail_that_may_have_left(
    state: MailState, decision: OnClaimed
) -> None:
    assert on_claimed(state) == decision


@pytest.mark.parametrize("state", list(MailState))
def test_staff_may_resend_only_an_uncertain_or_dead_lettered_mail(state: MailState) -> None:
    assert may_resend(state) is (state in (MailState.UNCERTAIN, MailState.DEAD_LETTERED))


@pytest.mark.parametrize("attempt", range(1, 12))
def test_the_retry_pause_grows_exponentially_with_jitter_up_to_the_cap(attempt: int) -> None:
    ceiling = min(30.0, 1.0 * 2 ** (attempt - 1))
    pauses = {retry_pause(attempt, 1.0, 30.0, random.Random(seed)) for seed in range(50)}
    assert all(ceiling / 2 <= pause <= ceiling for pause in pauses)
    assert len(pauses) > 1  # jittered: a burst's mails do not knock again together


def test_the_held_and_dead_lettered_mails_are_never_sent_again_by_a_redelivery() -> None:
    assert on_claimed(MailState.HELD) == OnClaimed.SKIP
    assert on_claimed(MailState.DEAD_LETTERED) == OnClaimed.SKIP


def test_the_mail_id_is_the_message_id_without_brackets_and_domain() -> None:
    assert mail_id_of("<e1.invitation@mybroker>") == "e1.invitation"
    assert mail_id_of(" <e1.documents-published.u-an@mybroker>") == (
        "e1.documents-published.u-an")


def test_a_hand_off_begun_before_the_stall_limit_is_over() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert stalled_before(now, timedelta(minutes=2)) == datetime(2025, 1, 1, 11, 58, tzinfo=UTC)


def message(number: int, kind: str = "message", minute: int = 0) -> RequestSubmitted:
    return RequestSubmitted(
        event_id=f"e{number}", dossier_id="D-001", request_id=f"r{number}", kind=kind,
        subject=f"Vraag {number}\r\nBcc: evil@example.com", sent_by="u1",
        occurred_at=datetime(2024, 1, 15, 9, minute, number, tzinfo=UTC))


def test_the_same_message_always_gives_the_same_digest_line() -> None:
    assert digest_item(message(1)) == digest_item(message(1))
    assert digest_item(message(1)) != digest_item(message(2))


def test_a_digest_lists_every_message_in_the_order_sent_in_the_office_language() -> None:
    lines = [digest_item(message(number)) for number in (3, 1, 2)]
    mail = digest_mail("d1.office-digest", "D-001", lines, sender="no-reply@x.be",
                       office="office@x.be", public_url="https://x.be", language="fr")
    assert str(mail["Subject"]) == "3 nouveaux messages dans le dossier D-001"
    assert mail["Message-ID"] == "<d1.office-digest@mybroker>"
    assert mail["Bcc"] is None
    content = plain_text(mail)
    assert content.index("Vraag 1 Bcc") < content.index("Vraag 2") < content.index("Vraag 3")
    assert "15 janv. 2024, 10:00" in content  # Brussels time, as French readers write it
    assert "https://x.be/admin" in content
    assert [item.event_id for item in read_items(lines)] == ["e1", "e2", "e3"]


def test_a_digest_of_messages_and_requests_names_both() -> None:
    lines = [digest_item(message(1)), digest_item(message(2, kind="change_address"))]
    mail = digest_mail("d1.office-digest", "D-001", lines, sender="no-reply@x.be",
                       office="office@x.be", public_url="https://x.be", language="en")
    assert str(mail["Subject"]) == "2 new messages and requests in dossier D-001"
