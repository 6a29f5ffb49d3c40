"""GET_OFFICE for anyone (the login page shows the office before anyone signs in) and
UPDATE_OFFICE for the office admin: checked, compare-and-set, audited, announced."""

from collections.abc import Callable

from libs.contracts.caller import Role
from libs.contracts.office import GetOfficeRequest, OfficeSettingsPublic, UpdateOfficeRequest
from libs.servicekit.errors import Conflict, Forbidden, Invalid
from libs.servicekit.logs import get_logger
from services.auth.audit.trail import AuditTrail
from services.auth.office.domain import changed_fields, checked_settings
from services.auth.office.store import DOCUMENT_ID, OfficeStore

log = get_logger(__name__)
STALE = "Someone changed the office settings meanwhile: reload them and make your change again."


class OfficeHandlers:
    """The office settings' use cases."""

    def __init__(self, store: OfficeStore, audit: AuditTrail, *,
                 notify: Callable[[], None]) -> None:
        self._store = store
        self._audit = audit
        self._notify = notify

    async def get_office(self, _: GetOfficeRequest) -> OfficeSettingsPublic:
        """The current settings (the defaults before the first change)."""
        return await self._store.current()

    async def update_office(self, request: UpdateOfficeRequest) -> OfficeSettingsPublic:
        """The office admin replaces the settings; a form read before someone else's change
        (`expected_version` no longer current) gets a conflict instead of undoing it."""
        if request.caller.role is not Role.ADMIN:
            raise Forbidden("Only the office admin may change the office settings.")
        settings, problems = checked_settings(request.settings)
        if problems:
            raise Invalid("Some office settings are not valid.", fields=problems)
        before = await self._store.current()
        if request.expected_version is not None and request.expected_version != before.version:
            raise Conflict(STALE, fields={"expected_version": STALE})
        stored = await self._store.replace(settings, version=before.version,
                                           user_id=request.caller.user_id)
        if stored is None:
            raise Conflict(STALE, fields={"expected_version": STALE})
        self._notify()
        changed = changed_fields(before, settings)
        log.info("office settings changed", version=stored.version, fields=changed,
                 by=request.caller.user_id)
        await self._audit.record(request.caller, request.origin, "office.update", DOCUMENT_ID,
                                 version=str(stored.version), fields=",".join(changed))
        return stored
