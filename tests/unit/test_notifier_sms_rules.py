"""The SMS port's pure rules: numbers as people type them, texts per language, sliding limits."""

from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.sms import SmsPurpose
from services.notifier.sms_rules import (
    InvalidPhoneNumber,
    InvalidSmsParameters,
    RateLimit,
    decide_in_window,
    masked_phone_number,
    normalise_phone_number,
    render_sms,
    request_fingerprint,
)

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", [
    "0470 12 34 56", "0470/12.34.56", "+32 470 12 34 56", "0032470123456", "+32470123456",
])
def test_belgian_mobile_numbers_typed_any_usual_way_become_one_e164_number(typed: str) -> None:
    assert normalise_phone_number(typed, "BE") == "+32470123456"


def test_a_foreign_mobile_number_keeps_its_country() -> None:
    assert normalise_phone_number("+31 6 12345678", "BE") == "+31612345678"
    assert normalise_phone_number("06 12 34 56 78", "FR") == "+33612345678"


@pytest.mark.parametrize(("typed", "reason"), [
    ("hello", "not a phone number: it has no digits"),
    ("", "not a phone number"),
    ("+999 470 12 34 56", "country code is unknown"),
    ("0470 12 34 56 78 90 12 34 56 78", "too long"),
    ("0470 12 34", "does not exist"),  # too short
    ("+32 999 99 99 99", "does not exist"),
    ("02 511 11 11", "mobile number"),  # a Brussels fixed line cannot receive an SMS
    ("0900 12 345", "mobile number"),  # premium-rate
])
def test_numbers_that_cannot_receive_an_sms_are_refused_with_the_reason(
    typed: str, reason: str
) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason):
        normalise_phone_number(typed, "BE")


def test_logs_show_only_the_country_code_and_the_last_two_digits() -> None:
    assert masked_phone_number("+32470123456") == "+32*******56"


@pytest.mark.parametrize(("language", "words"), [
    ("nl", "Uw MyBroker-code is 123456. Geldig 10 minuten."),
    ("fr", "Votre code MyBroker est 123456. Valable 10 minutes."),
    ("en", "Your MyBroker code is 123456. Valid for 10 minutes."),
])
def test_the_identity_code_text_fits_one_sms_in_each_language_and_the_log_hides_the_code(
    language: str, words: str
) -> None:
    text, kept = render_sms(SmsPurpose.IDENTITY_CODE, language,
                            {"code": "123456", "valid_minutes": "10"})
    assert text.startswith(words)
    assert len(text) <= 160 and text.isascii(), "one GSM-7 segment"
    assert "123456" not in kept and "******" in kept


@pytest.mark.parametrize(("parameters", "problem"), [
    ({"valid_minutes": "10"}, "code missing"),
    ({"code": "12ab56", "valid_minutes": "10"}, "code malformed"),
    ({"code": "123456", "valid_minutes": "10", "link": "http://evil.example"},
     "link not expected"),
])
def test_template_parameters_are_checked_so_no_caller_can_slip_in_its_own_text(
    parameters: dict[str, str], problem: str
) -> None:
    with pytest.raises(InvalidSmsParameters, match=problem):
        render_sms(SmsPurpose.IDENTITY_CODE, "nl", parameters)


def test_the_fingerprint_changes_with_the_number_or_language_but_never_holds_the_code() -> None:
    def fingerprint(number: str = "+32470123456", language: str = "nl",
                    code: str = "123456") -> str:
        return request_fingerprint(SmsPurpose.IDENTITY_CODE, number, "u1", language,
                                   {"code": code, "valid_minutes": "10"})

    assert fingerprint() != fingerprint(number="+32470123457")
    assert fingerprint() != fingerprint(language="fr")
    # A hash over six digits is reversed by trying a million codes: the code stays out of it.
    assert fingerprint() == fingerprint(code="654321")


HOURLY = RateLimit(limit=5, window=timedelta(hours=1))


def test_five_sms_per_hour_pass_and_the_sixth_waits_for_the_oldest_to_leave_the_window() -> None:
    sent: list[datetime] = []
    for minute in range(5):
        decision = decide_in_window(HOURLY, sent, NOW + timedelta(minutes=minute * 10))
        assert decision.allowed
        sent = list(decision.kept)
    sixth = decide_in_window(HOURLY, sent, NOW + timedelta(minutes=45))
    assert not sixth.allowed
    assert sixth.retry_after_seconds == 15 * 60, "the first SMS (at :00) leaves at 11:00"
    assert decide_in_window(HOURLY, sent, NOW + timedelta(hours=1, seconds=1)).allowed


def test_the_window_slides_rather_than_resetting_on_the_hour() -> None:
    # Five just before 11:00: a calendar-hour counter would allow five more at 11:00.
    sent = [NOW + timedelta(minutes=55, seconds=i) for i in range(5)]
    decision = decide_in_window(HOURLY, sent, NOW + timedelta(hours=1, minutes=1))
    assert not decision.allowed
    assert decision.retry_after_seconds == 54 * 60


def test_old_moments_are_dropped_so_the_stored_window_stays_small() -> None:
    sent = [NOW - timedelta(hours=3), NOW - timedelta(hours=2), NOW - timedelta(minutes=5)]
    decision = decide_in_window(HOURLY, sent, NOW)
    assert decision.kept == (NOW - timedelta(minutes=5), NOW)


def test_a_lowered_limit_counts_the_moments_already_stored() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    decision = decide_in_window(RateLimit(3, timedelta(hours=1)), sent, NOW)
    # Three of five must leave before one more fits under three: the third, of 30 minutes ago.
    assert not decision.allowed and decision.retry_after_seconds == 30 * 60
