"""The client's insurance file as pages (manual 3.1): my data, risks, contracts, claims, invoices.

A list opens a detail at its own address (a deep link); the detail closes with the cross and
returns to the list. A list page's address holds its sort, order and cursor (keyset paging), so
it can be shared and opened again; a damaged or outdated cursor shows the list's first page with
a notice instead. Every query goes to the active dossier of the signed-in client only.
"""

from collections.abc import Hashable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel

from gateway.access_log import note_caller
from gateway.api.me import DossierRef, kept_dossiers
from gateway.deps import ObjectIdPath, Rpc, gateway_state
from gateway.dossier_reads import cached_call, today
from gateway.web.pages import (
    DOSSIER_PARAMETER,
    Pages,
    PageSession,
    active_dossier_id,
    dossier_choices,
    page_renderer,
)
from gateway.web.rendering import in_dossier
from gateway.web.risk_fields import further_fields
from gateway.web.session import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    DOSSIER_COOKIE,
    REFRESH_COOKIE,
    WebSession,
    cookie,
    queue_cookie,
)
from libs.contracts import dossier
from libs.contracts.auth import AccessClaims
from libs.contracts.rpc import RpcMethod
from libs.servicekit.errors import Invalid, NotFound, ServiceError

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
CONTRACTS_TEMPLATE = "dossier/contracts.html"

Cursor = Annotated[str | None, Query(max_length=4000)]
Back = Annotated[str | None, Query(max_length=2000)]
SortField = Annotated[str | None, Query(max_length=40)]
Order = Annotated[Literal["asc", "desc"], Query()]
Detail = TypeVar("Detail", bound=BaseModel)


async def _zone(request: Request, session: PageSession, rpc: Rpc) -> dict[str, Any]:
    """What every page of the zone shows around its content: the dossiers and the active one."""
    claims = session.claims
    return {"dossiers": await dossier_choices(rpc, claims, gateway_state(request).read_model),
            "active": active_dossier_id(request, claims)}


def _list_query(claims: AccessClaims, dossier_id: str, cursor: str | None, sort: str | None,
                order: str) -> dossier.ListQuery:
    return dossier.ListQuery(caller=claims.caller(), dossier_id=dossier_id, cursor=cursor,
                             page_size=PAGE_SIZE, sort=sort, descending=order == "desc")


async def _listed(request: Request, method: RpcMethod[dossier.ListQuery, Any],
                  claims: AccessClaims, context: dict[str, Any], cursor: str | None,
                  sort: str | None, order: str) -> dict[str, Any]:
    """One page of a list of the active dossier for a page's context (`listed`), through the
    read model (the active dossier is one of the token's grants).

    A shared link whose cursor no longer fits (damaged, or made for another sort) still shows
    the list: its first page, with `page_link_outdated` set for a notice.
    """
    active = context["active"]
    if not active:
        return {"listed": None}
    state = gateway_state(request)

    async def listed_from(start: str | None) -> Any:
        return await cached_call(state, (active,), method,
                                 _list_query(claims, active, start, sort, order),
                                 (PAGE_SIZE, start, sort, order))

    try:
        listed = await listed_from(cursor)
    except Invalid:
        if cursor is None:
            raise
        return {"listed": await listed_from(None), "page_link_outdated": True}
    return {"listed": listed}


def _close_to(back: str | None, list_path: str) -> str:
    """Where a detail's cross leads: the list page it was opened from (its sort and cursor,
    manual 3.1: the cross closes the detail and returns to the list), else the list's start.
    Only an address of that list is followed, never another page or site."""
    if back is not None and (back == list_path or back.startswith(f"{list_path}?")):
        return back
    return list_path


def _object_query(claims: AccessClaims, dossier_id: str, object_id: str) -> dossier.ObjectQuery:
    return dossier.ObjectQuery(caller=claims.caller(), dossier_id=dossier_id, object_id=object_id)


async def _opened(request: Request, rpc: Rpc, method: RpcMethod[dossier.ObjectQuery, Detail],
                  claims: AccessClaims, context: dict[str, Any], object_id: str) -> Detail:
    """The detail of `object_id` in the active dossier.

    An address that does not name its dossier (saved before links carried it) may lead to an
    object of the client's other dossier: it is looked up there too, and that dossier becomes
    the active one, as following a link that names it would. Only the client's own dossiers
    are tried, so a foreign object stays "not found".
    """
    if not context["active"]:  # no dossier of one's own (staff): nothing to open here
        raise NotFound("This dossier does not exist.")
    try:
        return await rpc.call(method, _object_query(claims, context["active"], object_id))
    except NotFound:
        if DOSSIER_PARAMETER in request.query_params:
            raise
        for other in claims.dossiers:
            if other == context["active"]:
                continue
            try:
                detail = await rpc.call(method, _object_query(claims, other, object_id))
            except NotFound:
                continue
            queue_cookie(request, DOSSIER_COOKIE, other)
            context["active"] = other
            return detail
        raise


@router.get("/my-data")
async def my_data_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc) -> Response:
    """My data: the persons of the household with their details."""
    context = await _zone(request, session, rpc)
    persons: list[dossier.Person] = []
    if context["active"]:
        persons = (await rpc.call(dossier.LIST_PERSONS, dossier.DossierQuery(
            caller=session.claims.caller(), dossier_id=context["active"]))).persons
    return pages.render(request, "dossier/persons.html", {**context, "persons": persons},
                        session=session)


@router.get("/risks")
async def risks_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                     cursor: Cursor = None, sort: SortField = None, order: Order = "asc"
                     ) -> Response:
    """My risks: each risk object with its renewal date and what covers it, at a glance."""
    context = await _zone(request, session, rpc)
    listed = await _listed(request, dossier.LIST_RISK_OBJECTS, session.claims, context, cursor,
                           sort, order)
    return pages.render(request, "dossier/risks.html", {**context, **listed}, session=session)


@router.get("/risks/{risk_object_id}")
async def risk_page(request: Request, risk_object_id: ObjectIdPath, session: PageSession,
                    pages: Pages, rpc: Rpc, back: Back = None) -> Response:
    """A risk object: its contracts, their guarantees and the claims on it (manual 3.1)."""
    context = await _zone(request, session, rpc)
    detail = await _opened(request, rpc, dossier.GET_RISK_OBJECT, session.claims, context,
                           risk_object_id)
    language = pages.language(request, session)
    fields = further_fields(
        detail, language, pages.gettext(language),
        lambda person: in_dossier(f"/my-data#person-{person.person_id}", context["active"]))
    return pages.render(request, "dossier/risk.html", {
        **context, "detail": detail, "further_fields": fields,
        "close_to": _close_to(back, "/risks")}, session=session)


@router.get("/contracts")
async def contracts_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                         cursor: Cursor = None, sort: SortField = None, order: Order = "asc"
                         ) -> Response:
    """My contracts: policy, insurer, product, renewal and premium, one page at a time.

    The list (the page's content block) is kept in the read model per dossier version, address
    and language: the next reader of the same list of an unchanged dossier gets it without RPC
    or rendering (the dossier is the active one, from the token's grants). The whole page is
    kept too, per reader and while none of their dossiers changes (their names are on it);
    its CSRF token is put in at each request."""
    context = await _zone(request, session, rpc)
    template = CONTRACTS_TEMPLATE
    active = context["active"]
    if not active:
        return pages.render(request, template, {**context, "listed": None}, session=session)
    read_model = gateway_state(request).read_model

    async def content() -> Markup:
        listed = await _listed(request, dossier.LIST_CONTRACT_PAGE, session.claims, context,
                               cursor, sort, order)
        return pages.render_fragment(request, "dossier/_contracts_list.html",
                                     {**context, **listed}, session=session)

    async def page_context() -> dict[str, Any]:
        kept = await read_model.read(
            (active,), ("page", request.url.path, request.url.query, today(),
                        pages.language(request, session)), content)
        return {**context, "content_kept": kept.value}

    granted, key = _contracts_page_key(session.claims, active, context["dossiers"])
    return await pages.render_kept(request, read_model, granted, key, template, page_context,
                                   session=session)


def _contracts_page_key(claims: AccessClaims, active: str, dossiers: list[DossierRef]
                        ) -> tuple[tuple[str, ...], tuple[Hashable, ...]]:
    """The dossiers of a reader's contracts page and its key besides them: every dossier of the
    reader is on the page (the picker's names), so it lasts while none of them changes. They
    are the token's grants, the active one first (the read model keeps it under that one)."""
    granted = (active, *(d for d in claims.dossiers if d != active))
    return granted, (active, tuple((choice.dossier_id, choice.name) for choice in dossiers))


def kept_contracts_page(request: Request) -> Response | None:
    """The contracts page from memory for gateway/read_fast_path.py, without the routing: the
    session checked as `page_session` does, the active dossier chosen as the route does (among
    the token's grants), the dossiers' names and the page only if kept. None whenever the
    route has more to do (no or an expired access token, no CSRF cookie yet, a dossier not
    granted, nothing kept): it then answers as always."""
    state = gateway_state(request)
    access_token = cookie(request, ACCESS_COOKIE)
    if not access_token or not cookie(request, CSRF_COOKIE):
        return None
    try:
        claims = state.verifier.verify(access_token)
        active = active_dossier_id(request, claims)
    except ServiceError:
        return None
    if not active:
        return None
    dossiers = kept_dossiers(claims, state.read_model)
    if dossiers is None:
        return None
    note_caller(request.scope.setdefault("state", {}), claims)
    granted, key = _contracts_page_key(claims, active, dossiers)
    return page_renderer(request).kept_page(
        request, state.read_model, granted, key, CONTRACTS_TEMPLATE,
        session=WebSession(claims, cookie(request, REFRESH_COOKIE)))


@router.get("/contracts/{contract_id}")
async def contract_page(request: Request, contract_id: ObjectIdPath, session: PageSession,
                        pages: Pages, rpc: Rpc, back: Back = None) -> Response:
    """A contract: guarantees, risk objects, claims and invoices."""
    context = await _zone(request, session, rpc)
    detail = await _opened(request, rpc, dossier.GET_CONTRACT, session.claims, context,
                           contract_id)
    return pages.render(request, "dossier/contract.html", {
        **context, "detail": detail, "close_to": _close_to(back, "/contracts")}, session=session)


@router.get("/claims")
async def claims_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                      cursor: Cursor = None, sort: SortField = None, order: Order = "desc"
                      ) -> Response:
    """My claims, the newest first unless sorted otherwise."""
    context = await _zone(request, session, rpc)
    listed = await _listed(request, dossier.LIST_CLAIMS, session.claims, context, cursor,
                           sort, order)
    return pages.render(request, "dossier/claims.html", {**context, **listed}, session=session)


@router.get("/claims/{claim_id}")
async def claim_page(request: Request, claim_id: ObjectIdPath, session: PageSession, pages: Pages,
                     rpc: Rpc, back: Back = None) -> Response:
    """A claim: its contract, the risk objects concerned, the insurer's reference, amounts."""
    context = await _zone(request, session, rpc)
    detail = await _opened(request, rpc, dossier.GET_CLAIM, session.claims, context,
                           claim_id)
    return pages.render(request, "dossier/claim.html", {
        **context, "detail": detail, "close_to": _close_to(back, "/claims")}, session=session)


@router.get("/invoices")
async def invoices_page(request: Request, session: PageSession, pages: Pages, rpc: Rpc,
                        cursor: Cursor = None, sort: SortField = None, order: Order = "asc"
                        ) -> Response:
    """My invoices: the open amount at a glance, overdue ones highlighted."""
    context = await _zone(request, session, rpc)
    listed = await _listed(request, dossier.LIST_INVOICES, session.claims, context, cursor,
                           sort, order)
    return pages.render(request, "dossier/invoices.html", {**context, **listed}, session=session)

