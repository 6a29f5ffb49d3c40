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

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import CurrentCaller, GrantedDossier, Rpc, StaffCaller, State
from libs.contracts import dossier
from libs.contracts.auth import AccessClaims
from libs.servicekit.logs import correlation_id

router = APIRouter(prefix="/api/v1/dossiers/{dossier_id}", tags=["dossiers"])
admin_router = APIRouter(prefix="/admin/api/v1/dossier-imports", tags=["admin"])
PageT = TypeVar("PageT", bound=dossier.PageInfo)


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


@router.get("/persons")
async def list_persons(
    dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc
) -> dossier.PersonList:
    """My data: the persons of the household."""
    return await rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
        caller=claims.caller(), dossier_id=dossier_id))


@router.get("/risk-objects")
async def list_risk_objects(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery,
) -> dossier.RiskObjectPage:
    """My risks, each with its next renewal and what covers it (sort: position, description,
    kind)."""
    return with_links(request, await rpc.call(
        dossier.LIST_RISK_OBJECTS, list_query(claims, dossier_id, paging)))


@router.get("/risk-objects/{risk_object_id}")
async def read_risk_object(
    dossier_id: GrantedDossier, risk_object_id: str, claims: CurrentCaller, rpc: Rpc
) -> dossier.RiskObjectDetail:
    """A risk object with its contracts, their guarantees and the claims on it."""
    return await rpc.call(dossier.GET_RISK_OBJECT,
                          object_query(claims, dossier_id, risk_object_id))


@router.get("/contract-pages")
async def list_contract_page(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery,
) -> dossier.ContractPage:
    """My contracts, one page (sort: position, policy_number, insurer, product, status,
    renewal_date, start_date). `/contracts` still answers every contract at once."""
    return with_links(request, await rpc.call(
        dossier.LIST_CONTRACT_PAGE, list_query(claims, dossier_id, paging)))


@router.get("/contracts/{contract_id}")
async def read_contract(
    dossier_id: GrantedDossier, contract_id: str, claims: CurrentCaller, rpc: Rpc
) -> dossier.ContractDetail:
    """A contract with its guarantees, risk objects, claims and invoices."""
    return await rpc.call(dossier.GET_CONTRACT, object_query(claims, dossier_id, contract_id))


@router.get("/claims")
async def list_claims(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery,
) -> dossier.ClaimPage:
    """My claims (sort: occurred_on, claim_number, status)."""
    return with_links(request, await rpc.call(
        dossier.LIST_CLAIMS, list_query(claims, dossier_id, paging)))


@router.get("/claims/{claim_id}")
async def read_claim(
    dossier_id: GrantedDossier, claim_id: str, claims: CurrentCaller, rpc: Rpc
) -> dossier.ClaimDetail:
    """A claim with its contract and the risk objects concerned."""
    return await rpc.call(dossier.GET_CLAIM, object_query(claims, dossier_id, claim_id))


@router.get("/invoices")
async def list_invoices(
    request: Request, dossier_id: GrantedDossier, claims: CurrentCaller, rpc: Rpc,
    paging: PagingQuery,
) -> dossier.InvoicePage:
    """My invoices with the open amount and the number overdue (sort: due_date,
    invoice_number, status, amount_cents)."""
    return with_links(request, await rpc.call(
        dossier.LIST_INVOICES, list_query(claims, dossier_id, paging)))


@admin_router.post("", status_code=status.HTTP_200_OK)
async def upsert_dossier(
    body: dossier.DossierRecord, staff: StaffCaller, rpc: Rpc, state: State,
    remove_missing: bool = False,
) -> dossier.ImportReport:
    """Upsert one dossier record by the broker's ids: unchanged objects are not rewritten,
    refused objects are reported while the valid ones go in; `remove_missing` removes stored
    objects of the given lists that the record no longer holds."""
    return await rpc.call(dossier.UPSERT_DOSSIER, dossier.UpsertDossierRequest(
        caller=staff.caller(), record=body, remove_missing=remove_missing,
        correlation_id=correlation_id.get()), timeout_seconds=state.settings.import_timeout_seconds)


@admin_router.get("/schema")
async def import_schema(staff: StaffCaller) -> dict[str, Any]:
    """The JSON schema of one import record (also in this API's OpenAPI document)."""
    return dossier.DossierRecord.model_json_schema()
