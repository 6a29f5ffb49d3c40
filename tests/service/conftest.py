"""Helpers for service tests: a service built from its `build()` on the in-memory broker."""

import json
from typing import Any

from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from libs.contracts.rpc import ReplyT, RequestT, RpcEnvelope, RpcMethod
from libs.servicekit.errors import ServiceError


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
