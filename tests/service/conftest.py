"""Helpers for service tests: a service built from its `build()` on the in-memory broker."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from pydantic import BaseModel

from libs.contracts.rpc import ReplyT, RequestT, RpcEnvelope, RpcMethod
from libs.servicekit.errors import ServiceError
from services.auth.config import AuthSettings
from services.auth.main import AuthService, build


async def call_in_memory(
    broker: RabbitBroker, method: RpcMethod[RequestT, ReplyT], request: BaseModel
) -> ReplyT:
    """Call an RPC method through TestRabbitBroker; raise its ServiceError like RpcClient does."""
    response = await broker.request(request.model_dump(mode="json"), queue=method.queue)
    body: Any = await response.decode()
    envelope = RpcEnvelope.model_validate(body if isinstance(body, dict) else json.loads(body))
    if envelope.error is not None:
        raise ServiceError.from_code(envelope.error.code, envelope.error.detail,
                                     envelope.error.fields)
    return method.reply.model_validate(envelope.result)


def settings(mongo_url: str, database_name: str, **changes: Any) -> AuthSettings:
    """Auth test settings: an in-memory signing key, argon2 at the OWASP minimum, no bootstrap
    admin."""
    values: dict[str, Any] = {
        "environment": "test", "mongo_url": mongo_url, "mongo_db": database_name,
        "jwt_private_key_path": "", "argon2_memory_kib": 19456, "argon2_time_cost": 2,
        "bootstrap_admin_email": "", "bootstrap_admin_password": "",
    }
    values.update(changes)
    return AuthSettings(**values)


@pytest.fixture
async def service(mongo_url: str, database_name: str) -> AsyncIterator[AuthService]:
    """The auth service on the in-memory broker, with its own database (dropped afterwards).

    Test files of other services define their own `service`, which takes precedence."""
    built = build(settings(mongo_url, database_name))
    await built.prepare_database()
    async with TestRabbitBroker(built.runtime.broker):
        yield built
    await built.runtime.database.client.drop_database(database_name)
