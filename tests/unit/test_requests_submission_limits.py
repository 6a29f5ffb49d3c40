"""The per-account submission window (GCRA): a burst, then one per interval, and how long to
wait when refused (pure rules)."""

from datetime import timedelta

from services.requests.submission_limits import SubmissionLimit, admit

LIMIT = SubmissionLimit(burst=5, interval=timedelta(seconds=12))


def submit(count: int, *, at_ms: int, tat_ms: int | None = None) -> tuple[list[bool], int | None]:
    """`count` submissions at the same moment: which pass, and the window after them."""
    passed = []
    for _ in range(count):
        decision = admit(tat_ms, at_ms, LIMIT)
        passed.append(decision.allowed)
        tat_ms = decision.tat_ms
    return passed, tat_ms


def test_a_burst_passes_then_everything_is_refused() -> None:
    passed, _ = submit(20, at_ms=1_000_000)
    assert passed == [True] * 5 + [False] * 15


def test_a_refusal_says_how_long_until_the_next_one_passes() -> None:
    _, tat = submit(5, at_ms=1_000_000)
    refused = admit(tat, 1_000_000, LIMIT)
    assert not refused.allowed
    assert (refused.retry_after_ms, refused.retry_after_seconds) == (12_000, 12)
    assert not admit(tat, 1_000_000 + 11_999, LIMIT).allowed
    assert admit(tat, 1_000_000 + 12_000, LIMIT).allowed


def test_refusals_cost_nothing_and_an_idle_account_gets_its_burst_back() -> None:
    _, tat = submit(25, at_ms=1_000_000)  # twenty refused on top of the burst
    assert admit(tat, 1_000_000 + 12_000, LIMIT).allowed  # not pushed further by refusals
    passed, _ = submit(6, at_ms=1_000_000 + 60_000, tat_ms=tat)
    assert passed == [True] * 5 + [False]


def test_the_wait_is_rounded_up_to_a_whole_second_and_never_zero() -> None:
    _, tat = submit(5, at_ms=0)
    assert admit(tat, 11_500, LIMIT).retry_after_seconds == 1
