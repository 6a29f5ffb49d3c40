"""Typed request/reply over RabbitMQ.

Server side: an ordinary faststream subscriber per method that replies to `reply_to`.
Client side: one reply queue per process and a correlation-id -> future map, so many calls are
in flight at once (faststream's `broker.request()` serializes every call behind one lock).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, Field, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from libs.contracts.envelope import Event
from libs.contracts.errors import ErrorCode
from libs.contracts.rpc import ReplyT, RequestT, RpcEnvelope, RpcErrorBody, RpcMethod
from libs.contracts.topology import EVENTS_EXCHANGE, RECONNECT_SECONDS
from libs.servicekit.errors import ServiceError, Unavailable
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.tracing import current_carrier, mark_failed, span

if TYPE_CHECKING:  # the server side's: imported where a service serves (not in the gateway)
    from faststream.rabbit import RabbitBroker

log = get_logger(__name__)
CORRELATION_HEADER = "x-correlation-id"
# When the caller stops waiting (epoch seconds). A request still unanswered then was already
# answered "unavailable" to the user: acting on it later would do what they were told failed.
DEADLINE_HEADER = "x-mybroker-deadline"
PUBLISH_SECONDS = 2.0  # a publish that takes longer means the bus is away: answer at once

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


@dataclass(frozen=True)
class DocumentedAs:
    """Annotation metadata: a value validated as it is but described by `model`'s schema."""

    model: type[BaseModel]

    def __get_pydantic_json_schema__(
        self, _: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The model's schema, its nested models referenced the way pydantic does it.

        A model that uses one nested model twice comes back as a `$ref` to itself among the
        definitions, which faststream would document as the first definition instead: the
        model's own schema is given in place."""
        schema = handler(self.model.__pydantic_core_schema__)
        if "$ref" in schema:
            schema = dict(handler.resolve_ref_schema(schema))
        return schema


def serve_rpc(
    broker: "RabbitBroker",
    method: RpcMethod[RequestT, ReplyT],
    handle: Callable[[RequestT], Awaitable[ReplyT]],
    *,
    prefetch: int = 64,
) -> None:
    """Answer `method` with `handle`; typed errors travel back instead of a reply."""
    # Here, not at the top: the gateway only calls, and faststream and pymongo (about 30 MB
    # resident together) would stay loaded in it for nothing.
    from faststream import AckPolicy
    from faststream.rabbit import Channel, RabbitQueue
    from faststream.rabbit.annotations import RabbitMessage
    from pymongo.errors import ConnectionFailure

    async def answer(body: dict[str, Any]) -> dict[str, Any]:
        # The message from the broker's context, not as a parameter: faststream solves a
        # `RabbitMessage` parameter with a sync function in a worker thread, a thread hop per
        # call that cost more than the rest of faststream's handling of it.
        message: RabbitMessage | None = broker.context.get_local("message")
        headers = message.headers if message is not None else {}
        if _caller_gave_up(headers):
            # Taken from the prefetch buffer after the caller's time ran out (a busy or paused
            # process): the queue's expiration only covers the time spent in the queue.
            log.warning("rpc dropped: its caller stopped waiting", queue=method.queue)
            rpc_handled.labels(method.queue, "expired").inc()
            return RpcEnvelope(error=RpcErrorBody(
                code=ErrorCode.UNAVAILABLE, detail="The caller stopped waiting.")).model_dump(
                    mode="json")
        token = correlation_id.set(headers.get(CORRELATION_HEADER))
        started = time.perf_counter()
        with span(f"rpc {method.queue}", SpanKind.SERVER, parent=headers,
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
            except ConnectionFailure as error:
                # The database is away (or a failover is under way): the caller may try again
                # shortly; it is not a failure of this request.
                log.warning("database unreachable; call refused", queue=method.queue,
                            error=str(error))
                envelope = RpcEnvelope(error=RpcErrorBody(
                    code=ErrorCode.UNAVAILABLE,
                    detail="The service cannot reach its database. Please try again shortly."))
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

    # The body is validated here, not by faststream, so an invalid request gets a typed INVALID
    # reply instead of none; the annotation still gives the AsyncAPI document the request's schema.
    answer.__annotations__["body"] = Annotated[
        dict[str, Any],
        DocumentedAs(method.request),
        Field(title=method.request.__name__),
    ]
    broker.subscriber(
        RabbitQueue(method.queue, durable=True),
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.ACK,
        title=method.queue,
        description=handle.__doc__,
    )(answer)


def _caller_gave_up(headers: dict[str, Any]) -> bool:
    try:
        return time.time() > float(headers[DEADLINE_HEADER])
    except (KeyError, TypeError, ValueError):
        return False  # no deadline (an operator's tool, an older caller): answer it


class RpcClient:
    """Calls RPC methods of other services; safe to share by every task of a process.

    The connection is robust (aio-pika reconnects it and restores the reply queue by itself).
    While it is down, or not yet restored, every call fails at once with `Unavailable` instead
    of waiting for a reply that cannot come: the gateway answers 503, never 500 or a hang.
    """

    def __init__(
        self,
        amqp_url: str,
        *,
        timeout_seconds: float = 5.0,
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        self._amqp_url = amqp_url
        self._timeout = timeout_seconds
        self._reconnect_seconds = reconnect_seconds
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._reply_queue: aio_pika.abc.AbstractQueue | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        # False from a connection loss until aio-pika has restored the channel and the reply
        # queue's consumer (its reconnect callbacks run after that), so no call is sent whose
        # reply would land nowhere.
        self._restored = False

    async def connect(self) -> None:
        """Open the connection and this process's exclusive reply queue."""
        connection = await aio_pika.connect_robust(
            self._amqp_url, reconnect_interval=self._reconnect_seconds)
        try:
            channel = await connection.channel(publisher_confirms=False)
            reply_queue = await channel.declare_queue(
                f"rpc.reply.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
            )
            await reply_queue.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        connection.close_callbacks.add(self._on_connection_lost)
        connection.reconnect_callbacks.add(self._on_reconnected)
        self._connection, self._channel, self._reply_queue = connection, channel, reply_queue
        self._restored = True

    @property
    def connected(self) -> bool:
        """True while calls can be sent: connected, channel open, reply queue consumed."""
        return (
            self._restored
            and self._connection is not None
            and self._connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    def _on_connection_lost(self, _: object, error: BaseException | None = None) -> None:
        if self._restored:
            log.warning("message bus connection lost; calls answer unavailable until it is back",
                        error=str(error) if error else None)
        self._restored = False
        # The exclusive reply queue went with the connection: no waiting call can get a reply.
        self._fail_pending("The message bus connection was lost.")

    def _on_reconnected(self, _: object) -> None:
        log.info("message bus connection restored")
        self._restored = True

    def _fail_pending(self, detail: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Unavailable(detail))
        self._pending.clear()

    async def close(self) -> None:
        """Fail every waiting call and close the connection."""
        self._restored = False
        self._fail_pending("The message bus connection was closed.")
        if self._connection is not None:
            self._connection.close_callbacks.discard(self._on_connection_lost)
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
        if not self.connected:
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
        headers[DEADLINE_HEADER] = f"{time.time() + wait_seconds:.3f}"
        message = aio_pika.Message(
            body=request.model_dump_json().encode(),
            content_type="application/json",
            correlation_id=call_id,
            reply_to=self._reply_queue.name,
            expiration=wait_seconds,  # a request nobody took in time is dropped, not answered late
            headers=headers,
        )
        try:
            await self._publish(message, method.queue, min(wait_seconds, PUBLISH_SECONDS))
            async with asyncio.timeout(wait_seconds):
                body = await future
        except TimeoutError:
            raise Unavailable(
                f"{method.queue.split('.')[0]} did not answer within {wait_seconds:g} s."
            ) from None
        finally:
            self._pending.pop(call_id, None)
        envelope = RpcEnvelope.model_validate_json(body)
        if envelope.error is not None:
            raise ServiceError.from_code(
                envelope.error.code, envelope.error.detail, envelope.error.fields
            )
        return method.reply.model_validate(envelope.result)

    async def publish_event(self, event: Event) -> None:
        """Publish `event` on the events exchange, persistent, without waiting for anyone
        (the gateway's access log: its reads are not in any outbox)."""
        if not self.connected or self._channel is None:
            raise Unavailable("The message bus is not connected.")
        exchange = await self._channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        message = aio_pika.Message(
            body=event.model_dump_json().encode(), content_type="application/json",
            message_id=event.event_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        async with asyncio.timeout(PUBLISH_SECONDS):
            await exchange.publish(message, routing_key=event.routing_key)

    async def _publish(self, message: aio_pika.Message, queue: str, wait_seconds: float) -> None:
        assert self._channel is not None
        try:
            # A connection that dropped a moment ago may not be noticed yet: the robust channel
            # would then wait for the reconnection, so the publish is bounded too.
            async with asyncio.timeout(wait_seconds):
                await self._channel.default_exchange.publish(message, routing_key=queue)
        except TimeoutError:
            raise Unavailable("The message bus did not take the call in time.") from None
        # aiormq raises ChannelInvalidStateError (a RuntimeError, not an AMQPError) on a
        # closed channel, and ConnectionError kin on a closed socket: all mean "bus away".
        except (aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError) as error:
            raise Unavailable(
                f"The message bus refused the call: {type(error).__name__}: {error}") from None
