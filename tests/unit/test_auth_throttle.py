"""Back-off rules after failed logins (ASVS 6.3.1)."""

from datetime import UTC, datetime, timedelta

from services.auth.throttle import (
    RETRY_AFTER_FIELD,
    BackOffPolicy,
    account_key,
    ip_key,
    too_many_attempts,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
POLICY = BackOffPolicy(failure_limit=10, first_wait=timedelta(minutes=1),
                       longest_wait=timedelta(hours=1))


def test_nine_failures_in_a_row_do_not_make_anyone_wait() -> None:
    assert POLICY.blocked_until(9, NOW) is None


def test_the_tenth_failure_makes_the_key_wait_the_first_wait() -> None:
    assert POLICY.blocked_until(10, NOW) == NOW + timedelta(minutes=1)


def test_each_further_failure_doubles_the_wait_up_to_the_longest() -> None:
    assert POLICY.blocked_until(11, NOW) == NOW + timedelta(minutes=2)
    assert POLICY.blocked_until(13, NOW) == NOW + timedelta(minutes=8)
    assert POLICY.blocked_until(17, NOW) == NOW + timedelta(hours=1)
    assert POLICY.blocked_until(10_000, NOW) == NOW + timedelta(hours=1)


def test_the_refusal_says_when_to_retry_in_words_and_in_seconds() -> None:
    error = too_many_attempts(NOW + timedelta(seconds=150), NOW)
    assert error.detail == ("Too many failed sign-in attempts. Try again in 3 minutes "
                            "(after 09:02:30 UTC).")
    assert error.fields == {RETRY_AFTER_FIELD: "150"}
    assert too_many_attempts(NOW + timedelta(seconds=45), NOW).detail.startswith(
        "Too many failed sign-in attempts. Try again in 45 seconds")


def test_an_account_key_hides_the_address_and_ignores_nothing_else() -> None:
    key = account_key("jan.peeters@example.be")
    assert "jan" not in key
    assert key == account_key("jan.peeters@example.be") != account_key("an@example.be")
    assert ip_key("198.51.100.7") != key
