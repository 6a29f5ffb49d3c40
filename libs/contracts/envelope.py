"""The envelope every event carries."""

import uuid
from datetime import UTC, date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    """A fresh string id (uuid4 hex): every `_id` and reference in MyBroker is a string."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, UTC, at the millisecond precision MongoDB keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# Moments are stored in UTC; the office's calendar day is the one in Brussels.
OFFICE_TIMEZONE = ZoneInfo("Europe/Brussels")


def office_day(moment: datetime) -> date:
    """The day `moment` falls on in Brussels: 23:30 UTC on 5 December is 6 December there.

    "Today" for a due date, an overdue invoice or a form's date is this, not the UTC date,
    which is a day behind for an hour or two every night.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(OFFICE_TIMEZONE).date()


class Event(BaseModel):
    """Base of every integration event; subclasses set `routing_key` and add their fields."""

    # Consumers ignore fields they do not know (additive evolution of contracts).
    model_config = ConfigDict(extra="ignore", frozen=True)

    routing_key: ClassVar[str]

    event_id: str = Field(default_factory=new_id, description="Unique id; consumers dedupe on it")
    occurred_at: datetime = Field(default_factory=utc_now, description="When it happened (UTC)")
    schema_version: int = Field(default=1, description="Version of this event's schema")
    correlation_id: str | None = Field(default=None, description="Id of the originating request")
    dossier_id: str | None = Field(default=None, description="Dossier concerned, where it applies")
