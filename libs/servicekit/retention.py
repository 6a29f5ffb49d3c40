"""Retention (GDPR art. 5(1)(e), storage limitation): each data class is kept so many days,
then removed by a periodic job of the service that holds it (under its lease, one replica).

A rule names its data class, the collection, the moment its age counts from, a filter (which
documents of the collection are of the class), the default number of days and the legal basis
of that default (deploy/README.md lists them). The office may shorten or lengthen a class with
the setting `retention_days` (a JSON map data class -> days, shared by every service).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.envelope import utc_now
from libs.servicekit.inbox import PROCESSED_EVENTS
from libs.servicekit.lease import Lease
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.periodic import run_every
from libs.servicekit.runtime import ServiceRuntime

log = get_logger(__name__)
retention_removed = Counter("mybroker_retention_removed_total",
                            "Items removed because their retention period ended",
                            ["service", "data_class"])


# How a collection stores the moment its age counts from: a date (the default), milliseconds
# since the epoch (a number), or the ISO text of a model dumped as JSON ("...T12:00:00Z").
AS_DATE = "date"
AS_EPOCH_MS = "epoch_ms"
AS_ISO_TEXT = "iso_text"


@dataclass(frozen=True)
class RetentionRule:
    """Documents of `collection` matching `only` are removed `days` after `age_field`
    (stored `stored_as` a date, epoch milliseconds or ISO text)."""

    data_class: str
    collection: str
    age_field: str
    days: int
    legal_basis: str
    only: Mapping[str, Any] = field(default_factory=dict)
    stored_as: str = AS_DATE

    def __post_init__(self) -> None:
        if self.stored_as not in (AS_DATE, AS_EPOCH_MS, AS_ISO_TEXT):
            raise ValueError(f"unknown stored_as {self.stored_as!r} of {self.data_class}")


def _as_stored(rule: RetentionRule, moment: datetime) -> Any:
    """`moment` as the rule's collection stores it (comparable with `$lt`)."""
    if rule.stored_as == AS_EPOCH_MS:
        return int(moment.timestamp() * 1000)
    if rule.stored_as == AS_ISO_TEXT:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment


def effective_days(rule: RetentionRule, overrides: Mapping[str, int]) -> int:
    """The days the office configured for the rule's data class, else the default."""
    days = overrides.get(rule.data_class, rule.days)
    if days < 1:
        raise ValueError(f"retention of {rule.data_class} must be at least one day")
    return days


def expired_query(rule: RetentionRule, now: datetime,
                  overrides: Mapping[str, int]) -> dict[str, Any]:
    """The filter of the rule's documents whose retention has ended at `now`."""
    cutoff = now - timedelta(days=effective_days(rule, overrides))
    return {**rule.only, rule.age_field: {"$lt": _as_stored(rule, cutoff)}}


# Every service's log of handled events (inbox.py): a redelivery comes within minutes.
COMMON_RULES = (
    RetentionRule("handled_events_log", PROCESSED_EVENTS, "processed_at", 30,
                  "GDPR art. 5(1)(c)/(e): kept only to recognise a redelivered event"),
)


class RetentionJob:
    """Applies a service's retention rules; run it with run_every(..., lease=...)."""

    def __init__(self, database: AsyncDatabase[Document], service: str,
                 rules: Sequence[RetentionRule], overrides: Mapping[str, int],
                 clock: Callable[[], datetime] = utc_now) -> None:
        for rule in (*COMMON_RULES, *rules):
            effective_days(rule, overrides)  # a bad setting stops the start, not a later round
        self._database = database
        self.service = service
        self.rules = (*COMMON_RULES, *rules)
        self._overrides = dict(overrides)
        self._clock = clock

    async def apply(self) -> dict[str, int]:
        """Remove what has outlived its retention; how many per data class (logged, counted)."""
        now = self._clock()
        removed: dict[str, int] = {}
        for rule in self.rules:
            result = await self._database[rule.collection].delete_many(
                expired_query(rule, now, self._overrides))
            removed[rule.data_class] = removed.get(rule.data_class, 0) + result.deleted_count
            if result.deleted_count:
                retention_removed.labels(self.service, rule.data_class).inc(result.deleted_count)
        log.info("retention applied", service=self.service,
                 removed={name: count for name, count in removed.items() if count})
        return removed


def schedule_retention(runtime: ServiceRuntime, job: RetentionJob) -> None:
    """Run `job` every `retention_check_seconds`, in one replica at a time (its lease)."""
    seconds = runtime.settings.retention_check_seconds
    runtime.add_job("retention", lambda: run_every(
        seconds, job.apply, name="retention", lease=Lease(runtime.database, "retention")))
