"""The SMS port on the real RabbitMQ and Mongo-wire server: called over RPC as the signing
service will, it sends each identity code once, refuses what it must, and holds its limits
across replicas."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from faststream.rabbit import RabbitBroker
from prometheus_client import REGISTRY

from gateway.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from libs.contracts.caller import Caller, Role
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import RpcMethod
from libs.contracts.sms import SEND_SMS, SendSmsRequest, SmsPurpose, SmsReceipt, SmsStatus
from libs.servicekit.bus import create_broker
from libs.servicekit.errors import Conflict, Forbidden, Invalid, RateLimited, Unavailable
from libs.servicekit.rpc import RpcClient, serve_rpc
from services.notifier.config import NotifierSettings
from services.notifier.main import NotifierService, build
from services.notifier.sms_store import SMS_MESSAGES, SMS_RATE_WINDOWS
from tests.service.sms_support import BUSY, OK, fake_provider

SIGNING = Caller(user_id="service:signing", role=Role.AGENT)
CLIENT = Caller(user_id="u-client", role=Role.CLIENT, dossier_ids=["D-1"])


class Rpc:
    """Stands in for auth: the SMS port never asks it anything."""

    async def call(self, method: Any, request: Any) -> Any:
        raise AssertionError("the SMS port needs no other service")


def code_request(key: str = "", *, number: str = "0470 12 34 56", account: str = "u-1",
                 code: str = "123456", language: str = "nl",
                 caller: Caller = SIGNING) -> SendSmsRequest:
    return SendSmsRequest(
        caller=caller, idempotency_key=key or f"enrol:{uuid.uuid4().hex}",
        purpose=SmsPurpose.IDENTITY_CODE, phone_number=number, account_id=account,
        language=language, parameters={"code": code, "valid_minutes": "10"})


def sink_files(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def sms_dir(tmp_path: Path) -> Path:
    return tmp_path / "sms"


class Port:
    """The SMS port on a queue of this test's own: a system stack running in the same session
    (browser and system tests share the bus) serves the real queue name."""

    def __init__(self, rpc: RpcClient) -> None:
        self.method = RpcMethod(f"{SEND_SMS.queue}.test-{uuid.uuid4().hex[:8]}",
                                SendSmsRequest, SmsReceipt)
        self._rpc = rpc

    async def send(self, request: SendSmsRequest) -> SmsReceipt:
        return await self._rpc.call(self.method, request)


@pytest.fixture
async def port(amqp_url: str) -> AsyncIterator[Port]:
    client = RpcClient(amqp_url, timeout_seconds=10.0)
    await client.connect()
    yield Port(client)
    await client.close()


@pytest.fixture
async def notifiers(
    mongo_url: str, amqp_url: str, database_name: str, sms_dir: Path, port: Port
) -> AsyncIterator[Callable[..., Any]]:
    """Starts notifier replicas (same database, same queue) on the real bus."""
    started: list[tuple[NotifierService, RabbitBroker]] = []

    async def start(**overrides: Any) -> NotifierService:
        settings = NotifierSettings(
            mongo_url=mongo_url, mongo_db=database_name, amqp_url=amqp_url,
            sms_sink_dir=str(sms_dir), **overrides)
        service = build(settings, rpc=Rpc())
        await service.store.ensure_indexes()
        await service.sms_store.ensure_indexes()
        # The handler `build` wired, served as `register_sms` does, on the test's queue.
        broker = create_broker(amqp_url, "notifier-sms-test")
        serve_rpc(broker, port.method, service.sms.send_sms, prefetch=settings.rpc_prefetch)
        await broker.start()
        started.append((service, broker))
        return service

    yield start
    for service, broker in started:
        await broker.stop()
        await service.sms_provider.close()
    if started:
        await started[0][0].runtime.database.client.drop_database(database_name)


async def test_an_identity_code_lands_in_the_sink_once_however_often_the_call_is_retried(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    service = await notifiers()
    sent_before = counted("mybroker_notifier_sms_total", outcome="sent")
    request = code_request("enrol-42:code-1", language="fr", code="987650")

    first = await port.send(request)
    # A caller that timed out retries; a redelivered request arrives twice at once.
    again = await asyncio.gather(*(port.send(request) for _ in range(3)))

    assert first.status is SmsStatus.SENT and first.phone_number == "+32470123456"
    assert {receipt.model_dump_json() for receipt in again} == {first.model_dump_json()}
    [sms] = sink_files(sms_dir)
    assert sms["to"] == "+32470123456" and sms["sms_id"] == "enrol-42:code-1"
    assert sms["text"].startswith("Votre code MyBroker est 987650.")
    assert counted("mybroker_notifier_sms_total", outcome="sent") == sent_before + 1
    stored = await service.runtime.database[SMS_MESSAGES].find_one({"_id": "enrol-42:code-1"})
    assert stored is not None and stored["text"].startswith("Votre code MyBroker est ******.")
    assert "987650" not in json.dumps(stored, default=str), "the database never holds the code"


async def test_a_retry_that_finds_the_sms_still_sending_marks_it_uncertain_and_sends_nothing(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    service = await notifiers()
    request = code_request("enrol-43:code-1")
    first = await port.send(request)
    # As if a replica crashed between recording the intent and hearing from the provider.
    await service.runtime.database[SMS_MESSAGES].update_one(
        {"_id": first.sms_id}, {"$set": {"status": "sending",
                                         "requested_at": utc_now() - timedelta(minutes=5)},
                                "$unset": {"finished_at": ""}})

    retried = await port.send(request)

    assert retried.status is SmsStatus.UNCERTAIN
    assert len(sink_files(sms_dir)) == 1


async def test_a_retry_while_the_sms_is_still_being_sent_is_told_to_ask_again_later(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    service = await notifiers()
    request = code_request("enrol-45:code-1")
    first = await port.send(request)
    # Another replica recorded the intent a second ago and still waits for the provider.
    await service.runtime.database[SMS_MESSAGES].update_one(
        {"_id": first.sms_id}, {"$set": {"status": "sending",
                                         "requested_at": utc_now() - timedelta(seconds=1)},
                                "$unset": {"finished_at": ""}})

    with pytest.raises(Conflict, match="being sent") as busy:
        await port.send(request)

    assert 0 < int((busy.value.fields or {})["retry_after"]) <= 25
    stored = await service.runtime.database[SMS_MESSAGES].find_one({"_id": first.sms_id})
    assert stored is not None and stored["status"] == "sending", "not marked uncertain"
    assert len(sink_files(sms_dir)) == 1


async def test_the_same_key_for_another_sms_is_refused(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    await notifiers()
    await port.send(code_request("enrol-44:code-1"))
    with pytest.raises(Conflict, match="idempotency key"):
        await port.send(code_request("enrol-44:code-1", number="0470 99 99 99"))
    assert [sms["to"] for sms in sink_files(sms_dir)] == ["+32470123456"]


@pytest.mark.parametrize(("number", "reason"), [
    ("0470 12 34", "does not exist"),
    ("02 511 11 11", "mobile number"),
    ("call me", "not a phone number"),
])
async def test_a_number_that_cannot_receive_an_sms_is_refused_with_the_reason(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path, number: str, reason: str
) -> None:
    await notifiers()
    refused_before = counted("mybroker_notifier_sms_refused_total", reason="invalid_number")
    with pytest.raises(Invalid) as refused:
        await port.send(code_request(number=number))
    assert reason in (refused.value.fields or {})["phone_number"]
    assert sink_files(sms_dir) == []
    assert counted("mybroker_notifier_sms_refused_total",
                   reason="invalid_number") == refused_before + 1


async def test_a_client_caller_cannot_send_an_sms(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    await notifiers()
    with pytest.raises(Forbidden):
        await port.send(code_request(caller=CLIENT))
    assert sink_files(sms_dir) == []


async def test_a_sixth_code_to_one_number_within_the_hour_waits_for_the_first_to_expire(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    service = await notifiers()
    for index in range(5):
        await port.send(code_request(account=f"u-{index}"))
    with pytest.raises(RateLimited, match="this number") as refused:
        await port.send(code_request(account="u-other"))
    retry_after = int((refused.value.fields or {})["retry_after"])
    assert 3500 < retry_after <= 3600
    assert len(sink_files(sms_dir)) == 5
    await port.send(code_request(number="0470 65 43 21", account="u-other"))
    assert len(sink_files(sms_dir)) == 6, "another number is not held back"

    # The window of a quiet number is forgotten by a TTL index, which needs real dates.
    window = await service.runtime.database[SMS_RATE_WINDOWS].find_one(
        {"_id": "number:+32470123456"})
    assert window is not None and isinstance(window["kept"]["forget_at"], datetime)
    record = await service.runtime.database[SMS_MESSAGES].find_one({})
    assert record is not None and isinstance(record["forget_at"], datetime)


async def test_the_account_limit_holds_across_replicas_racing_on_the_same_account(
    notifiers: Callable[..., Any], port: Port, sms_dir: Path
) -> None:
    for _ in range(2):
        await notifiers(sms_per_account_per_day=3)
    numbers = [f"0470 00 00 0{digit}" for digit in range(8)]
    outcomes = await asyncio.gather(
        *(port.send(code_request(number=number, account="u-busy"))
          for number in numbers), return_exceptions=True)
    sent = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert (len(sent), len(refused)) == (3, 5), outcomes
    assert all("this account" in error.detail for error in refused)
    assert len(sink_files(sms_dir)) == 3


async def test_a_failing_provider_opens_the_breaker_and_the_port_refuses_fast_then_recovers(
    notifiers: Callable[..., Any], port: Port
) -> None:
    async with fake_provider(BUSY) as provider:
        await notifiers(sms_provider="http", sms_api_url=provider.url,
                        sms_api_headers={"Authorization": "Bearer t"},
                        sms_attempts=3, sms_backoff_seconds=0.01, sms_breaker_failures=3,
                        sms_breaker_reset_seconds=1.0)
        request = code_request("enrol-50:code-1")
        with pytest.raises(Unavailable) as failed:
            await port.send(request)
        assert (failed.value.fields or {})["retry_after"] == "1"
        assert len(provider.requests) == 3, "retried, then the breaker opened"

        refused_before = counted("mybroker_notifier_sms_refused_total",
                                 reason="provider_unavailable")
        with pytest.raises(Unavailable):
            await port.send(code_request("enrol-51:code-1", number="0470 11 11 11"))
        assert len(provider.requests) == 3, "refused without calling the provider"
        assert counted("mybroker_notifier_sms_refused_total",
                       reason="provider_unavailable") == refused_before + 1

        await asyncio.sleep(1.1)
        provider.answer_next(OK)
        # The failed SMS was surely not sent: its key may be tried again, and is sent once.
        receipt = await port.send(request)
        again = await port.send(request)
    assert receipt.status is SmsStatus.SENT and again == receipt
    assert len(provider.requests) == 4
    assert receipt.finished_at is not None and receipt.finished_at <= utc_now()


def page_error(request: Request, status: int, code: str) -> Response:
    return HTMLResponse(f"<p>{code}</p>", status_code=status)


async def test_refusals_reach_an_api_client_as_problems_with_the_reason_and_when_to_retry(
    notifiers: Callable[..., Any], port: Port
) -> None:
    await notifiers(sms_per_number_per_hour=1)
    # The signing issue's route will call the port like this one: errors pass through untouched.
    gateway = FastAPI()
    install_problem_handlers(gateway, page_error)

    @gateway.post("/api/v1/phone-check")
    async def phone_check(number: str) -> dict[str, str]:
        receipt = await port.send(code_request(number=number))
        return {"phone_number": receipt.phone_number}

    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        fixed_line = await client.post("/api/v1/phone-check", params={"number": "02 511 11 11"})
        sent = await client.post("/api/v1/phone-check", params={"number": "0470 12 34 56"})
        again = await client.post("/api/v1/phone-check", params={"number": "+32470123456"})

    assert fixed_line.status_code == 422
    assert fixed_line.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "mobile number" in fixed_line.json()["errors"]["phone_number"]
    assert sent.json() == {"phone_number": "+32470123456"}
    assert again.status_code == 429 and again.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert 3500 < int(again.headers["retry-after"]) <= 3600
    assert "at most 1 per hour" in again.json()["detail"]
