"""Bus entry points of the dossier service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import dossier
from libs.servicekit.rpc import serve_rpc
from services.dossier.handlers import DossierHandlers


def register(broker: RabbitBroker, handlers: DossierHandlers, *, prefetch: int) -> None:
    """Wire every RPC method and event subscription of the service."""
    serve_rpc(broker, dossier.IMPORT_DOSSIER, handlers.import_dossier, prefetch=prefetch)
    serve_rpc(
        broker, dossier.GET_DOSSIER_SUMMARY, handlers.get_dossier_summary, prefetch=prefetch
    )
    serve_rpc(
        broker, dossier.LIST_DOSSIER_SUMMARIES, handlers.list_dossier_summaries,
        prefetch=prefetch,
    )
    serve_rpc(broker, dossier.LIST_CONTRACTS, handlers.list_contracts, prefetch=prefetch)
