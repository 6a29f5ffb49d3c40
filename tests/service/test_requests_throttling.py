"""A client cannot flood the office: per account, a burst of messages (and of attachment
uploads), then one at a time; the refusal says how long to wait. The window lives in the
requests service's database, so two replicas enforce one limit."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from faststream.rabbit import TestRabbitBroker
from prometheus_client import REGISTRY

from libs.contracts import requests
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import NotFound, RateLimited, ServiceError
from services.requests.config import RequestsSettings
from services.requests.main import RequestsService, build
from services.requests.store import REQUESTS
from tests.service.conftest import call_in_memory
from tests.service.test_requests import DUPONT, PEETERS, PIETER, send

AN = Caller(user_id="u-an", role=Role.CLIENT, dossier_ids=[PEETERS])
BURST = 5
INTERVAL_SECONDS = 2.0


def settings_for(mongo_url: str, database_name: str) -> RequestsSettings:
    return RequestsSettings(
        mongo_url=mongo_url, mongo_db=database_name, message_burst=BURST,
        message_interval_seconds=INTERVAL_SECONDS, attachment_burst=2,
        attachment_interval_seconds=INTERVAL_SECONDS)


@pytest.fixture
async def replicas(mongo_url: str, database_name: str) -> AsyncIterator[list[RequestsService]]:
    """Two replicas of the service on one database."""
    built = [build(settings_for(mongo_url, database_name)) for _ in range(2)]
    async with AsyncExitStack() as stack:
        for service in built:
            await service.store.ensure_indexes()
            await stack.enter_async_context(TestRabbitBroker(service.runtime.broker))
        yield built
    await built[0].runtime.database.client.drop_database(database_name)


async def outcome(service: RequestsService, number: int, caller: Caller = PIETER,
                  dossier_id: str = DUPONT) -> ServiceError | None:
    try:
        await send(service, subject=f"Bericht {number}", caller=caller, dossier_id=dossier_id)
    except ServiceError as refused:
        return refused
    return None


async def test_twenty_messages_in_a_burst_the_first_five_pass_the_rest_wait(
    replicas: list[RequestsService],
) -> None:
    service = replicas[0]
    counted_before = REGISTRY.get_sample_value(
        "mybroker_requests_submissions_throttled_total", {"kind": "message"}) or 0
    outcomes = [await outcome(service, number) for number in range(20)]

    assert outcomes[:BURST] == [None] * BURST
    refused = outcomes[BURST:]
    assert all(isinstance(error, RateLimited) for error in refused)
    first = refused[0]
    assert first is not None and first.fields is not None
    assert 1 <= int(first.fields["retry_after"]) <= INTERVAL_SECONDS
    assert "Please try again in" in first.detail
    stored = await service.runtime.database[REQUESTS].count_documents({"sent_by": "u-pieter"})
    assert stored == BURST  # a refused message is not kept, and the office hears of none
    assert REGISTRY.get_sample_value("mybroker_requests_submissions_throttled_total",
                                     {"kind": "message"}) == counted_before + 20 - BURST

    other = await outcome(service, 0, caller=AN, dossier_id=PEETERS)
    assert other is None  # another account has its own window


async def test_after_the_wait_one_more_message_passes(
    replicas: list[RequestsService],
) -> None:
    service = replicas[0]
    for number in range(BURST):
        assert await outcome(service, number) is None
    refused = await outcome(service, BURST)
    assert isinstance(refused, RateLimited) and refused.fields is not None
    await asyncio.sleep(int(refused.fields["retry_after"]) + 0.1)
    assert await outcome(service, BURST + 1) is None
    assert isinstance(await outcome(service, BURST + 2), RateLimited)


async def test_two_replicas_share_one_window(replicas: list[RequestsService]) -> None:
    outcomes = [await outcome(replicas[number % 2], number) for number in range(10)]
    assert sum(result is None for result in outcomes) == BURST


async def test_attachment_uploads_are_admitted_in_a_burst_then_refused(
    replicas: list[RequestsService],
) -> None:
    service = replicas[0]

    async def admit(caller: Caller = PIETER) -> None:
        await call_in_memory(service.runtime.broker, requests.ADMIT_ATTACHMENT,
                             requests.AdmitAttachmentRequest(caller=caller, dossier_id=DUPONT))

    await admit()
    await admit()
    with pytest.raises(RateLimited) as refused:
        await admit()
    assert refused.value.fields is not None and "retry_after" in refused.value.fields
    assert "attachments" in refused.value.detail
    assert await outcome(service, 0) is None  # messages have a window of their own
    with pytest.raises(NotFound):  # not the caller's dossier: refused before any window
        await admit(AN)
