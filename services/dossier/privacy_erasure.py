"""The erasure of a dossier (GDPR art. 17): the saga, coordinated here, and this service's part.

The dossier service coordinates because it says whether a dossier exists (unknown -> 404). The
saga's state is one document per dossier in `erasures`: which services have reported. Asking
writes it with `privacy.erasure.requested` in its outbox (one write: never a saga without its
request); each service erases and reports `privacy.erasure.completed`; the last report finishes
the saga. After a crash nothing is lost: the state is persisted and a periodic job (one replica:
its lease) publishes the request again for a saga a service has not reported on for a while —
erasing is idempotent, so a service that had done it just reports again.

The finished saga is the erasure's report, kept as proof that it was done (GDPR art. 5(2)): the
dossier number, who asked, when, and per service how many items were deleted and what was kept.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from faststream.rabbit import RabbitBroker
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.caller import Role
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.privacy import (
    ERASURE_SERVICES,
    GET_DOSSIER_ERASURE,
    LIST_DOSSIER_ERASURES,
    REQUEST_DOSSIER_ERASURE,
    DossierErasure,
    DossierErasureQuery,
    DossierErasureRequest,
    ErasureCompleted,
    ErasureList,
    ErasureListQuery,
    ErasureRequested,
    ErasureState,
    ServiceErasure,
    ServiceProgress,
)
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteWhere,
    ErasureParticipant,
    ErasureRule,
    KeepAsEvidence,
    subscribe_erasure,
)
from libs.servicekit.errors import Forbidden, NotFound
from libs.servicekit.lease import Lease
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import new_document_events, record_events
from libs.servicekit.periodic import run_every
from libs.servicekit.retention import RetentionJob, RetentionRule, schedule_retention
from libs.servicekit.rpc import serve_rpc
from libs.servicekit.runtime import ServiceRuntime
from services.dossier.config import DossierSettings
from services.dossier.links import RISK_OBJECT_LINKS
from services.dossier.locks import IMPORT_LOCKS
from services.dossier.store import COLLECTIONS, DOSSIERS

log = get_logger(__name__)
SERVICE = "dossier"
ERASURES = "erasures"
# A service that has not reported a minute after the request is asked again (it may have
# crashed with the request unacknowledged: then the queue redelivers it anyway).
RESEND_AFTER = timedelta(seconds=60)
REPORT_REASON = ("the erasure's report: proof that the dossier was erased, by whom and when "
                 "(GDPR art. 5(2) accountability); counts only, no personal data")

ERASURE_RULES: dict[str, ErasureRule] = {
    DOSSIERS: DeleteWhere("_id"),
    **{name: DeleteWhere("dossier_id") for name in COLLECTIONS.values()},
    RISK_OBJECT_LINKS: DeleteWhere("dossier_id"),
    IMPORT_LOCKS: DeleteWhere("_id"),
    ERASURES: KeepAsEvidence(REPORT_REASON, field="dossier_id"),
}
RETENTION_RULES = (
    RetentionRule("erasure_reports", ERASURES, "finished_at", 3650,
                  "GDPR art. 5(2): the proof of an erasure is kept ten years, the limitation "
                  "period of contractual claims (Belgian Civil Code art. 2262bis)",
                  only={"state": ErasureState.FINISHED.value}),
)


def _erasure(doc: Document) -> DossierErasure:
    services = doc.get("services", {})
    return DossierErasure(
        erasure_id=doc["erasure_id"], dossier_id=doc["dossier_id"], state=doc["state"],
        requested_at=stored_utc(doc["requested_at"]), requested_by=doc["requested_by"],
        finished_at=stored_utc(doc["finished_at"]) if doc.get("finished_at") else None,
        services=[ServiceErasure.model_validate({
            **services.get(name, {}), "service": name,
            "state": services.get(name, {}).get("state", ServiceProgress.PENDING.value),
            "reported_at": stored_utc(services[name]["reported_at"])
            if services.get(name, {}).get("reported_at") else None})
            for name in ERASURE_SERVICES])


class ErasureSaga:
    """Starts, follows and resumes the erasure of dossiers."""

    def __init__(self, database: AsyncDatabase[Document], *, notify: Callable[[], None],
                 resend_after: timedelta, clock: Callable[[], datetime] = utc_now) -> None:
        self._erasures = database[ERASURES]
        self._dossiers = database[DOSSIERS]
        self._notify = notify
        self._resend_after = resend_after
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """Completion lookups by erasure id; the resume job's scan of running sagas."""
        await self._erasures.create_index("erasure_id", unique=True)
        await self._erasures.create_index([("state", 1), ("last_requested_at", 1)])
        await self._erasures.create_index([("requested_at", DESCENDING)])

    async def request(self, request: DossierErasureRequest) -> DossierErasure:
        """Start erasing a dossier (the office admin); asking again returns the same saga."""
        if request.caller.role is not Role.ADMIN:
            raise Forbidden("Only the office admin erases a dossier.")
        existing = await self._erasures.find_one({"_id": request.dossier_id})
        exists = await self._dossiers.find_one({"_id": request.dossier_id}, {"_id": 1})
        if existing is not None and (existing["state"] == ErasureState.RUNNING.value
                                     or exists is None):
            return _erasure(existing)
        if exists is None:
            raise NotFound("This dossier does not exist.")
        now = self._clock()
        erasure_id = new_id()
        event = ErasureRequested(dossier_id=request.dossier_id, erasure_id=erasure_id,
                                 correlation_id=request.correlation_id)
        doc: Document = {
            "_id": request.dossier_id, "erasure_id": erasure_id,
            "dossier_id": request.dossier_id, "state": ErasureState.RUNNING.value,
            "requested_at": now, "requested_by": request.caller.user_id,
            "last_requested_at": now, "finished_at": None, "services": {},
            **new_document_events(event)}
        await self._erasures.replace_one({"_id": request.dossier_id}, doc, upsert=True)
        self._notify()
        log.info("dossier erasure requested", erasure_id=erasure_id,
                 by=request.caller.user_id)
        return _erasure(doc)

    async def on_completed(self, event: ErasureCompleted) -> None:
        """A service reports; the last report finishes the saga (a repeat changes nothing)."""
        if event.service not in ERASURE_SERVICES:
            return
        doc = await self._erasures.find_one({"erasure_id": event.erasure_id})
        if doc is None:
            return
        if doc["services"].get(event.service, {}).get("state") != ServiceProgress.DONE.value:
            await self._erasures.update_one({"erasure_id": event.erasure_id}, {"$set": {
                f"services.{event.service}": {
                    "state": ServiceProgress.DONE.value, "reported_at": event.occurred_at,
                    "deleted": event.deleted,
                    "kept": [kept.model_dump() for kept in event.kept]}}})
            doc = await self._erasures.find_one({"erasure_id": event.erasure_id})
        if doc is None or doc["state"] != ErasureState.RUNNING.value:
            return
        if all(doc["services"].get(name, {}).get("state") == ServiceProgress.DONE.value
               for name in ERASURE_SERVICES):
            await self._erasures.update_one(
                {"_id": doc["_id"], "state": ErasureState.RUNNING.value},
                {"$set": {"state": ErasureState.FINISHED.value, "finished_at": self._clock()}})
            log.info("dossier erasure finished", erasure_id=event.erasure_id)

    async def resend_pending(self) -> int:
        """Publish the request again for sagas not finished after `resend_after`."""
        now = self._clock()
        resent = 0
        cursor = self._erasures.find({"state": ErasureState.RUNNING.value,
                                      "last_requested_at": {"$lt": now - self._resend_after}})
        for doc in [doc async for doc in cursor]:
            event = ErasureRequested(dossier_id=doc["dossier_id"], erasure_id=doc["erasure_id"])
            await self._erasures.update_one(
                {"_id": doc["_id"], "state": ErasureState.RUNNING.value},
                record_events({"$set": {"last_requested_at": now}}, event))
            resent += 1
        if resent:
            self._notify()
            log.info("erasure requests published again", sagas=resent)
        return resent

    async def get(self, query: DossierErasureQuery) -> DossierErasure:
        """The saga of a dossier (staff)."""
        if not query.caller.is_staff:
            raise Forbidden("Only the office's staff follow erasures.")
        doc = await self._erasures.find_one({"_id": query.dossier_id})
        if doc is None:
            raise NotFound("This dossier has no erasure.")
        return _erasure(doc)

    async def list(self, query: ErasureListQuery) -> ErasureList:
        """The latest erasures, newest first (staff)."""
        if not query.caller.is_staff:
            raise Forbidden("Only the office's staff follow erasures.")
        cursor = self._erasures.find({}).sort("requested_at", DESCENDING).limit(query.limit)
        return ErasureList(erasures=[_erasure(doc) async for doc in cursor])


@dataclass
class DossierPrivacy:
    saga: ErasureSaga
    participant: ErasureParticipant
    retention: RetentionJob
    resend_seconds: float

    async def ensure_indexes(self) -> None:
        """The saga's indexes."""
        await self.saga.ensure_indexes()

    def start_with(self, runtime: ServiceRuntime) -> None:
        """The resume job and the retention job, each in one replica at a time."""
        database = runtime.database
        runtime.add_job("erasure-resend", lambda: run_every(
            self.resend_seconds, self.saga.resend_pending, name="erasure resend",
            lease=Lease(database, "erasure-resend")))
        schedule_retention(runtime, self.retention)


OUTBOX_COLLECTIONS = [ERASURES, ERASURE_REPORTS]


def wire(broker: RabbitBroker, database: AsyncDatabase[Document], settings: DossierSettings,
         *, notify: Callable[[], None]) -> DossierPrivacy:
    """Build and subscribe the saga, this service's part and its retention job."""
    saga = ErasureSaga(database, notify=notify, resend_after=RESEND_AFTER)
    participant = ErasureParticipant(database, SERVICE, ERASURE_RULES, notify=notify)
    declare_emitted_events(broker, producer=SERVICE, events=(ErasureRequested, ErasureCompleted))
    prefetch = settings.rpc_prefetch
    serve_rpc(broker, REQUEST_DOSSIER_ERASURE, saga.request, prefetch=prefetch)
    serve_rpc(broker, GET_DOSSIER_ERASURE, saga.get, prefetch=prefetch)
    serve_rpc(broker, LIST_DOSSIER_ERASURES, saga.list, prefetch=prefetch)
    subscribe_erasure(broker, participant)
    subscribe_event(broker, consumer=SERVICE, purpose="erasure-reports",
                    event_type=ErasureCompleted, handle=saga.on_completed,
                    prefetch=settings.event_prefetch)
    return DossierPrivacy(saga, participant, RetentionJob(
        database, SERVICE, RETENTION_RULES, settings.retention_days),
        RESEND_AFTER.total_seconds() / 2)
