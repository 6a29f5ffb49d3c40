"""What the forms read of a dossier, asked of its owner, the dossier service, with the client's
own caller: the dossier service checks their grant again (someone else's dossier or object is
"not found" there, and so here)."""

from libs.contracts import dossier
from libs.contracts.caller import Caller
from libs.contracts.dossier import Contract, Person, RiskObject
from libs.servicekit.references import RpcCalling

PAGE_SIZE = dossier.MAX_PAGE_SIZE
MAX_PAGES = 50  # 5,000 risk objects: more than any household has


class DossierReader:
    def __init__(self, rpc: RpcCalling) -> None:
        self._rpc = rpc

    async def persons(self, caller: Caller, dossier_id: str) -> list[Person]:
        reply = await self._rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=caller, dossier_id=dossier_id))
        return reply.persons

    async def risk_objects(self, caller: Caller, dossier_id: str) -> dict[str, RiskObject]:
        """Every risk object of the dossier by id, in the dossier's order."""
        found: dict[str, RiskObject] = {}
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._rpc.call(dossier.LIST_RISK_OBJECTS, dossier.ListQuery(
                caller=caller, dossier_id=dossier_id, page_size=PAGE_SIZE, cursor=cursor))
            found.update((line.risk_object.risk_object_id, line.risk_object)
                         for line in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return found

    async def contract(self, caller: Caller, dossier_id: str, contract_id: str) -> Contract:
        """The contract (NotFound when it is not this dossier's)."""
        detail = await self._rpc.call(dossier.GET_CONTRACT, dossier.ObjectQuery(
            caller=caller, dossier_id=dossier_id, object_id=contract_id))
        return detail.contract
