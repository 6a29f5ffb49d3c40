"""Bus entry points of the login lockout: the mailed unlock link's page and its log-in."""

from faststream.rabbit import RabbitBroker

from libs.contracts import lockout
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.sessions.lockout.handlers import UnlockHandlers

SERVICE = "auth"
EMITS = (lockout.LoginLockedOut,)  # through the outbox (it mails the link): AsyncAPI lists it


def register(broker: RabbitBroker, unlocks: UnlockHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of the login lockout (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, lockout.LOOK_UP_UNLOCK, unlocks.look_up_unlock, prefetch=prefetch)
    serve_rpc(broker, lockout.UNLOCK_LOG_IN, unlocks.unlock_log_in, prefetch=prefetch)
