"""The notifier forgets mails after half a year by its own periodic delete, not by a TTL index
(on the development database a TTL index makes every read of the collection slower with its
size); an index left by an earlier version is dropped at start."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from libs.servicekit.mongo import Document
from services.notifier.store import MAILS, MailStore

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
async def database(
    mongo_client: AsyncMongoClient[Document], database_name: str
) -> AsyncIterator[AsyncDatabase[Document]]:
    yield mongo_client[database_name]
    await mongo_client.drop_database(database_name)


async def test_mails_older_than_half_a_year_are_forgotten_and_newer_ones_kept(
    database: AsyncDatabase[Document],
) -> None:
    store = MailStore(database)
    await store.ensure_indexes()
    for mail_id, age_days in (("old.invitation", 200), ("recent.invitation", 10)):
        assert await store.claim_new({"_id": mail_id, "recipient": "an@example.be"},
                                     NOW - timedelta(days=age_days))

    assert await store.forget_old(NOW) == 1
    assert await store.find("old.invitation") is None
    assert await store.find("recent.invitation") is not None


async def test_an_expiry_index_of_an_earlier_version_is_dropped(
    database: AsyncDatabase[Document],
) -> None:
    await database[MAILS].create_index("created_at", expireAfterSeconds=3600)
    await MailStore(database).ensure_indexes()
    indexes = [index async for index in await database[MAILS].list_indexes()]
    assert not [index for index in indexes if "expireAfterSeconds" in index]
