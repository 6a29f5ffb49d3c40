"""Bus entry points of passwords: the mailed reset link and the signed-in change."""

from faststream.rabbit import RabbitBroker

from libs.contracts import auth
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.passwords.handlers import PasswordHandlers

SERVICE = "auth"
EMITS = (auth.PasswordResetRequested, auth.PasswordChanged)  # through the outbox


def register(broker: RabbitBroker, passwords: PasswordHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of passwords (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.REQUEST_PASSWORD_RESET, passwords.request_reset, prefetch=prefetch)
    serve_rpc(broker, auth.LOOK_UP_PASSWORD_RESET, passwords.look_up_reset, prefetch=prefetch)
    serve_rpc(broker, auth.RESET_PASSWORD, passwords.reset_password, prefetch=prefetch)
    serve_rpc(broker, auth.CHANGE_PASSWORD, passwords.change_password, prefetch=prefetch)
