"""Use cases of the client's consultation (manual 3.1): lists by page, and each detail."""

import asyncio

from libs.contracts.dossier import (
    USUAL_DRIVER,
    Claim,
    ClaimDetail,
    ClaimPage,
    Contract,
    ContractDetail,
    ContractPage,
    DossierQuery,
    Invoice,
    InvoicePage,
    ListQuery,
    ObjectKind,
    ObjectQuery,
    PageInfo,
    Person,
    PersonList,
    RiskObject,
    RiskObjectDetail,
    RiskObjectLine,
    RiskObjectPage,
)
from libs.contracts.envelope import office_day, utc_now
from libs.servicekit.access import require_dossier_access
from libs.servicekit.errors import Invalid, NotFound
from libs.servicekit.mongo import Document
from services.dossier import cursors
from services.dossier.domain import cover_lines, is_overdue, next_renewal
from services.dossier.store import SORT_FIELDS, DossierStore, ModelT

DOSSIER_NOT_FOUND = "This dossier does not exist."
DEFAULT_SORT: dict[ObjectKind, str] = {
    "risk_object": "position", "contract": "position", "claim": "occurred_on",
    "invoice": "due_date", "person": "position",
}


class DossierConsultation:
    """What a client (or staff) reads of a dossier; every query checks the caller first."""

    def __init__(self, store: DossierStore, page_cursors: cursors.PageCursors) -> None:
        self._store = store
        self._cursors = page_cursors

    async def _open(self, caller_query: DossierQuery | ListQuery | ObjectQuery) -> Document:
        require_dossier_access(caller_query.caller, caller_query.dossier_id)
        header = await self._store.get_header(caller_query.dossier_id)
        if header is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        return header

    async def _page(self, query: ListQuery, kind: ObjectKind,
                    model: type[ModelT]) -> tuple[PageInfo, list[ModelT]]:
        header = await self._open(query)
        dossier_id = query.dossier_id
        sort = query.sort or DEFAULT_SORT[kind]
        if sort not in SORT_FIELDS[kind]:
            raise Invalid("This list cannot be sorted that way.", fields={
                "sort": "one of " + ", ".join(SORT_FIELDS[kind])})
        cursor = None if query.cursor is None else self._decode(query, query.cursor, kind, sort)
        total = self._store.total(header, kind)
        size = query.page_size
        read = cursors.window(cursor, page_size=size, total=total)
        # One row more than the page tells whether the list goes on past it.
        rows = await self._store.page(
            dossier_id, model, sort=sort, descending=query.descending, after=read.key,
            backward=read.backward, limit=read.limit + 1)
        more = len(rows) > read.limit
        rows = rows[:read.limit]
        if read.backward:
            rows.reverse()
            has_previous, has_next = more, read.key is not None
            page = max(read.page, 2) if more else 1  # nothing before it: the first page
        else:
            has_previous, has_next = read.key is not None, more
            page = max(read.page, 2) if has_previous else 1
        previous_key: str | None
        next_key: str | None
        if rows:
            previous_key, next_key = rows[0][0], rows[-1][0]
        else:  # the rows past the boundary went since the link was made: step back over it
            previous_key = next_key = read.key

        def leading(toward: cursors.Toward, key: str | None, number: int) -> str:
            return self._cursors.encode(cursors.PageCursor(
                kind=kind, sort=sort, descending=query.descending, toward=toward, key=key,
                page=number), dossier_id)

        page_count = cursors.page_count(total, size)
        info = PageInfo(
            dossier_id=dossier_id, total=total, page=page, page_count=max(page_count, page),
            page_size=size, sort=sort, descending=query.descending,
            previous_cursor=leading("before", previous_key, page - 1)
            if has_previous and previous_key is not None else None,
            next_cursor=leading("after", next_key, page + 1)
            if has_next and next_key is not None else None,
            last_cursor=leading("last", None, page_count))
        return info, [item for _, item in rows]

    def _decode(self, query: ListQuery, text: str, kind: ObjectKind, sort: str
                ) -> cursors.PageCursor:
        """The query's cursor `text`, if this service made it for this very list; a refused
        one is logged as a tampering attempt (who, which dossier and list; never the cursor)."""
        return self._cursors.decode(text, dossier_id=query.dossier_id, kind=kind, sort=sort,
                                    descending=query.descending, caller=query.caller)

    async def _get(self, query: ObjectQuery, model: type[ModelT]) -> ModelT:
        await self._open(query)
        found = await self._store.get(query.dossier_id, model, query.object_id)
        if found is None:
            raise NotFound("This item does not exist in the dossier.")
        return found

    async def list_persons(self, query: DossierQuery) -> PersonList:
        """My data: the persons of the household."""
        await self._open(query)
        return PersonList(dossier_id=query.dossier_id,
                          persons=await self._store.find(query.dossier_id, Person))

    async def list_risk_objects(self, query: ListQuery) -> RiskObjectPage:
        """My risks: one page, each risk object with its renewal date and what covers it."""
        info, risk_objects = await self._page(query, "risk_object", RiskObject)
        ids = [risk_object.risk_object_id for risk_object in risk_objects]
        contracts = await self._store.on_risk_objects(info.dossier_id, Contract, ids)
        lines = []
        for risk_object in risk_objects:
            covers = cover_lines(risk_object.risk_object_id, contracts)
            lines.append(RiskObjectLine(risk_object=risk_object, covers=covers,
                                        next_renewal=next_renewal(covers)))
        return RiskObjectPage(**info.model_dump(), items=lines)

    async def get_risk_object(self, query: ObjectQuery) -> RiskObjectDetail:
        """A risk object with its contracts, their guarantees and the claims on it."""
        risk_object = await self._get(query, RiskObject)
        contracts, claims = await asyncio.gather(
            self._store.on_risk_objects(query.dossier_id, Contract, [query.object_id]),
            self._store.on_risk_objects(query.dossier_id, Claim, [query.object_id]))
        insured = risk_object.insured_person
        insured_person, usual_driver = await asyncio.gather(
            self._person(query.dossier_id, insured.person_id if insured is not None else None),
            self._person(query.dossier_id, risk_object.details.get(USUAL_DRIVER)))
        return RiskObjectDetail(
            dossier_id=query.dossier_id, risk_object=risk_object, contracts=contracts,
            claims=_newest_first(claims), covers=cover_lines(query.object_id, contracts),
            insured_person=insured_person, usual_driver=usual_driver)

    async def _person(self, dossier_id: str, person_id: str | None) -> Person | None:
        """The dossier's person a risk object names, if it names one that exists."""
        return await self._store.get(dossier_id, Person, person_id) if person_id else None

    async def list_contract_page(self, query: ListQuery) -> ContractPage:
        """My contracts: one page."""
        info, contracts = await self._page(query, "contract", Contract)
        return ContractPage(**info.model_dump(), items=contracts)

    async def get_contract(self, query: ObjectQuery) -> ContractDetail:
        """A contract with its risk objects, claims and invoices."""
        contract = await self._get(query, Contract)
        dossier_id = query.dossier_id
        risk_objects, claims, invoices = await asyncio.gather(
            self._store.get_many(dossier_id, RiskObject, contract.risk_object_ids),
            self._store.of_contract(dossier_id, Claim, contract.contract_id),
            self._store.of_contract(dossier_id, Invoice, contract.contract_id))
        return ContractDetail(
            dossier_id=dossier_id, contract=contract, risk_objects=risk_objects,
            claims=_newest_first(claims), invoices=invoices,
            overdue_invoice_ids=_overdue_ids(invoices),
        )

    async def list_claims(self, query: ListQuery) -> ClaimPage:
        """My claims: one page."""
        info, claims = await self._page(query, "claim", Claim)
        return ClaimPage(**info.model_dump(), items=claims)

    async def get_claim(self, query: ObjectQuery) -> ClaimDetail:
        """A claim with its contract and the risk objects concerned."""
        claim = await self._get(query, Claim)
        risk_ids = list(dict.fromkeys(
            ([claim.risk_object_id] if claim.risk_object_id else []) + claim.risk_object_ids))
        return ClaimDetail(
            dossier_id=query.dossier_id, claim=claim,
            contract=await self._store.get(query.dossier_id, Contract, claim.contract_id),
            risk_objects=await self._store.get_many(query.dossier_id, RiskObject, risk_ids),
        )

    async def list_invoices(self, query: ListQuery) -> InvoicePage:
        """My invoices: one page, plus the open amount and the number overdue of them all."""
        info, invoices = await self._page(query, "invoice", Invoice)
        header = await self._store.get_header(info.dossier_id) or {}
        overdue = await self._store.overdue_invoice_count(
            info.dossier_id, office_day(utc_now()))
        return InvoicePage(**info.model_dump(), items=invoices,
                           open_amount_cents=int(header.get("open_invoice_cents", 0)),
                           overdue_count=overdue, overdue_invoice_ids=_overdue_ids(invoices))


def _newest_first(claims: list[Claim]) -> list[Claim]:
    return sorted(claims, key=lambda claim: claim.occurred_on, reverse=True)


def _overdue_ids(invoices: list[Invoice]) -> list[str]:
    today = office_day(utc_now())
    return [invoice.invoice_id for invoice in invoices if is_overdue(invoice, today)]
