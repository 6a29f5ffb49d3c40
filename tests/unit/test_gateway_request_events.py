"""Live request changes in the gateway: each stream gets its own dossier's changes only, in a
bounded queue; a slow or disconnected stream costs a resync, never memory."""

import asyncio
import json

import pytest

from gateway.request_events import (
    RequestChange,
    RequestEventHub,
    StreamLimits,
    TooManyStreams,
    change_of,
    stream_changes,
)


def answered(request_id: str = "R1") -> RequestChange:
    return RequestChange(event_id=f"e-{request_id}", change="replied", request_id=request_id,
                         author="office")


def event_body(**fields: object) -> bytes:
    return json.dumps({"event_id": "e1", "occurred_at": "2026-12-05T08:00:00Z",
                       "schema_version": 1, **fields}).encode()


def test_an_office_answer_reaches_the_streams_of_its_dossier_and_no_other() -> None:
    hub = RequestEventHub()
    own = hub.open("D1", "u1")
    co_user = hub.open("D1", "u2")
    other = hub.open("D2", "u3")
    hub.publish("D1", answered())
    assert own.queue.qsize() == co_user.queue.qsize() == 1
    assert other.queue.empty()


def test_a_stream_that_falls_behind_gets_one_resync_instead_of_a_backlog() -> None:
    hub = RequestEventHub(queue_size=3)
    slow = hub.open("D1", "u1")
    for number in range(50):
        hub.publish("D1", answered(f"R{number}"))
    assert slow.queue.qsize() <= 3
    waiting = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert [change.change for change in waiting] == ["resync"]


def test_an_account_opens_a_bounded_number_of_streams_and_a_closed_one_frees_its_place() -> None:
    hub = RequestEventHub(per_account=2, max_streams=3)
    first = hub.open("D1", "u1")
    hub.open("D1", "u1")
    with pytest.raises(TooManyStreams):
        hub.open("D2", "u1")
    hub.close(first)
    hub.close(first)  # closing twice (body and background task) counts once
    hub.open("D2", "u1")
    hub.open("D1", "u2")
    with pytest.raises(TooManyStreams):  # the instance is full
        hub.open("D1", "u3")
    assert hub.open_streams == 3


@pytest.mark.parametrize(("routing_key", "fields", "expected"), [
    ("requests.request.replied", {"dossier_id": "D1", "request_id": "R1", "author": "office",
                                  "body": "never on a stream"}, "replied"),
    ("requests.request.status_changed", {"dossier_id": "D1", "request_id": "R1",
                                         "new_status": "accepted"}, "status_changed"),
    ("requests.request.submitted", {"dossier_id": "D1", "request_id": "R1"}, "submitted"),
])
def test_a_bus_event_becomes_a_change_of_its_dossier_without_its_text(
    routing_key: str, fields: dict[str, object], expected: str
) -> None:
    found = change_of(routing_key, event_body(**fields))
    assert found is not None
    dossier_id, change = found
    assert dossier_id == "D1" and change.change == expected and change.request_id == "R1"
    assert "never on a stream" not in change.model_dump_json()


@pytest.mark.parametrize(("routing_key", "body"), [
    ("requests.request.assigned", event_body(dossier_id="D1", request_id="R1",
                                             assignee_name="Agent")),  # the office's business
    ("requests.request.replied", b"{not json"),
    ("requests.request.replied", event_body(request_id="R1")),  # no dossier: nobody's
])
def test_what_no_client_may_hear_is_dropped(routing_key: str, body: bytes) -> None:
    assert change_of(routing_key, body) is None


async def collect(hub: RequestEventHub, *, seconds: float, page: bool,
                  allowed: list[bool] | None = None, publish: RequestChange | None = None,
                  heartbeat: float = 10.0) -> bytes:
    subscription = hub.open("D1", "u1")
    limits = StreamLimits(heartbeat_seconds=heartbeat,
                          until=asyncio.get_running_loop().time() + seconds)
    if publish is not None:
        hub.publish("D1", publish)
    flags = allowed or [True]
    body = b""
    async for chunk in stream_changes(hub, subscription, limits, page=page,
                                      still_allowed=lambda: flags[0]):
        body += chunk
    return body


async def test_a_page_stream_names_the_list_and_the_request_that_changed() -> None:
    hub = RequestEventHub()
    body = await collect(hub, seconds=0.2, page=True, publish=answered("R7"))
    text = body.decode()
    assert text.startswith("retry: ")
    assert "event: ready" in text and "event: changed" in text and "event: request-R7" in text
    assert hub.open_streams == 0  # the ended stream left the hub


async def test_the_app_stream_sends_json_request_events_and_heartbeats_in_quiet_times() -> None:
    hub = RequestEventHub()
    body = await collect(hub, seconds=0.35, page=False, publish=answered("R7"), heartbeat=0.1)
    frames = [frame for frame in body.decode().split("\n\n") if frame]
    request_frames = [frame for frame in frames if frame.startswith("event: request")]
    assert len(request_frames) == 1
    data = json.loads(request_frames[0].split("data: ", 1)[1])
    assert data == {"event_id": "e-R7", "change": "replied", "request_id": "R7",
                    "author": "office"}
    assert any(frame.startswith(": heartbeat") for frame in frames)


async def test_a_stream_whose_session_ended_stops_at_its_next_wake_up() -> None:
    hub = RequestEventHub()
    allowed = [False]  # logged out (deny-list) or the dossier taken away
    body = await collect(hub, seconds=5, page=False, allowed=allowed, publish=answered())
    assert b"event: request" not in body
    assert hub.open_streams == 0


async def test_stopping_the_instance_ends_every_stream() -> None:
    hub = RequestEventHub()
    subscription = hub.open("D1", "u1")
    limits = StreamLimits(heartbeat_seconds=30, until=asyncio.get_running_loop().time() + 30)
    stream = stream_changes(hub, subscription, limits, page=True, still_allowed=lambda: True)
    assert b"ready" in await anext(stream)
    hub.end_all()
    rest = [chunk async for chunk in stream]
    assert rest == [] and hub.open_streams == 0
