"""A scripted SMS provider on 127.0.0.1 (raw HTTP over asyncio streams) for the SMS tests."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

OK = "ok"  # 200 with {"id": ...}
BUSY = "503"  # not taken: the adapter may retry
BROKEN = "500"  # may have been taken: never retried
REFUSED = "400"  # the provider refuses this SMS
HANG = "hang"  # reads the request, never answers (a read timeout)


@dataclass
class FakeProvider:
    """Answers each request with the next step of `script` (the last step repeats)."""

    script: list[str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    connections: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/messages"

    def answer_next(self, *steps: str) -> None:
        self.script = list(steps)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {name.lower(): value.strip() for name, _, value in
                           (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(json.loads(body or b"{}"))
                self.headers.append(headers)
                step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
                if step == HANG:
                    await asyncio.sleep(3600)
                status = {OK: 200, BUSY: 503, BROKEN: 500, REFUSED: 400}[step]
                payload = json.dumps({"id": f"prov-{len(self.requests)}"} if status == 200
                                     else {"error": "scripted"}).encode()
                writer.write(f"HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self.connections.discard(task)


@asynccontextmanager
async def fake_provider(*script: str) -> AsyncIterator[FakeProvider]:
    """A scripted provider listening on a free port of 127.0.0.1 until the block ends."""
    provider = FakeProvider(list(script))
    server = await asyncio.start_server(provider._serve, "127.0.0.1", 0)
    provider.port = server.sockets[0].getsockname()[1]
    try:
        yield provider
    finally:
        server.close()
        for connection in list(provider.connections):  # those parked in HANG would wait an hour
            connection.cancel()
        await asyncio.gather(*provider.connections, return_exceptions=True)
