"""Use cases of the dossier service: imports by staff and the dossier chooser."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from libs.contracts.dossier import (
    Change,
    ClaimChanged,
    Contract,
    ContractChanged,
    ContractList,
    DossierChanged,
    DossierImported,
    DossierListQuery,
    DossierQuery,
    DossierRecord,
    DossierSummaries,
    DossierSummary,
    ImportDossierRequest,
    ImportReport,
    InvoiceChanged,
    ObjectKind,
    PersonChanged,
    Rejection,
    RiskObject,
    RiskObjectChanged,
    UpsertDossierRequest,
)
from libs.contracts.envelope import Event
from libs.servicekit.access import require_dossier_access, require_staff
from libs.servicekit.errors import NotFound
from libs.servicekit.logs import correlation_id, get_logger
from services.dossier.domain import covered_risk_objects, validate_import
from services.dossier.import_plan import KIND_ORDER, LIST_NAMES, object_id, plan_record
from services.dossier.locks import ImportLocks
from services.dossier.store import DossierStore, Stored, digest

log = get_logger(__name__)
DOSSIER_NOT_FOUND = "This dossier does not exist."
EVENT_CLASSES: dict[ObjectKind, tuple[type[Event], str, str]] = {
    "person": (PersonChanged, "person_id", "person"),
    "risk_object": (RiskObjectChanged, "risk_object_id", "risk_object"),
    "contract": (ContractChanged, "contract_id", "contract"),
    "claim": (ClaimChanged, "claim_id", "claim"),
    "invoice": (InvoiceChanged, "invoice_id", "invoice"),
}


# The kinds each kind refers to: an import checks references against what is stored of them.
REFERENCED: dict[ObjectKind, tuple[ObjectKind, ...]] = {
    "person": (), "risk_object": ("person",), "contract": ("risk_object",),
    "claim": ("contract", "risk_object"), "invoice": ("contract",),
}


def kinds_to_read(record: DossierRecord, *, remove_missing: bool) -> set[ObjectKind]:
    """What of the stored dossier an import of `record` must know (everything for removals)."""
    if remove_missing:
        return set(KIND_ORDER)
    given = [kind for kind in KIND_ORDER if getattr(record, LIST_NAMES[kind]) is not None]
    return {referenced for kind in given for referenced in REFERENCED[kind]}


def change_event(kind: ObjectKind, change: Change, item_id: str, item: BaseModel | None, *,
                 dossier_id: str, correlation: str | None) -> Event:
    """The `dossier.<kind>.changed` event of one object."""
    event_class, id_field, object_field = EVENT_CLASSES[kind]
    fields: dict[str, Any] = {"change": change, id_field: item_id, object_field: item}
    return event_class(dossier_id=dossier_id, correlation_id=correlation, **fields)


class DossierHandlers:
    """One method per command, plus the dossier chooser's queries."""

    def __init__(self, store: DossierStore, locks: ImportLocks,
                 on_events_stored: Callable[[], None]) -> None:
        self._store = store
        self._locks = locks
        self._on_events_stored = on_events_stored

    async def import_dossier(self, request: ImportDossierRequest) -> DossierSummary:
        """Store a whole dossier exported by the broker's system, replacing what it held."""
        require_staff(request.caller)
        dossier = request.dossier
        # The whole-dossier import keeps its all-or-nothing promise: any broken rule refuses it.
        validate_import(dossier)
        correlation = request.correlation_id or correlation_id.get()
        record = DossierRecord.model_validate(dossier.model_dump())
        imported = DossierImported(
            dossier_id=dossier.dossier_id, name=dossier.name, correlation_id=correlation)
        await self._import(record, remove_missing=True, correlation=correlation,
                           extra_events=(imported,))
        summary = await self._store.get_summary(dossier.dossier_id)
        if summary is None:  # pragma: no cover - written just above
            raise NotFound(DOSSIER_NOT_FOUND)
        return summary

    async def upsert_dossier(self, request: UpsertDossierRequest) -> ImportReport:
        """Upsert one dossier record object by object; refused objects are reported."""
        require_staff(request.caller)
        return await self._import(
            request.record, remove_missing=request.remove_missing,
            correlation=request.correlation_id or correlation_id.get())

    async def _import(self, record: DossierRecord, *, remove_missing: bool,
                      correlation: str | None, extra_events: tuple[Event, ...] = ()
                      ) -> ImportReport:
        async with self._locks.holding(record.dossier_id):  # one import per dossier at a time
            return await self._import_alone(record, remove_missing=remove_missing,
                                            correlation=correlation, extra_events=extra_events)

    async def _import_alone(self, record: DossierRecord, *, remove_missing: bool,
                            correlation: str | None, extra_events: tuple[Event, ...]
                            ) -> ImportReport:
        dossier_id = record.dossier_id
        header = await self._store.get_header(dossier_id)
        if header is None and record.name is None:
            return ImportReport(dossier_id=dossier_id, dossier="rejected", rejected=1,
                                rejections=[Rejection(path="name", object_id=dossier_id, reasons={
                                    "name": "required: this dossier is new"})])
        stored = await self._store.stored_state(
            dossier_id, kinds_to_read(record, remove_missing=remove_missing),
            with_references=remove_missing)
        plan = plan_record(record, stored, remove_missing=remove_missing)
        report = ImportReport(dossier_id=dossier_id, dossier="unchanged",
                              rejected=len(plan.rejections), rejections=plan.rejections)
        name = record.name or (header or {})["name"]
        reference = record.broker_reference if record.broker_reference is not None else \
            (header or {}).get("broker_reference")
        events = list(extra_events)
        if header is None or (name, reference) != (header["name"], header.get("broker_reference")):
            report.dossier = "created" if header is None else "updated"
            events.insert(0, DossierChanged(
                dossier_id=dossier_id, correlation_id=correlation, change=report.dossier,
                name=name, broker_reference=reference))
        if events:
            await self._store.save_header(
                dossier_id, {"name": name, "broker_reference": reference}, *events)
        for kind in KIND_ORDER:
            await self._write_kind(record.dossier_id, kind, plan.accepted[kind], report,
                                   correlation)
        for kind in reversed(KIND_ORDER):  # users are removed before what they use
            removals = [(item_id, change_event(kind, "removed", item_id, None,
                                               dossier_id=dossier_id, correlation=correlation))
                        for item_id in plan.removals[kind]]
            await self._store.remove_objects(dossier_id, kind, removals)
            report.removed += len(removals)
        await self._store.recount(dossier_id)
        self._on_events_stored()
        log.info("dossier imported", dossier_id=dossier_id, dossier=report.dossier,
                 created=report.created, updated=report.updated, unchanged=report.unchanged,
                 removed=report.removed, rejected=report.rejected)
        return report

    async def _write_kind(self, dossier_id: str, kind: ObjectKind, accepted: list[BaseModel],
                          report: ImportReport, correlation: str | None) -> None:
        """Write what changed of `accepted`, each object with its change event."""
        if not accepted:
            return
        stored = await self._store.stored_digests(
            dossier_id, kind, [object_id(kind, item) for item in accepted])
        writes: list[tuple[BaseModel, Event, Stored]] = []
        for item in accepted:
            item_id = object_id(kind, item)
            was: Stored = "new" if item_id not in stored else (
                "removed" if stored[item_id] is None else "present")
            if was == "present" and stored[item_id] == digest(item):
                report.unchanged += 1
                continue
            change: Change = "updated" if was == "present" else "created"
            if change == "created":
                report.created += 1
            else:
                report.updated += 1
            writes.append((item, change_event(kind, change, item_id, item, dossier_id=dossier_id,
                                              correlation=correlation), was))
        if writes:
            first = await self._store.reserve_positions(dossier_id, kind, len(writes))
            await self._store.write_objects(dossier_id, kind, writes, first_position=first)

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
        """Every contract of a dossier with the risk objects they cover (unpaginated, v1)."""
        require_dossier_access(query.caller, query.dossier_id)
        if await self._store.get_header(query.dossier_id) is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        contracts = await self._store.find(query.dossier_id, Contract)
        risk_objects = await self._store.find(query.dossier_id, RiskObject)
        return ContractList(dossier_id=query.dossier_id, contracts=contracts,
                            risk_objects=covered_risk_objects(contracts, risk_objects))
