"""Bus entry points of eID: the eID log-in and the linking of an eID to an account."""

from faststream.rabbit import RabbitBroker

from libs.contracts import auth
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.eid.handlers import EidHandlers

SERVICE = "auth"
EMITS = (auth.EidLinked, auth.EidLinkRefused, auth.EidLinkRequested)  # through the outbox


def register(broker: RabbitBroker, eid: EidHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of eID (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.EID_LOG_IN, eid.log_in, prefetch=prefetch)
    serve_rpc(broker, auth.REQUEST_EID_LINK, eid.request_link, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_EID_LINKS, eid.list_links, prefetch=prefetch)
    serve_rpc(broker, auth.ACCEPT_EID_LINK, eid.accept_link, prefetch=prefetch)
    serve_rpc(broker, auth.REFUSE_EID_LINK, eid.refuse_link, prefetch=prefetch)
