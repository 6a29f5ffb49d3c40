"""How many messages and attachments one account may send in a short time (pure rules, no I/O).

A generic cell rate algorithm (GCRA): an account may send `burst` submissions at once, then one
every `interval`; a refused submission costs nothing. The whole state of an account is one
number, the theoretical arrival time (`tat`) of its next submission, so the store can update it
with one compare-and-set and every replica of the service shares the same window.
"""

import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class SubmissionKind(StrEnum):
    """What is limited, each with its own window per account."""

    MESSAGE = "message"
    ATTACHMENT = "attachment"


@dataclass(frozen=True)
class SubmissionLimit:
    """`burst` submissions at once, then one per `interval`."""

    burst: int
    interval: timedelta

    @property
    def interval_ms(self) -> int:
        """The interval in milliseconds."""
        return int(self.interval.total_seconds() * 1000)


@dataclass(frozen=True)
class Admission:
    """The decision for one submission, and the account's next state when it is allowed."""

    allowed: bool
    tat_ms: int  # the new theoretical arrival time (unchanged when refused)
    retry_after_ms: int  # 0 when allowed

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds to wait, as HTTP's Retry-After wants them (at least 1)."""
        return max(1, math.ceil(self.retry_after_ms / 1000))


def admit(tat_ms: int | None, now_ms: int, limit: SubmissionLimit) -> Admission:
    """Allow a submission at `now_ms` for an account whose window stands at `tat_ms`?"""
    tolerance = limit.interval_ms * (limit.burst - 1)
    arrival = max(tat_ms if tat_ms is not None else now_ms, now_ms)
    if arrival - now_ms > tolerance:
        return Admission(allowed=False, tat_ms=arrival,
                         retry_after_ms=arrival - tolerance - now_ms)
    return Admission(allowed=True, tat_ms=arrival + limit.interval_ms, retry_after_ms=0)
