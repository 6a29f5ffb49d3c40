"""Bus entry points of the client sheet: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import client_sheet, dossier
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.rpc import serve_rpc
from services.requests.client_sheet.handlers import ClientSheetHandlers

SERVICE = "requests"
EMITS = (client_sheet.ClientSheetDue, client_sheet.ClientSheetConfirmed)


def register(broker: RabbitBroker, handlers: ClientSheetHandlers, *, prefetch: int) -> None:
    """Wire the client sheet's RPC methods and the dossier events it learns dossiers from."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, client_sheet.GET_CLIENT_SHEET_DUE, handlers.client_sheet_due,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.GET_CLIENT_SHEET, handlers.get_client_sheet,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.CONFIRM_CLIENT_SHEET, handlers.confirm_client_sheet,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.GET_QUESTIONNAIRE, handlers.get_questionnaire,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.PUBLISH_QUESTIONNAIRE, handlers.publish_questionnaire,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.LIST_DOSSIER_SHEETS, handlers.list_dossier_sheets,
              prefetch=prefetch)
    serve_rpc(broker, client_sheet.SHEET_OVERVIEW, handlers.overview, prefetch=prefetch)
    # Knowing a dossier is an idempotent insert-or-keep: a redelivery changes nothing.
    subscribe_event(broker, consumer=SERVICE, purpose="client_sheet_dossiers",
                    event_type=dossier.DossierChanged, handle=handlers.on_dossier_changed,
                    prefetch=prefetch)
