"""Bus entry points of the audit trail: the office's audit list and its staff filter."""

from faststream.rabbit import RabbitBroker

from libs.contracts import auth
from libs.servicekit.rpc import serve_rpc
from services.auth.audit.handlers import AuditLogHandlers


def register(broker: RabbitBroker, audit_log: AuditLogHandlers, *, prefetch: int) -> None:
    """Wire the RPC methods of the audit trail (it emits and consumes no events)."""
    serve_rpc(broker, auth.LIST_AUDIT, audit_log.list_audit, prefetch=prefetch)
    serve_rpc(broker, auth.LIST_STAFF, audit_log.list_staff, prefetch=prefetch)
