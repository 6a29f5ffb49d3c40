"""Typed request/reply over RabbitMQ: a method is a queue name plus its request and reply models."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from libs.contracts.errors import ErrorCode

RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


@dataclass(frozen=True)
class RpcMethod(Generic[RequestT, ReplyT]):
    """One remote procedure: requests go to `queue`, replies are `reply` models."""

    queue: str
    request: type[RequestT]
    reply: type[ReplyT]


class RpcErrorBody(BaseModel):
    """A typed failure returned instead of a reply."""

    code: ErrorCode
    detail: str
    fields: dict[str, str] | None = None  # per-field messages for INVALID


class RpcEnvelope(BaseModel):
    """What travels back on the reply queue: exactly one of `result` or `error`."""

    model_config = ConfigDict(extra="ignore")

    result: dict[str, object] | None = None
    error: RpcErrorBody | None = None


class Ack(BaseModel):
    """Reply of a command that returns nothing else."""

    ok: bool = True
