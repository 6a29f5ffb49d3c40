"""What other services ask the dossier service about ids they hold: does this dossier exist, does
this claim belong to that dossier (auth before a grant or an invitation, documents before an
upload), and the staff's dossier search (suggestions as the office types a number)."""

from collections import defaultdict

from libs.contracts.dossier import (
    DossierObjectRef,
    DossierSearch,
    DossierSummaries,
    ObjectKind,
    ReferencesQuery,
    UnknownReferences,
)
from libs.servicekit.access import require_staff
from services.dossier.import_plan import object_id
from services.dossier.store import MODELS, DossierStore


class DossierReferences:
    """The reference check and the staff search."""

    def __init__(self, store: DossierStore) -> None:
        self._store = store

    async def check_references(self, query: ReferencesQuery) -> UnknownReferences:
        """The asked dossiers and objects that do not exist; for a client also those of
        dossiers not granted to them (told as unknown: nothing is revealed)."""
        caller = query.caller
        asked = list(dict.fromkeys(
            [*query.dossier_ids, *(ref.dossier_id for ref in query.objects)]))
        visible = [dossier_id for dossier_id in asked if caller.may_see_dossier(dossier_id)]
        existing = {summary.dossier_id
                    for summary in await self._store.list_summaries(visible)}
        wanted: dict[tuple[str, ObjectKind], list[str]] = defaultdict(list)
        for ref in query.objects:
            if ref.dossier_id in existing:
                wanted[(ref.dossier_id, ref.kind)].append(ref.object_id)
        found: set[tuple[str, ObjectKind, str]] = set()
        for (dossier_id, kind), object_ids in wanted.items():
            for item in await self._store.get_many(dossier_id, MODELS[kind], object_ids):
                found.add((dossier_id, kind, object_id(kind, item)))
        return UnknownReferences(
            dossier_ids=[dossier_id for dossier_id in query.dossier_ids
                         if dossier_id not in existing],
            objects=[DossierObjectRef(dossier_id=ref.dossier_id, kind=ref.kind,
                                      object_id=ref.object_id)
                     for ref in query.objects
                     if (ref.dossier_id, ref.kind, ref.object_id) not in found])

    async def search_dossiers(self, query: DossierSearch) -> DossierSummaries:
        """Staff only: dossiers whose number starts with, or name holds, the typed text."""
        require_staff(query.caller)
        if not query.text.strip():
            return DossierSummaries(dossiers=[])
        return DossierSummaries(
            dossiers=await self._store.search_summaries(query.text, query.limit))
