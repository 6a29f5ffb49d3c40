"""The staff audit log: every staff action, with who, what, when and from where (ASVS 16.2)."""

from collections.abc import Callable
from datetime import datetime

from libs.contracts.auth import AuditEntry, StaffOrigin
from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.logs import get_logger
from services.auth.audit.store import AuditStore

log = get_logger(__name__)


class AuditTrail:
    """Writes audit entries; the gateway tells where a request came from (StaffOrigin)."""

    def __init__(
        self, store: AuditStore, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._clock = clock

    async def record(
        self, caller: Caller, origin: StaffOrigin | None, action: str, target: str,
        **details: str,
    ) -> None:
        """Write that `caller` did `action` on `target` now."""
        entry = AuditEntry(
            entry_id=new_id(), at=self._clock(), actor_id=caller.user_id,
            actor_role=caller.role, action=action, target=target, details=details,
            client_ip=origin.client_ip if origin else None,
            user_agent=origin.user_agent if origin else None,
        )
        await self._store.append(entry)
        log.info("staff action", action=action, target=target, by=caller.user_id,
                 client_ip=entry.client_ip)
