"""Infrastructure for tests: URLs from the environment, else testcontainers, else a clear skip.

`make test` starts the local stack (deploy/local/infra.sh) and exports the URLs; with
MYBROKER_TEST_INFRA=containers the same fixtures run on testcontainers' real images instead.
"""

import asyncio
import gc
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from libs.servicekit.mongo import Document, create_mongo_client

RUN_ID = uuid.uuid4().hex[:8]
HANG_WARNING_LEAD_SECONDS = 5.0
_hang_warnings: dict[str, threading.Timer] = {}


def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """Beside pytest-timeout's own timer (pyproject: `timeout`), one that fires a little earlier
    and names the hung test and where each of its asyncio tasks waits: the thread dump that
    follows shows only the event loop's select()."""
    if settings.timeout and settings.timeout > HANG_WARNING_LEAD_SECONDS:
        timer = threading.Timer(settings.timeout - HANG_WARNING_LEAD_SECONDS,
                                _print_hung_test, (item.nodeid,))
        timer.daemon = True
        _hang_warnings[item.nodeid] = timer
        timer.start()


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timer = _hang_warnings.pop(item.nodeid, None)
    if timer is not None:
        timer.cancel()


def _print_hung_test(nodeid: str) -> None:
    print(f"\n[hung] {nodeid} has not ended; its pending asyncio tasks:", file=sys.stderr)
    for task in [thing for thing in gc.get_objects() if isinstance(thing, asyncio.Task)]:
        if not task.done():
            task.print_stack(limit=8, file=sys.stderr)
    sys.stderr.flush()


def _from_containers(kind: str) -> str:
    """Start a throwaway container, or skip when no Docker engine exists here."""
    try:
        if kind == "mongo":
            from testcontainers.mongodb import MongoDbContainer

            container = MongoDbContainer("mongo:7.0")  # the docker-compose.yml images
            container.start()
            return str(container.get_connection_url())
        from testcontainers.rabbitmq import RabbitMqContainer

        rabbit = RabbitMqContainer("rabbitmq:4.2.6-management")
        rabbit.start()
        params = rabbit.get_connection_params()
        return f"amqp://guest:guest@{params.host}:{params.port}/"
    except Exception as error:  # noqa: BLE001 - docker.errors.DockerException and kin
        pytest.skip(f"no {kind} URL in the environment and no container engine: {error}")


@pytest.fixture(scope="session")
def mongo_url() -> str:
    """MYBROKER_TEST_MONGO_URL, else a MongoDB container."""
    url = os.environ.get("MYBROKER_TEST_MONGO_URL")
    if url and os.environ.get("MYBROKER_TEST_INFRA") != "containers":
        return url
    return _from_containers("mongo")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """MYBROKER_TEST_AMQP_URL (a vhost of its own per run), else a RabbitMQ container."""
    url = os.environ.get("MYBROKER_TEST_AMQP_URL")
    if url and os.environ.get("MYBROKER_TEST_INFRA") != "containers":
        return url
    return _from_containers("rabbit")


@pytest.fixture(scope="session")
async def mongo_client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = create_mongo_client(mongo_url)
    yield client
    await client.close()


@pytest.fixture
def database_name() -> Iterator[str]:
    """A database of its own for each test, so tests never see each other's data."""
    yield f"test_{RUN_ID}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def s3_settings() -> dict[str, str]:
    """S3 endpoint and keys from MYBROKER_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY, else skip."""
    names = {"endpoint": "MYBROKER_TEST_S3_ENDPOINT", "access_key": "MYBROKER_TEST_S3_ACCESS_KEY",
             "secret_key": "MYBROKER_TEST_S3_SECRET_KEY"}
    values = {key: os.environ.get(name, "") for key, name in names.items()}
    if not all(values.values()):
        pytest.skip("no S3 for tests: set " + ", ".join(names.values()))
    return values
