"""Ids that point into a dossier are checked against their owner, the dossier service.

A service that stores a dossier id (auth's grants) or an object of a dossier (a document's
claim) asks the dossier service before writing it, so nobody is granted a dossier that does not
exist and no file hangs on another dossier's claim. When the dossier service cannot answer the
write is refused with Unavailable (503): an unchecked reference is never accepted.
"""

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel

from libs.contracts import dossier
from libs.contracts.caller import Caller
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import Invalid, NotFound

UNKNOWN_PREFIX = "unknown: "
"""Starts a field message naming the unknown ids ("unknown: DOS-1, DOS-2"); pages show them."""


class RpcCalling(Protocol):
    """The servicekit RpcClient's calling interface (tests pass a fake)."""

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        """Send `request` to `method`; return its reply or raise its ServiceError."""
        ...


def unknown_ids_message(ids: Sequence[str]) -> str:
    """The field message that names unknown ids."""
    return UNKNOWN_PREFIX + ", ".join(ids)


class DossierReferenceCheck:
    """Asks the dossier service whether dossiers and their objects exist."""

    def __init__(self, rpc: RpcCalling) -> None:
        self._rpc = rpc

    async def unknown(self, caller: Caller, dossier_ids: Sequence[str] = (),
                      objects: Sequence[dossier.DossierObjectRef] = ()
                      ) -> dossier.UnknownReferences:
        """What of the given ids does not exist (Unavailable when nobody can tell)."""
        if not dossier_ids and not objects:
            return dossier.UnknownReferences()
        return await self._rpc.call(dossier.CHECK_REFERENCES, dossier.ReferencesQuery(
            caller=caller, dossier_ids=list(dossier_ids), objects=list(objects)))

    async def require_dossiers(self, caller: Caller, dossier_ids: Sequence[str],
                               *, field: str = "dossier_ids") -> None:
        """Refuse (Invalid, naming them) dossier ids that do not exist."""
        unknown = (await self.unknown(caller, dossier_ids)).dossier_ids
        if unknown:
            raise Invalid(f"No dossier has the number {', '.join(unknown)}.",
                          fields={field: unknown_ids_message(unknown)})

    async def require_dossier(self, caller: Caller, dossier_id: str) -> None:
        """Refuse (NotFound) a dossier that does not exist: the target of the action."""
        if (await self.unknown(caller, [dossier_id])).dossier_ids:
            raise NotFound("This dossier does not exist.")

    async def require_object(self, caller: Caller, ref: dossier.DossierObjectRef,
                             *, field: str = "context") -> None:
        """Refuse (Invalid) an object that is not in the dossier it is said to belong to."""
        reply = await self.unknown(caller, [ref.dossier_id], [ref])
        if reply.dossier_ids:
            raise NotFound("This dossier does not exist.")
        if reply.objects:
            kind = ref.kind.replace("_", " ")
            raise Invalid(f"This dossier has no {kind} {ref.object_id}.",
                          fields={field: unknown_ids_message([ref.object_id])})
