"""Use cases of the dossier service."""

from collections.abc import Callable

from libs.contracts.dossier import (
    ContractList,
    DossierImported,
    DossierListQuery,
    DossierQuery,
    DossierSummaries,
    DossierSummary,
    ImportDossierRequest,
)
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import NotFound
from libs.servicekit.logs import correlation_id, get_logger
from services.dossier.domain import covered_risk_objects, summarize, validate_import
from services.dossier.store import DossierStore

log = get_logger(__name__)
DOSSIER_NOT_FOUND = "This dossier does not exist."


class DossierHandlers:
    """One method per query or command."""

    def __init__(self, store: DossierStore, on_events_stored: Callable[[], None]) -> None:
        self._store = store
        self._on_events_stored = on_events_stored

    async def import_dossier(self, request: ImportDossierRequest) -> DossierSummary:
        """Store a dossier exported by the broker's system, replacing an earlier import of it."""
        require_staff(request.caller)
        dossier = request.dossier
        # Every rule is checked before the single write: a refused import leaves nothing behind.
        validate_import(dossier)
        event = DossierImported(
            dossier_id=dossier.dossier_id,
            name=dossier.name,
            correlation_id=request.correlation_id or correlation_id.get(),
        )
        created = await self._store.save_import(
            dossier, imported_by=request.caller.user_id, event=event
        )
        self._on_events_stored()
        log.info("dossier imported", dossier_id=dossier.dossier_id, created=created,
                 event_id=event.event_id)
        return summarize(dossier)

    async def get_dossier_summary(self, query: DossierQuery) -> DossierSummary:
        """Name and size of one dossier the caller may see."""
        require_dossier_access(query.caller, query.dossier_id)
        summary = await self._store.get_summary(query.dossier_id)
        if summary is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        return summary

    async def list_dossier_summaries(self, query: DossierListQuery) -> DossierSummaries:
        """The dossier chooser: the asked dossiers the caller may see and that exist."""
        # Ids the caller may not see are skipped like unknown ones, so the reply never tells
        # a client which other dossiers exist.
        visible = list(dict.fromkeys(
            dossier_id for dossier_id in query.dossier_ids
            if query.caller.may_see_dossier(dossier_id)
        ))
        return DossierSummaries(dossiers=await self._store.list_summaries(visible))

    async def list_contracts(self, query: DossierQuery) -> ContractList:
        """The contracts of a dossier with the risk objects they cover."""
        require_dossier_access(query.caller, query.dossier_id)
        found = await self._store.get_contracts(query.dossier_id)
        if found is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        contracts, risk_objects = found
        return ContractList(
            dossier_id=query.dossier_id,
            contracts=contracts,
            risk_objects=covered_risk_objects(contracts, risk_objects),
        )
