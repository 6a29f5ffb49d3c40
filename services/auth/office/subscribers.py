"""Bus entry points of the office settings."""

from faststream.rabbit import RabbitBroker

from libs.contracts import office
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.office.handlers import OfficeHandlers

SERVICE = "auth"
EMITS = (office.OfficeSettingsChanged,)  # through the outbox: AsyncAPI lists it


def register(broker: RabbitBroker, office_handlers: OfficeHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of the office settings (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, office.GET_OFFICE, office_handlers.get_office, prefetch=prefetch)
    serve_rpc(broker, office.UPDATE_OFFICE, office_handlers.update_office, prefetch=prefetch)
