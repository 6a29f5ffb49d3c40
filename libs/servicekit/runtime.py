"""Runs one service process: bus connection (retried), outbox relay, health and metrics over HTTP.

A service whose bus or database is missing at start keeps running and reports not-ready on
`/health/ready` until its dependencies are back.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvicorn
from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from libs.servicekit import memory
from libs.servicekit.bus import EVENTS, declare_dead_letters, kill_before_ack
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, ping
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.settings import ServiceSettings

log = get_logger(__name__)
RETRY_SECONDS = 2.0


class ServiceRuntime:
    """Composition of the infrastructure pieces of one service process."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        broker: RabbitBroker,
        database: AsyncDatabase[Document],
        *,
        relay: OutboxRelay | None = None,
        prepare_database: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        kill_before_ack.share = settings.fault_kill_before_ack
        self.broker = broker
        self.database = database
        self.relay = relay
        self._prepare_database = prepare_database
        self.bus_connected = False
        self.database_prepared = prepare_database is None
        self._jobs: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []

    def add_job(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A background job (e.g. periodic.run_every) to run for the life of the process."""
        self._jobs.append((name, job))

    async def _connect_bus(self) -> None:
        while True:
            try:
                await self.broker.start()
                await declare_dead_letters(self.broker)
                # The relay publishes with a passive declare: a producer without event
                # subscribers (auth) must make sure the exchange exists itself.
                await self.broker.declare_exchange(EVENTS)
            except Exception as error:  # noqa: BLE001 - keep running, report not-ready
                log.warning("message bus unreachable; retrying", error=str(error))
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(RETRY_SECONDS)
            else:
                self.bus_connected = True
                log.info("message bus connected")
                if self.relay is not None:
                    await self.relay.run()
                return

    async def _prepare(self) -> None:
        while self._prepare_database is not None:
            try:
                await self._prepare_database()
            except Exception as error:  # noqa: BLE001 - keep running, report not-ready
                log.warning("database unreachable; retrying", error=str(error))
                await asyncio.sleep(RETRY_SECONDS)
            else:
                self.database_prepared = True
                return

    async def is_ready(self) -> dict[str, bool]:
        """Each dependency and whether it answers now."""
        bus = self.bus_connected and await self.broker.ping(timeout=1.0)
        database = self.database_prepared and await ping(self.database)
        return {"bus": bool(bus), "database": database}

    def health_app(self) -> Starlette:
        """Liveness, readiness and Prometheus metrics of this process (plain Starlette: three
        fixed answers need no FastAPI, which would cost each service about 4 MiB)."""

        async def live(_: Request) -> JSONResponse:
            return JSONResponse({"status": "alive", "service": self.name})

        async def ready(_: Request) -> JSONResponse:
            checks = await self.is_ready()
            is_ready = all(checks.values())
            return JSONResponse({"status": "ready" if is_ready else "not ready", "checks": checks},
                                status_code=200 if is_ready else 503)

        async def metrics(_: Request) -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return Starlette(routes=[Route("/health/live", live), Route("/health/ready", ready),
                                 Route("/metrics", metrics)])

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, then stop consuming and close connections."""
        memory.bound_malloc()
        background = [
            asyncio.create_task(self._prepare(), name="prepare-database"),
            asyncio.create_task(self._connect_bus(), name="bus"),
            *(asyncio.create_task(job(), name=name) for name, job in self._jobs),
        ]
        config = uvicorn.Config(
            self.health_app(),
            host=self.settings.health_host,
            port=self.settings.health_port,
            log_config=None,
            access_log=False,
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self.broker.stop()
            log.info("stopped")
