"""Adversarial tests: a real service behind the real gateway app, driven as an attacker would;
the authorization matrix and the API fuzzing drive the running processes (`system_stack`).

The gateway runs in this test's event loop (httpx on its ASGI app, with its lifespan) and calls
the service under attack through the in-memory broker (`call_in_memory`); every other service
answers from the household fakes of tests/service/gateway_support.py. So a request goes the
whole way - token check, route, RPC, service, store on the real Mongo-wire server - and back.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from gateway.config import GatewaySettings
from gateway.main import create_app
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from tests.service.conftest import call_in_memory
from tests.service.gateway_support import (
    FakeRpc,
    ObjectStore,
    SigningKey,
    household_rpc,
    write_signing_key,
)
from tests.system.stack import system_stack

__all__ = ["system_stack"]  # the running processes, for the matrix and the fuzzing


@dataclass
class ServiceRpc:
    """The gateway's RPC client: `service`'s queues go to the real service, the rest to fakes."""

    broker: RabbitBroker
    service: str  # "dossier", "auth": the queue prefix
    fakes: FakeRpc

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        """The real service's answer (or its error), else the fakes'."""
        if method.queue.startswith(f"{self.service}."):
            return await call_in_memory(self.broker, method, request)
        return await self.fakes.call(method, request, timeout_seconds=timeout_seconds)


@dataclass
class AttackedGateway:
    """The gateway app as an HTTP client reaches it, and the key its tokens are signed with."""

    http: httpx.AsyncClient
    key: SigningKey

    def bearer(self, **claims: object) -> dict[str, str]:
        """An Authorization header with a fresh access token of these claims."""
        return {"Authorization": f"Bearer {self.key.token(**claims)}"}  # type: ignore[arg-type]

    def browser(self, **claims: object) -> dict[str, str]:
        """The cookie a signed-in browser sends (its access token)."""
        return {"Cookie": f"mb_access={self.key.token(**claims)}"}  # type: ignore[arg-type]


@asynccontextmanager
async def gateway_on(broker: RabbitBroker, service: str, tmp_path: Path
                     ) -> AsyncIterator[AttackedGateway]:
    """The gateway app whose `service` is the real one on `broker`, running its lifespan."""
    key = write_signing_key(tmp_path)
    app = create_app(
        GatewaySettings(environment="test", jwt_public_key_path=str(key.public_pem_path)),
        rpc=ServiceRpc(broker, service, household_rpc()),
        storage=httpx.AsyncClient(transport=httpx.MockTransport(ObjectStore().handle)))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield AttackedGateway(http=http, key=key)
