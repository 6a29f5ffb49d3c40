"""MongoDB access: one AsyncMongoClient per process, tz-aware so datetimes come back in UTC."""

from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


def create_mongo_client(url: str) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is away, so readiness can report it."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=2000,
        connectTimeoutMS=2000,
        uuidRepresentation="standard",
    )


async def ping(database: AsyncDatabase[Document]) -> bool:
    """True when the database answers."""
    try:
        await database.command("ping")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True


def stored_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime, whichever form the server returned.

    nx-27017 returns a datetime written by a top-level `$set` as a naive ISO string; inserted
    ones come back as datetimes. Read every timestamp through this to get one form.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
