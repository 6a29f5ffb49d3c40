"""Bus entry points of self-registration: register, confirm, and the broker's decision."""

from faststream.rabbit import RabbitBroker

from libs.contracts import auth
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.registration.handlers import RegistrationHandlers

SERVICE = "auth"
EMITS = (auth.RegistrationConfirmationRequested, auth.RegistrationDecided,
         auth.RegistrationPending)  # through the outbox: AsyncAPI lists them


def register(broker: RabbitBroker, registrations: RegistrationHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of registration (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.REGISTER, registrations.register, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_REGISTRATION, registrations.look_up, prefetch=prefetch)
    serve_rpc(broker, auth.CONFIRM_REGISTRATION, registrations.confirm, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_REGISTRATIONS, registrations.list_registrations,
              prefetch=prefetch)
    serve_rpc(broker, auth.APPROVE_REGISTRATION, registrations.approve, prefetch=prefetch)
    serve_rpc(broker, auth.REFUSE_REGISTRATION, registrations.refuse, prefetch=prefetch)
