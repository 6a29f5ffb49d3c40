"""A client's insurance file, view by view (manual 3.1), and the office's bulk import.

Lists take `page_size`, `sort`, `order` and `cursor`: a page answers `links` to the first,
previous, next and last pages (keyset paging: each cursor holds the boundary row, so a deep page
is as fast as the first; a damaged or foreign cursor answers problem+json 422). Each detail has
its own URL. The dossier id must be in the caller's token grants (else 404 before any RPC); the
service checks again. Cursors are signed by the dossier service for one dossier, list, sort and
order: any other cursor (forged, edited, another dossier's or list's) is a 422.
"""

from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api_links import DOSSIER, answer_links, link
from gateway.deps import CurrentCaller, GrantedDossier, ObjectIdPath, Rpc, StaffCaller, State
from gateway.dossier_reads import versioned_json
from gateway.problems import api_router
from libs.contracts import dossier
from libs.contracts.auth import AccessClaims
from libs.servicekit.logs import correlation_id

router = api_router(prefix="/api/v1/dossiers/{dossier_id}", tags=["dossiers"])
admin_router = api_router(prefix="/admin/api/v1/dossier-imports", tags=["admin"])
PageT = TypeVar("PageT", bound=dossier.PageInfo)
CLIENT = "/api/v1/dossiers/{dossier_id}"


def read_contract_link(contract_id: str) -> dict[int | str, dict[str, Any]]:
    """The link of a list to its first contract's detail (`contract_id`: a JSON pointer)."""
    return answer_links(200, ReadContract=link(
        f"GET {CLIENT}/contracts/{{contract_id}}", "The contract with its guarantees",
        dossier_id=DOSSIER, contract_id=f"$response.body#{contract_id}"))


class Paging(BaseModel):
    """How a list is asked for: how long a page, sorted on what, from which cursor."""

    # `page=N` of the former numbered pages is refused, not silently read as the first page.
    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(default=20, ge=1, le=dossier.MAX_PAGE_SIZE)
    sort: str | None = Field(default=None, max_length=40)
    order: Literal["asc", "desc"] = "asc"
    cursor: str | None = Field(default=None, max_length=4000,
                               description="A cursor from the `links` of a page of this list")


PagingQuery = Annotated[Paging, Query()]


def paging_key(paging: Paging) -> tuple[object, ...]:
    """What of a list query its answer depends on (the read model's key)."""
    return (paging.page_size, paging.sort, paging.order, paging.cursor)


def list_query(claims: AccessClaims, dossier_id: str, paging: Paging) -> dossier.ListQuery:
    """The service query of one list page."""
    return dossier.ListQuery(
        caller=claims.caller(), dossier_id=dossier_id, page_size=paging.page_size,
        sort=paging.sort, descending=paging.order == "desc", cursor=paging.cursor)


def with_links(request: Request, page: PageT) -> PageT:
    """`page` with the addresses of its first, previous, next and last pages."""

    def address(cursor: str | None) -> str:
        query = {"page_size": page.page_size, "sort": page.sort,
                 "order": "desc" if page.descending else "asc"}
        return f"{request.url.path}?{urlencode({**query, 'cursor': cursor} if cursor else query)}"

    page.links = dossier.PageLinks(
        first=address(None), last=address(page.last_cursor),
        previous=address(page.previous_cursor) if page.previous_cursor else None,
        next=address(page.next_cursor) if page.next_cursor else None)
    return page


def object_query(claims: AccessClaims, dossier_id: str, object_id: str) -> dossier.ObjectQuery:
    """The service query of one detail."""
    return dossier.ObjectQuery(caller=claims.caller(), dossier_id=dossier_id, object_id=object_id)


@router.get("/persons", response_model=dossier.PersonList)
async def list_persons(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc, state: State
) -> Response:
    """My data: the persons of the household."""
    return await versioned_json(request, state, dossier_id, (), lambda: rpc.call(
        dossier.LIST_PERSONS, dossier.DossierQuery(caller=claims.caller(),
                                                   dossier_id=dossier_id)))


@router.get("/risk-objects", response_model=dossier.RiskObjectPage, responses=answer_links(
    200, ReadRiskObject=link(f"GET {CLIENT}/risk-objects/{{risk_object_id}}",
                             "The risk object with its contracts and claims", dossier_id=DOSSIER,
                             risk_object_id="$response.body#/items/0/risk_object/risk_object_id")))
async def list_risk_objects(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery, state: State,
) -> Response:
    """My risks, each with its next renewal and what covers it (sort: position, description,
    kind)."""
    async def page() -> dossier.RiskObjectPage:
        return with_links(request, await rpc.call(
            dossier.LIST_RISK_OBJECTS, list_query(claims, dossier_id, paging)))

    return await versioned_json(request, state, dossier_id, paging_key(paging), page)


@router.get("/risk-objects/{risk_object_id}", response_model=dossier.RiskObjectDetail)
async def read_risk_object(
    request: Request, dossier_id: GrantedDossier, risk_object_id: ObjectIdPath,
    claims: CurrentCaller, rpc: Rpc, state: State,
) -> Response:
    """A risk object with its contracts, their guarantees and the claims on it."""
    return await versioned_json(request, state, dossier_id, (), lambda: rpc.call(
        dossier.GET_RISK_OBJECT, object_query(claims, dossier_id, risk_object_id)))


@router.get("/contract-pages", response_model=dossier.ContractPage,
            responses=read_contract_link("/items/0/contract_id"))
async def list_contract_page(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery, state: State,
) -> Response:
    """My contracts, one page (sort: position, policy_number, insurer, product, status,
    renewal_date, start_date). `/contracts` still answers every contract at once."""
    async def page() -> dossier.ContractPage:
        return with_links(request, await rpc.call(
            dossier.LIST_CONTRACT_PAGE, list_query(claims, dossier_id, paging)))

    return await versioned_json(request, state, dossier_id, paging_key(paging), page)


@router.get("/contracts/{contract_id}", response_model=dossier.ContractDetail)
async def read_contract(
    request: Request, dossier_id: GrantedDossier, contract_id: ObjectIdPath,
    claims: CurrentCaller, rpc: Rpc, state: State,
) -> Response:
    """A contract with its guarantees, risk objects, claims and invoices."""
    return await versioned_json(request, state, dossier_id, (), lambda: rpc.call(
        dossier.GET_CONTRACT, object_query(claims, dossier_id, contract_id)))


@router.get("/claims", response_model=dossier.ClaimPage, responses=answer_links(
    200, ReadClaim=link(f"GET {CLIENT}/claims/{{claim_id}}",
                        "The claim with its contract and risk objects", dossier_id=DOSSIER,
                        claim_id="$response.body#/items/0/claim_id")))
async def list_claims(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery, state: State,
) -> Response:
    """My claims (sort: occurred_on, claim_number, status)."""
    async def page() -> dossier.ClaimPage:
        return with_links(request, await rpc.call(
            dossier.LIST_CLAIMS, list_query(claims, dossier_id, paging)))

    return await versioned_json(request, state, dossier_id, paging_key(paging), page)


@router.get("/claims/{claim_id}", response_model=dossier.ClaimDetail)
async def read_claim(
    request: Request, dossier_id: GrantedDossier, claim_id: ObjectIdPath,
    claims: CurrentCaller, rpc: Rpc, state: State,
) -> Response:
    """A claim with its contract and the risk objects concerned."""
    return await versioned_json(request, state, dossier_id, (), lambda: rpc.call(
        dossier.GET_CLAIM, object_query(claims, dossier_id, claim_id)))


@router.get("/invoices", response_model=dossier.InvoicePage)
async def list_invoices(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery, state: State,
) -> Response:
    """My invoices with the open amount and the number overdue (sort: due_date,
    invoice_number, status, amount_cents)."""
    async def page() -> dossier.InvoicePage:
        return with_links(request, await rpc.call(
            dossier.LIST_INVOICES, list_query(claims, dossier_id, paging)))

    return await versioned_json(request, state, dossier_id, paging_key(paging), page)


@admin_router.post("", status_code=status.HTTP_200_OK)
async def upsert_dossier(
    body: dossier.DossierRecord, staff: StaffCaller, rpc: Rpc, state: State,
    remove_missing: bool = False,
) -> dossier.ImportReport:
    """Upsert one dossier record by the broker's ids: unchanged objects are not rewritten,
    refused objects are reported while the valid ones go in; `remove_missing` removes stored
    objects of the given lists that the record no longer holds."""
    try:
        return await rpc.call(dossier.UPSERT_DOSSIER, dossier.UpsertDossierRequest(
            caller=staff.caller(), record=body, remove_missing=remove_missing,
            correlation_id=correlation_id.get()),
            timeout_seconds=state.settings.import_timeout_seconds)
    finally:  # this instance reads it anew at once (also after a timeout: it may have gone in)
        state.read_model.versions.changed(body.dossier_id)


@admin_router.get("/schema")
async def import_schema(staff: StaffCaller) -> dict[str, Any]:
    """The JSON schema of one import record (also in this API's OpenAPI document)."""
    return dossier.DossierRecord.model_json_schema()
