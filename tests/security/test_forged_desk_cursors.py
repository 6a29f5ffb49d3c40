"""Staff send forged cursors to the office's request desk, through the gateway app on the real
requests service: the cursor becomes a bound of the desk query (`desk_key > cursor`), so only
a cursor the service signed for the same filters is taken; a raw key, one of other filters or
another staff member's "mine", one signed with another key, edited or garbage is a 422
problem, and walking by the real cursors shows every request once."""

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faststream.rabbit import TestRabbitBroker

from libs.contracts import requests
from libs.contracts.caller import Caller, Role
from libs.servicekit.cursor_signing import CursorSigner
from services.requests.config import RequestsSettings
from services.requests.main import RequestsService, build
from tests.security.conftest import AttackedGateway, gateway_on
from tests.service.conftest import call_in_memory

DUPONT = "DOS-2019-00417"
PIETER = Caller(user_id="u-pieter", role=Role.CLIENT, dossier_ids=[DUPONT])
DESK = "/admin/api/v1/requests"


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[RequestsService]:
    built = build(RequestsSettings(mongo_url=mongo_url, mongo_db=database_name,
                                   message_burst=50))
    await built.store.ensure_indexes()
    async with TestRabbitBroker(built.runtime.broker):
        for number in range(9):
            await call_in_memory(built.runtime.broker, requests.SEND_MESSAGE,
                                 requests.SendMessageRequest(
                caller=PIETER, dossier_id=DUPONT, subject=f"Vraag {number}", body="?"))
        yield built
    await built.runtime.database.client.drop_database(database_name)


@pytest.fixture
async def office(service: RequestsService, tmp_path: Path) -> AsyncIterator[AttackedGateway]:
    async with gateway_on(service.runtime.broker, "requests", tmp_path) as attacked:
        yield attacked


async def test_a_forged_desk_cursor_is_a_422(office: AttackedGateway) -> None:
    agent = office.bearer(user_id="agent-1", role=Role.AGENT, dossiers=())
    first = await office.http.get(DESK, headers=agent, params={"limit": 2})
    assert first.status_code == 200, first.text
    real = first.json()["next_cursor"]
    mine = (await office.http.get(DESK, headers=agent, params={
        "limit": 2, "assignee": "none"})).json()["next_cursor"]
    body, _, tag = real.partition(".")
    edited = base64.urlsafe_b64encode(b"k").decode().rstrip("=")
    forged = {
        "raw key": "k0", "raw bound": "k", "signed with another key": CursorSigner(
            b"an attacker's own key, 32 bytes!").sign(b"k0", "desk-1", "", "False", "", "",
                                                      "", "", ""),
        "edited body, real tag": f"{edited}.{tag}", "tag only": f".{tag}", "body only": body,
        "garbage": "not-a-cursor", "long": "A" * requests.MAX_CURSOR,
    }
    for what, cursor in forged.items():
        answer = await office.http.get(DESK, headers=agent, params={"cursor": cursor})
        assert answer.status_code == 422, (what, answer.text[:300])
        assert answer.headers["content-type"] == "application/problem+json"
    for filters in ({"status": "pending"}, {"open": "true"}, {"assignee": "me"}):
        other = await office.http.get(DESK, headers=agent, params={**filters, "cursor": real})
        assert other.status_code == 422, filters
    colleague = office.bearer(user_id="agent-2", role=Role.AGENT, dossiers=())
    walked = await office.http.get(DESK, headers=colleague,
                                   params={"assignee": "none", "cursor": mine, "limit": 2})
    assert walked.status_code == 200  # "none" is nobody's: the same list for every colleague
    client = office.bearer()
    assert (await office.http.get(DESK, headers=client, params={"cursor": real})
            ).status_code == 403


async def test_walking_the_desk_by_its_cursors_shows_every_request_once(
    office: AttackedGateway,
) -> None:
    agent = office.bearer(user_id="agent-1", role=Role.AGENT, dossiers=())
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 4}
    while True:
        page = await office.http.get(DESK, headers=agent, params=params)
        assert page.status_code == 200, page.text
        seen += [row["request_id"] for row in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == 9
