"""A service whose bus or database is missing keeps running and reports not-ready."""

import asyncio
import socket

import httpx

from libs.servicekit.bus import create_broker
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.runtime import ServiceRuntime
from libs.servicekit.settings import ServiceSettings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _prepare_nothing() -> None:
    return None


async def test_missing_bus_and_database_mean_alive_but_not_ready() -> None:
    dead = _closed_port()
    health_port = _closed_port()
    settings = ServiceSettings(health_port=health_port)
    runtime = ServiceRuntime(
        "ghost",
        settings,
        create_broker(f"amqp://guest:guest@127.0.0.1:{dead}/", "ghost"),
        create_mongo_client(f"mongodb://127.0.0.1:{dead}")["ghost"],
        prepare_database=_prepare_nothing,
    )
    serving = asyncio.create_task(runtime.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}") as http:
            for _ in range(50):
                try:
                    live = await http.get("/health/live")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            ready = await http.get("/health/ready")
        assert live.status_code == 200
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"bus": False, "database": False}
        assert not serving.done(), "the service keeps running while its dependencies are away"
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
