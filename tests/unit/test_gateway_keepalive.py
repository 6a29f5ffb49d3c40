"""A failed call does not cost the client its connection (the bus outage's dropped connections).

uvicorn closes the connection of a request whose app raised, even after the answer was sent;
a keep-alive client's next call on it is then dropped. Served here by a real uvicorn on
loopback, two calls made one after the other on one connection must both be answered.
"""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from deploy.local.processes import free_port
from gateway.problems import install_problem_handlers


def page_error(request: Request, status: int, code: str) -> Response:
    return HTMLResponse(f"<p>page error {code}</p>", status_code=status)


@pytest.fixture
def server_port() -> Iterator[int]:
    app = FastAPI()
    install_problem_handlers(app, page_error)

    @app.get("/api/v1/bug")
    async def bug() -> None:
        raise RuntimeError("an unexpected failure")

    @app.get("/bug")
    async def page_bug() -> None:
        raise RuntimeError("an unexpected failure")

    @app.get("/api/v1/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _statuses_on_one_connection(port: int, *paths: str) -> list[int]:
    """Call `paths` one after the other on one keep-alive connection, as browsers and API
    clients do; the statuses answered before the connection ended."""
    statuses: list[int] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        reader = connection.makefile("rb")
        for path in paths:
            try:
                connection.sendall(f"GET {path} HTTP/1.1\r\nHost: gateway\r\n\r\n".encode())
                status_line = reader.readline()
            except OSError:  # reset: the server closed the connection
                break
            if not status_line:  # closed
                break
            statuses.append(int(status_line.split()[1]))
            length = 0
            while (header := reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            reader.read(length)
    return statuses


@pytest.mark.parametrize("failing", ["/api/v1/bug", "/bug"])
def test_an_unexpected_failure_answers_500_and_keeps_the_connection(
    server_port: int, failing: str
) -> None:
    assert _statuses_on_one_connection(server_port, failing, "/api/v1/ok") == [500, 200]
