"""Bus entry points of the requests service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import requests
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.requests.handlers import RequestHandlers

SERVICE = "requests"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (requests.RequestSubmitted, requests.RequestReplied, requests.RequestStatusChanged,
         requests.RequestAssigned)


def register(broker: RabbitBroker, handlers: RequestHandlers, *, prefetch: int) -> None:
    """Wire every RPC method and event subscription of the service."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, requests.SEND_MESSAGE, handlers.send_message, prefetch=prefetch)
    serve_rpc(broker, requests.LIST_REQUESTS, handlers.list_requests, prefetch=prefetch)
    serve_rpc(broker, requests.ADMIT_ATTACHMENT, handlers.admit_attachment, prefetch=prefetch)
