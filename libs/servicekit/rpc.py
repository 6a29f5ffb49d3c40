"""Typed request/reply over RabbitMQ.

Server side: an ordinary faststream subscriber per method that replies to `reply_to`.
Client side: one reply queue per process and a correlation-id -> future map, so many calls are
in flight at once (faststream's `broker.request()` serializes every call behind one lock).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError

from libs.contracts.errors import ErrorCode
from libs.contracts.rpc import ReplyT, RequestT, RpcEnvelope, RpcErrorBody, RpcMethod
from libs.servicekit.errors import ServiceError, Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.tracing import current_carrier, mark_failed, span

log = get_logger(__name__)
CORRELATION_HEADER = "x-correlation-id"

rpc_handled = Counter(
    "mybroker_rpc_handled_total", "RPC requests answered, by outcome (ok or error code)",
    ["queue", "outcome"],
)
rpc_handle_seconds = Histogram(
    "mybroker_rpc_handle_seconds", "Time to answer an RPC request", ["queue"]
)
rpc_calls = Counter(
    "mybroker_rpc_calls_total", "RPC calls made, by outcome (ok, error code or unavailable)",
    ["queue", "outcome"],
)
rpc_call_seconds = Histogram(
    "mybroker_rpc_call_seconds", "Time from sending an RPC request to its reply", ["queue"]
)


def _invalid_fields(error: ValidationError) -> dict[str, str]:
    return {".".join(str(part) for part in e["loc"]) or "body": e["msg"] for e in error.errors()}


def serve_rpc(
    broker: RabbitBroker,
    method: RpcMethod[RequestT, ReplyT],
    handle: Callable[[RequestT], Awaitable[ReplyT]],
    *,
    prefetch: int = 64,
) -> None:
    """Answer `method` with `handle`; typed errors travel back instead of a reply."""

    @broker.subscriber(
        RabbitQueue(method.queue, durable=True),
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.ACK,
        title=method.queue,
        description=handle.__doc__,
    )
    async def _answer(body: dict[str, Any], message: RabbitMessage) -> dict[str, Any]:
        token = correlation_id.set(message.headers.get(CORRELATION_HEADER))
        started = time.perf_counter()
        with span(f"rpc {method.queue}", SpanKind.SERVER, parent=message.headers,
                  attributes={"rpc.method": method.queue}) as current:
            try:
                request = method.request.model_validate(body)
                reply = await handle(request)
                envelope = RpcEnvelope(result=reply.model_dump(mode="json"))
            except ValidationError as error:
                envelope = RpcEnvelope(error=RpcErrorBody(
                    code=ErrorCode.INVALID, detail="The request is not valid.",
                    fields=_invalid_fields(error)))
            except ServiceError as error:
                envelope = RpcEnvelope(
                    error=RpcErrorBody(code=error.code, detail=error.detail, fields=error.fields))
            except Exception:
                log.exception("rpc handler failed", queue=method.queue)
                envelope = RpcEnvelope(error=RpcErrorBody(
                    code=ErrorCode.INTERNAL, detail="The service failed to handle the request."))
            finally:
                correlation_id.reset(token)
            outcome = "ok" if envelope.error is None else str(envelope.error.code)
            current.set_attribute("rpc.outcome", outcome)
            if outcome == ErrorCode.INTERNAL:
                mark_failed(current, "the handler failed")
        rpc_handled.labels(method.queue, outcome).inc()
        rpc_handle_seconds.labels(method.queue).observe(time.perf_counter() - started)
        return envelope.model_dump(mode="json")


class RpcClient:
    """Calls RPC methods of other services; safe to share by every task of a process."""

    def __init__(self, amqp_url: str, *, timeout_seconds: float = 5.0) -> None:
        self._amqp_url = amqp_url
        self._timeout = timeout_seconds
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._reply_queue: aio_pika.abc.AbstractQueue | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def connect(self) -> None:
        """Open the connection and this process's exclusive reply queue."""
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=False)
        self._reply_queue = await self._channel.declare_queue(
            f"rpc.reply.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        await self._reply_queue.consume(self._on_reply, no_ack=True)

    @property
    def connected(self) -> bool:
        """True while the connection to RabbitMQ is open."""
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        """Fail every waiting call and close the connection."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Unavailable("The message bus connection was closed."))
        self._pending.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(
        self,
        method: RpcMethod[RequestT, ReplyT],
        request: BaseModel,
        *,
        timeout_seconds: float | None = None,
    ) -> ReplyT:
        """Send `request` to `method` and wait for its typed reply or raise its ServiceError."""
        if self._channel is None or self._reply_queue is None:
            rpc_calls.labels(method.queue, ErrorCode.UNAVAILABLE.value).inc()
            raise Unavailable("The message bus is not connected.")
        started = time.perf_counter()
        outcome = ErrorCode.INTERNAL.value
        try:
            with span(f"rpc {method.queue}", SpanKind.CLIENT,
                      attributes={"rpc.method": method.queue}):
                reply = await self._call(method, request, timeout_seconds or self._timeout)
            outcome = "ok"
            return reply
        except ServiceError as error:
            outcome = str(error.code)
            raise
        finally:
            rpc_calls.labels(method.queue, outcome).inc()
            rpc_call_seconds.labels(method.queue).observe(time.perf_counter() - started)

    async def _call(
        self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, wait_seconds: float
    ) -> ReplyT:
        assert self._channel is not None and self._reply_queue is not None
        call_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        headers: dict[str, Any] = current_carrier()  # the trace continues in the service
        if (current := correlation_id.get()) is not None:
            headers[CORRELATION_HEADER] = current
        message = aio_pika.Message(
            body=request.model_dump_json().encode(),
            content_type="application/json",
            correlation_id=call_id,
            reply_to=self._reply_queue.name,
            expiration=wait_seconds,  # a request nobody took in time is dropped, not answered late
            headers=headers,
        )
        try:
            await self._channel.default_exchange.publish(message, routing_key=method.queue)
            body = await asyncio.wait_for(future, wait_seconds)
        except TimeoutError:
            raise Unavailable(
                f"{method.queue.split('.')[0]} did not answer within {wait_seconds:g} s."
            ) from None
        except aio_pika.exceptions.AMQPError as error:
            raise Unavailable(f"The message bus refused the call: {error}") from None
        finally:
            self._pending.pop(call_id, None)
        envelope = RpcEnvelope.model_validate_json(body)
        if envelope.error is not None:
            raise ServiceError.from_code(
                envelope.error.code, envelope.error.detail, envelope.error.fields
            )
        return method.reply.model_validate(envelope.result)
