"""A stand-in for the dossier service where auth and documents ask whether references exist.

Tests of auth and documents run one service on the in-memory broker; the dossier service is
not there. This stand-in answers CHECK_REFERENCES from sets the test controls, and can be made
unreachable (Unavailable, as the RPC client raises when nobody answers in time).
"""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from libs.contracts import dossier
from libs.contracts.rpc import ReplyT, RequestT, RpcMethod
from libs.servicekit.errors import Unavailable

# The dossier ids the service tests use when references are not their subject.
TEST_DOSSIERS = ("D1", "D2", "D3", "D7", "D9", "DOS-1", "DOS-2")


class DossierStandIn:
    """Knows `dossiers`; `objects` as (dossier, kind, id), or None: every object of a known
    dossier exists (for tests about something else)."""

    def __init__(self, dossiers: Iterable[str] = TEST_DOSSIERS,
                 objects: Iterable[tuple[str, str, str]] | None = None) -> None:
        self.dossiers = set(dossiers)
        self.objects = None if objects is None else set(objects)
        self.reachable = True
        self.asked: list[dossier.ReferencesQuery] = []

    def _exists(self, ref: dossier.DossierObjectRef) -> bool:
        if ref.dossier_id not in self.dossiers:
            return False
        return self.objects is None or (ref.dossier_id, ref.kind, ref.object_id) in self.objects

    async def call(self, method: RpcMethod[RequestT, ReplyT], request: BaseModel, *,
                   timeout_seconds: float | None = None) -> ReplyT:
        """Answer CHECK_REFERENCES like the dossier service would."""
        if not self.reachable:
            raise Unavailable("dossier did not answer within 5 s.")
        assert method.queue == dossier.CHECK_REFERENCES.queue, method.queue
        query = dossier.ReferencesQuery.model_validate(request.model_dump())
        self.asked.append(query)
        reply: Any = dossier.UnknownReferences(
            dossier_ids=[dossier_id for dossier_id in query.dossier_ids
                         if dossier_id not in self.dossiers
                         or not query.caller.may_see_dossier(dossier_id)],
            objects=[ref for ref in query.objects if not self._exists(ref)])
        return method.reply.model_validate(reply.model_dump())
