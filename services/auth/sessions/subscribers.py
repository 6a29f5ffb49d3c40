"""Bus entry points of sessions: the password log-in, refresh, log-out and the gateways'
deny-lists (the unlock link's log-in: lockout/subscribers.py)."""

from faststream.rabbit import RabbitBroker

from libs.contracts import auth
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.auth.sessions.handlers import LoginHandlers, SessionHandlers

SERVICE = "auth"
EMITS = (auth.SessionRevoked,)  # through the outbox: the AsyncAPI document lists it


def register(broker: RabbitBroker, logins: LoginHandlers, sessions: SessionHandlers, *,
             prefetch: int) -> None:
    """Wire the RPC methods of sessions (it consumes no events)."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, auth.LOG_IN, logins.log_in, prefetch=prefetch)
    serve_rpc(broker, auth.REFRESH, sessions.refresh, prefetch=prefetch)
    serve_rpc(broker, auth.LOG_OUT, sessions.log_out, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_REVOKED_SESSIONS, sessions.list_revoked_sessions,
              prefetch=prefetch)
