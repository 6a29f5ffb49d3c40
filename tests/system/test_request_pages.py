""""Mijn aanvragen" through the gateway on the real processes: a client sends messages from the
pages, the office answers through its admin API, the client's list, detail and live stream show
it; another client never sees any of it."""

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from deploy.local.seed_demo import bearer
from tests.system.stack import ClientLogin, SystemStack

pytestmark = pytest.mark.system

CSRF = "system-test-csrf"
CONFIRMATION = "Uw aanvraag werd verzonden en is in afwachting bij uw makelaar."
EVENT_SECONDS = 10.0


def browser(stack: SystemStack, client: ClientLogin, gateway: httpx.Client) -> httpx.Client:
    """A cookie session as a browser holds it after logging in."""
    return httpx.Client(base_url=stack.gateway_url, timeout=30.0, follow_redirects=False,
                        cookies={"mb_access": client.log_in(gateway), "mb_csrf": CSRF})


def send_message(page: httpx.Client, dossier_id: str, subject: str, body: str,
                 files: list[tuple[str, bytes]] | None = None) -> str:
    """Send a message from the "Nieuw bericht" page; the id of the request it made."""
    form = page.get(f"/messages/new?dossier={dossier_id}")
    assert form.status_code == 200, form.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert key is not None
    sent = page.post(f"/messages/new?dossier={dossier_id}", data={
        "csrf_token": CSRF, "idempotency_key": key.group(1), "about": "general",
        "subject": subject, "body": body},
        files=[("file", (name, content, "application/pdf")) for name, content in files or []]
        or [("file", ("", b"", "application/octet-stream"))])
    assert sent.status_code == 303, sent.text
    found = re.match(r"/requests/([^?]+)\?sent=1", sent.headers["location"])
    assert found is not None, sent.headers["location"]
    return found.group(1)


def row_of(page: httpx.Client, dossier_id: str, request_id: str) -> str:
    """The row of one request in "Mijn aanvragen"."""
    listed = page.get(f"/requests?dossier={dossier_id}").text
    start = listed.index(f"/requests/{request_id}?")
    return listed[start:listed.index("</li>", start)]


def office(gateway: httpx.Client, staff_token: str, request_id: str, action: str,
           **body: Any) -> None:
    """The office acts on a request through its admin API (take, answer, status)."""
    answer = gateway.post(f"/admin/api/v1/requests/{request_id}/{action}",
                          headers=bearer(staff_token), json=body)
    assert answer.status_code in (200, 201), answer.text


@contextmanager
def listening(stack: SystemStack, token: str, dossier_id: str) -> Iterator["queue.Queue[Any]"]:
    """The app's event stream of `dossier_id`, read on a thread: each event's JSON arrives on
    the queue (the stream is open once the first, `ready`, arrived)."""
    events: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=stack.gateway_url, timeout=60.0) as client, client.stream(
                "GET", f"/api/v1/dossiers/{dossier_id}/requests/events",
                headers=bearer(token)) as stream:
            assert stream.status_code == 200
            name = ""
            for line in stream.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.put((name, json.loads(line.removeprefix("data: "))))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert events.get(timeout=EVENT_SECONDS)[0] == "ready"
    try:
        yield events
    finally:
        stop.set()


def test_the_list_filters_on_status(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    staff_token: str,
) -> None:
    dossier_id = dupont_client.dossier_ids[0]
    with browser(system_stack, dupont_client, gateway) as page:
        waiting = send_message(page, dossier_id, f"Wacht {uuid.uuid4().hex[:6]}", "Vraag een")
        taken = send_message(page, dossier_id, f"Genomen {uuid.uuid4().hex[:6]}", "Vraag twee")
        office(gateway, staff_token, taken, "take")
        in_progress = page.get(f"/requests?status=in_progress&dossier={dossier_id}").text
        pending = page.get(f"/requests?status=pending&dossier={dossier_id}").text
        every = page.get(f"/requests?dossier={dossier_id}").text
    assert f"/requests/{taken}?" in in_progress and f"/requests/{waiting}?" not in in_progress
    assert f"/requests/{waiting}?" in pending and f"/requests/{taken}?" not in pending
    assert f"/requests/{waiting}?" in every and f"/requests/{taken}?" in every


def test_the_office_answer_shows_in_the_detail_and_the_client_replies_with_a_file(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    staff_token: str,
) -> None:
    dossier_id = dupont_client.dossier_ids[0]
    with browser(system_stack, dupont_client, gateway) as page:
        request_id = send_message(page, dossier_id, "Hagelschade", "Dekt mijn omnium hagel?",
                                  [("foto.pdf", b"%PDF-1.4 hagel op de motorkap")])
        confirmation = page.get(f"/requests/{request_id}?sent=1&dossier={dossier_id}")
        assert CONFIRMATION in confirmation.text
        assert "foto.pdf" in confirmation.text
        office(gateway, staff_token, request_id, "answer",
               body="Ja, met een vrijstelling van 250 euro.")
        assert "Nieuw antwoord" in row_of(page, dossier_id, request_id)  # the answer is unread
        detail = page.get(f"/requests/{request_id}?dossier={dossier_id}").text
        assert "Ja, met een vrijstelling van 250 euro." in detail
        assert "Nieuw antwoord" not in row_of(page, dossier_id, request_id)  # read it now
        replied = page.post(f"/requests/{request_id}/replies?dossier={dossier_id}", data={
            "csrf_token": CSRF, "body": "Dank u, hier is het bestek."},
            files=[("file", ("bestek.pdf", b"%PDF-1.4 bestek 1200 euro", "application/pdf"))])
        assert replied.status_code == 303, replied.text
        detail = page.get(f"/requests/{request_id}?dossier={dossier_id}").text
        assert "Dank u, hier is het bestek." in detail and "bestek.pdf" in detail
        document = re.search(r'href="/documents/([^?"]+)\?dossier=[^"]+">bestek\.pdf', detail)
        assert document is not None
        assert page.get(f"/documents/{document.group(1)}?dossier={dossier_id}").status_code == 200


def test_another_clients_request_is_a_not_found_page(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    peeters_client: ClientLogin,
) -> None:
    with browser(system_stack, dupont_client, gateway) as page:
        request_id = send_message(page, dupont_client.dossier_ids[0], "Privé", "Alleen voor mij")
    with browser(system_stack, peeters_client, gateway) as other:
        refused = other.get(f"/requests/{request_id}")
        assert refused.status_code == 404
        assert "Alleen voor mij" not in refused.text
        assert other.get(f"/requests/{request_id}?dossier={dupont_client.dossier_ids[0]}"
                         ).status_code == 404
        assert other.get(f"/requests/{uuid.uuid4().hex}").status_code == 404  # like a missing one


def test_the_stream_gets_the_office_answer_of_its_own_dossier_and_nothing_of_another(
    system_stack: SystemStack, gateway: httpx.Client, dupont_client: ClientLogin,
    peeters_client: ClientLogin, staff_token: str,
) -> None:
    dupont, peeters = dupont_client.dossier_ids[0], peeters_client.dossier_ids[0]
    with browser(system_stack, dupont_client, gateway) as page:
        request_id = send_message(page, dupont, "Live", "Antwoord graag snel")
    with listening(system_stack, dupont_client.log_in(gateway), dupont) as own, \
            listening(system_stack, peeters_client.log_in(gateway), peeters) as other:
        answered_at = time.monotonic()
        office(gateway, staff_token, request_id, "answer", body="Hier is ons antwoord.")
        name, change = own.get(timeout=EVENT_SECONDS)
        while change.get("change") != "replied":  # the submission may still be on its way
            name, change = own.get(timeout=EVENT_SECONDS)
        assert name == "request" and change["request_id"] == request_id
        assert change["author"] == "office"
        assert "Hier is ons antwoord." not in json.dumps(change)  # a change, not the text
        assert time.monotonic() - answered_at < 5
        time.sleep(1.0)
        assert other.empty(), other.get_nowait()
