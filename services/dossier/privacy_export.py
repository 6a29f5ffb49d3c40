"""The dossier service's part of a client's data export: for each dossier the client may see,
its persons, risk objects, contracts (with guarantees), claims and invoices as imported."""

from pydantic import BaseModel

from libs.contracts.dossier import Claim, Contract, Invoice, Person, RiskObject
from libs.contracts.privacy import DossierContents, DossiersPart, ExportRequested
from libs.servicekit.export_parts import PartFiles
from services.dossier.store import DossierStore


class DossiersPartBuilder:
    """Reads the client's dossiers from the dossier database."""

    def __init__(self, store: DossierStore) -> None:
        self._store = store

    async def __call__(self, event: ExportRequested, files: PartFiles) -> tuple[BaseModel, int]:
        """The dossiers part of `event`'s export (only the dossiers granted to the account)."""
        dossiers: list[DossierContents] = []
        records = 0
        for dossier_id in sorted(set(event.dossier_ids)):
            summary = await self._store.get_summary(dossier_id)
            contents = DossierContents(
                dossier_id=dossier_id, name=summary.name if summary else None,
                persons=await self._store.find(dossier_id, Person),
                risk_objects=await self._store.find(dossier_id, RiskObject),
                contracts=await self._store.find(dossier_id, Contract),
                claims=await self._store.find(dossier_id, Claim),
                invoices=await self._store.find(dossier_id, Invoice))
            records += 1 + sum(len(kind) for kind in (
                contents.persons, contents.risk_objects, contents.contracts, contents.claims,
                contents.invoices))
            dossiers.append(contents)
        return DossiersPart(dossiers=dossiers), records
