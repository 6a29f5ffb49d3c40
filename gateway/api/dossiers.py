"""A client's dossier: contracts (with guarantees and the risk objects they cover)."""

from fastapi import APIRouter

from gateway.deps import CurrentCaller, GrantedDossier, Rpc
from libs.contracts import dossier

router = APIRouter(prefix="/api/v1/dossiers/{dossier_id}", tags=["dossiers"])


@router.get("/contracts")
async def list_contracts(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> dossier.ContractList:
    """The dossier's contracts ("Mijn contracten")."""
    return await rpc.call(dossier.LIST_CONTRACTS, dossier.DossierQuery(
        caller=claims.caller(), dossier_id=dossier_id))
