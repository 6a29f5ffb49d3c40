"""Privacy pages: "Wie bekeek mijn dossier" for the client, the access log for the staff (an
agent their own reads, the office admin everyone's), the office admin's dossier erasures with
each service's progress and the report, and a client deleting their own login."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import DossierIdPath, Rpc, origin_of
from gateway.web.admin_pages import office_admin, office_page, refusal_message, staff_only
from gateway.web.pages import CsrfChecked, Pages, PageSession, active_dossier_id, dossier_choices
from gateway.web.rendering import _mark
from gateway.web.session import AUTH_COOKIES, queue_cookie_deletion
from libs.contracts import privacy
from libs.contracts.caller import Role
from libs.servicekit.errors import Invalid, NotFound, ServiceError
from libs.servicekit.logs import correlation_id

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Before = Annotated[str, Query(max_length=200)]
# What a read was, from its route, for people: the first rule whose words all occur wins.
READ_LABELS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("documents", "/file"), _mark("Downloaded a document")),
    (("signed-document",), _mark("Downloaded a signed document")),
    (("documents",), _mark("Viewed a document")),
    (("client-sheet",), _mark("Viewed the client sheet")),
    (("signature",), _mark("Viewed a signature request")),
    (("request",), _mark("Viewed a request")),
    (("desk",), _mark("Viewed a request")),
    (("{dossier_id}",), _mark("Viewed the dossier")),
)


def read_label(route_kind: str) -> str:
    """What a read was, in words (untranslated msgid)."""
    for words, label in READ_LABELS:
        if all(word in route_kind for word in words):
            return label
    return _mark("Viewed a list")


@router.get("/access-log")
async def client_access_log_page(request: Request, session: PageSession, pages: Pages,
                                 rpc: Rpc, before: Before = "") -> Response:
    """"Wie bekeek mijn dossier": which staff member read what of the active dossier, when."""
    claims = session.claims
    active = active_dossier_id(request, claims)
    reads: list[privacy.StaffRead] = []
    next_before = None
    if active:
        log = await rpc.call(privacy.LIST_STAFF_READS, privacy.StaffReadQuery(
            caller=claims.caller(), dossier_id=active, before=before or None,
            limit=PAGE_SIZE))
        reads, next_before = log.reads, log.next_before
    return pages.render(request, "privacy/access_log.html", {
        "dossiers": await dossier_choices(rpc, claims), "active": active, "reads": reads,
        "read_label": read_label,
        "next_page": None if next_before is None else
        "/access-log?" + urlencode({"before": next_before})}, session=session)


@router.get("/admin/access-log")
async def staff_access_log_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, before: Before = "",
    dossier: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The staff reads of dossiers, newest first: an agent their own, the admin everyone's."""
    caller = staff_only(session).claims.caller()
    try:
        query = privacy.StaffReadQuery(caller=caller, dossier_id=dossier or None,
                                       before=before or None, limit=PAGE_SIZE)
    except ValidationError:  # an edited address: the first page, unfiltered
        return pages.redirect(request, "/admin/access-log")
    log = await rpc.call(privacy.LIST_STAFF_READS, query)
    shown = {"dossier": dossier} if dossier else {}
    return office_page(pages, request, session, "privacy/staff_access_log.html", {
        "reads": log.reads, "dossier": dossier, "everyone": caller.role is Role.ADMIN,
        "read_label": read_label,
        "next_page": None if log.next_before is None else
        "/admin/access-log?" + urlencode({**shown, "before": log.next_before})})


@router.get("/admin/erasures")
async def erasures_page(request: Request, session: PageSession, pages: Pages,
                        rpc: Rpc, dossier: Annotated[str, Query(max_length=64)] = "",
                        ) -> Response:
    """The dossier erasures and the form to start one (office admin)."""
    caller = office_admin(session).claims.caller()
    listed = await rpc.call(privacy.LIST_DOSSIER_ERASURES, privacy.ErasureListQuery(
        caller=caller))
    return office_page(pages, request, session, "privacy/erasures.html", {
        "erasures": listed.erasures, "error": None, "dossier": dossier[:64]})


@router.post("/admin/erasures", dependencies=[CsrfChecked])
async def start_erasure(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    dossier_id: Annotated[str, Form(max_length=64)] = "",
    confirmed: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Close and erase a whole dossier in every service; then its progress page."""
    caller = office_admin(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    error, status = None, 422
    if not confirmed:
        error = _("Tick the box to confirm that the dossier and everything of it is erased.")
    else:
        try:
            erasure_request = privacy.DossierErasureRequest(
                caller=caller, dossier_id=dossier_id.strip(), origin=origin_of(request),
                correlation_id=correlation_id.get())
        except ValidationError:
            error = _("This item does not exist (any more). Check what you typed.")
        else:
            try:
                started = await rpc.call(privacy.REQUEST_DOSSIER_ERASURE, erasure_request)
            except ServiceError as refused:
                error, status = refusal_message(refused, _)
            else:
                return pages.redirect(request, f"/admin/erasures/{started.dossier_id}")
    listed = await rpc.call(privacy.LIST_DOSSIER_ERASURES, privacy.ErasureListQuery(
        caller=caller))
    return office_page(pages, request, session, "privacy/erasures.html", {
        "erasures": listed.erasures, "error": error, "dossier": dossier_id},
        status_code=status)


@router.get("/admin/erasures/{dossier_id}")
async def erasure_page(dossier_id: DossierIdPath, request: Request, session: PageSession,
                       pages: Pages, rpc: Rpc) -> Response:
    """One erasure: each service's progress, then what was deleted and what was kept."""
    caller = office_admin(session).claims.caller()
    try:
        erasure = await rpc.call(privacy.GET_DOSSIER_ERASURE, privacy.DossierErasureQuery(
            caller=caller, dossier_id=dossier_id))
    except NotFound:  # not erased (yet): the form to erase it, with its number filled in
        return await erasures_page(request, session, pages, rpc, dossier=dossier_id)
    return office_page(pages, request, session, "privacy/erasure.html", {"erasure": erasure})


@router.get("/account/delete-login")
async def delete_login_page(request: Request, session: PageSession, pages: Pages) -> Response:
    """The form to delete one's own login (the dossier stays the office's)."""
    return pages.render(request, "privacy/delete_login.html", {"error": None},
                        session=session)


@router.post("/account/delete-login", dependencies=[CsrfChecked])
async def delete_login(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Delete the login after the password is confirmed; signed out everywhere."""
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(privacy.DELETE_OWN_LOGIN, privacy.OwnLoginDeletion(
            caller=session.claims.caller(), password=password or "-"))
    except Invalid:
        return pages.render(request, "privacy/delete_login.html", {
            "error": _("The password is not correct.")}, session=session, status_code=422)
    queue_cookie_deletion(request, *AUTH_COOKIES)
    return pages.render(request, "privacy/login_deleted.html", {}, session=None)
