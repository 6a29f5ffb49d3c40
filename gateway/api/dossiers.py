"""A client's dossier: contracts (with guarantees and the risk objects they cover)."""

from fastapi import Request
from fastapi.responses import Response

from gateway.api.dossier_views import read_contract_link
from gateway.deps import CurrentCaller, GrantedDossier, Rpc, State
from gateway.dossier_reads import versioned_json
from gateway.problems import api_router
from libs.contracts import dossier

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["dossiers"])


@router.get("/contracts", response_model=dossier.ContractList,
            responses=read_contract_link("/contracts/0/contract_id"))
async def list_contracts(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc, state: State
) -> Response:
    """The dossier's contracts ("Mijn contracten"). Answers an `ETag`; with `If-None-Match`
    naming it, 304 while the dossier has not changed."""
    return await versioned_json(request, state, dossier_id, (), lambda: rpc.call(
        dossier.LIST_CONTRACTS, dossier.DossierQuery(caller=claims.caller(),
                                                     dossier_id=dossier_id)))
