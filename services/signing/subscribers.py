"""Bus entry points of the signing service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import signing
from libs.servicekit.rpc import serve_rpc
from services.signing.handlers import SigningHandlers


def register(broker: RabbitBroker, handlers: SigningHandlers, *, prefetch: int) -> None:
    """Wire every RPC method and event subscription of the service."""
    serve_rpc(
        broker, signing.LIST_DOCUMENTS_TO_SIGN, handlers.list_documents_to_sign, prefetch=prefetch
    )
