"""The notifier's copy of the office settings: asked from auth at start, then each change as it
is announced; a late or repeated announcement never undoes a newer change."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import BaseModel

from libs.contracts.office import GET_OFFICE, OfficeSettingsChanged, OfficeSettingsPublic
from libs.contracts.rpc import RpcMethod
from libs.servicekit.bus import EVENTS
from libs.servicekit.errors import Unavailable
from services.notifier.main import NotifierService, build
from tests.service.test_notifier import settings_for


class AuthStandIn:
    """Answers GET_OFFICE with what the test stored, or fails while `away`."""

    def __init__(self) -> None:
        self.settings = OfficeSettingsPublic(name="Kantoor Janssens", version=3)
        self.away = False

    async def call(self, method: RpcMethod[Any, Any], request: BaseModel) -> Any:
        assert method.queue == GET_OFFICE.queue
        if self.away:
            raise Unavailable("auth is away")
        return self.settings


@pytest.fixture
def auth() -> AuthStandIn:
    return AuthStandIn()


@pytest.fixture
async def service(mongo_url: str, database_name: str, auth: AuthStandIn
                  ) -> AsyncIterator[NotifierService]:
    built = build(settings_for(mongo_url, database_name, 2525), rpc=auth)
    async with TestRabbitBroker(built.runtime.broker):
        yield built


async def announce(service: NotifierService, name: str, version: int) -> None:
    event = OfficeSettingsChanged(settings=OfficeSettingsPublic(name=name, version=version))
    await service.runtime.broker.publish(event.model_dump(mode="json"), exchange=EVENTS,
                                         routing_key=event.routing_key)


async def test_the_settings_come_from_auth_then_from_each_change(
    service: NotifierService, auth: AuthStandIn,
) -> None:
    assert service.office.current().version == 0  # the neutral defaults before auth answers
    await service.office.load()
    assert service.office.current().name == "Kantoor Janssens"

    await announce(service, "Kantoor Janssens & Zonen", 4)
    assert service.office.current().name == "Kantoor Janssens & Zonen"

    await announce(service, "Kantoor Janssens", 3)  # late: an older version
    await announce(service, "Kantoor Janssens & Zonen", 4)  # repeated
    assert (service.office.current().name, service.office.current().version) == (
        "Kantoor Janssens & Zonen", 4)

    await service.office.load()  # auth's answer is older than the announced change
    assert service.office.current().version == 4


async def test_auth_away_at_start_leaves_the_defaults_until_it_answers(
    service: NotifierService, auth: AuthStandIn,
) -> None:
    auth.away = True
    with pytest.raises(Unavailable):
        await service.office.load()
    assert service.office.current() == OfficeSettingsPublic()
    auth.away = False
    await service.office.load()
    assert service.office.current().version == 3
