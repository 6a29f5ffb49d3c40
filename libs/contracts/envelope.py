"""The envelope every event carries."""

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    """A fresh string id (uuid4 hex): every `_id` and reference in MyBroker is a string."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, UTC, at the millisecond precision MongoDB keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


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
