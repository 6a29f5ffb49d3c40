"""The office's request desk: every request and message of every dossier in one inbox, and the
detail page of one request (what the client sent, the thread, the timeline, the internal notes
and the actions; the actions themselves are in admin_desk_actions).

The inbox is the requests service's DESK_LIST: overdue first, then by how close each request
is to its target; keyset pages along the service's signed cursor (a cursor it refuses - edited,
outdated, made for other filters - shows the first page with a notice). The menu entry of the
office pages shows how many requests the office has not read yet (/admin/desk/new-count,
fetched by htmx when a page loads, so no office page waits for the requests service).
"""

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.access_log import note_dossier_read
from gateway.config import GatewaySettings
from gateway.deps import ObjectIdPath, Rpc, RpcCaller, gateway_state
from gateway.web.admin_pages import office_page, staff_only
from gateway.web.desk_view import (
    ABOUT_NAMES,
    KIND_NAMES,
    STATUS_NAMES,
    STEP_NAMES,
    allowed_moves,
    form_sections,
    request_title,
)
from gateway.web.dossier_numbers import malformed_numbers, printable
from gateway.web.i18n import format_day
from gateway.web.pages import Pages, PageSession
from gateway.web.rendering import _mark
from gateway.web.session import WebSession
from libs.contracts import auth, requests
from libs.contracts.caller import Caller
from libs.contracts.ids import ID_MAX_LENGTH, ID_PATTERN
from libs.servicekit.errors import Invalid, Unavailable

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
AGES = (1, 2, 5, 10, 30)  # the "older than N days" choices of the filter
OPEN = "open"  # the status filter's default: pending and in progress
ALL = "all"
NEW_COUNT_LIMIT = 99  # the menu says "99+" beyond this
OUTDATED = _mark("That page link is out of date, so here is the first page of the list.")
Cursor = Annotated[str, Query(max_length=requests.MAX_CURSOR)]

# What the detail page says after an action went through (?done=<key> after the redirect).
DONE: dict[str, str] = {
    "taken": _mark("You took the request in progress; it is assigned to you."),
    "assigned": _mark("The request is assigned to your colleague."),
    "answered": _mark("Your answer is sent; the client is told by e-mail."),
    "accepted": _mark("The request is accepted; the client is told by e-mail."),
    "refused": _mark("The request is refused; the client is told the reason by e-mail."),
    "closed": _mark("The request is closed."),
    "pending": _mark("The request is released: it is pending again, for anyone to take."),
    "noted": _mark("The note is saved. The client never sees it."),
}


def attachment_limits(settings: GatewaySettings) -> dict[str, Any]:
    """The client attachments' limits, which an office answer's files keep too (the client
    sees them in the same thread): numbers for the page's script and its texts."""
    return {"count": settings.attachment_max_files,
            "max_bytes": settings.attachment_max_bytes,
            "max_total": settings.attachment_max_total_bytes,
            "file_size": settings.attachment_max_bytes // (1024 * 1024),
            "total_size": settings.attachment_max_total_bytes // (1024 * 1024)}


async def staff_members(rpc: RpcCaller, caller: Caller) -> list[auth.StaffMember]:
    """The office's active staff (to assign a request to); none while auth is away."""
    try:
        return (await rpc.call(auth.LIST_STAFF, auth.StaffDirectoryRequest(caller=caller))).staff
    except Unavailable:
        return []


def _desk_filters(status: str, kind: str, assignee: str, age: str) -> dict[str, Any]:
    """The filters of the address, each ignored when it is not one of its choices (an old
    bookmark, an edited address)."""
    statuses = {s.value for s in requests.RequestStatus}
    ages = {str(days) for days in AGES}
    return {
        "status": status if status in statuses or status == ALL else OPEN,
        "kind": kind if kind in {k.value for k in requests.RequestKind} else "",
        "assignee": assignee if len(assignee) <= ID_MAX_LENGTH
        and re.fullmatch(ID_PATTERN, assignee) else "",
        "age": age if age in ages else "",
    }


def _query(caller: Caller, filters: dict[str, Any], dossier_id: str, cursor: str
           ) -> requests.DeskQuery:
    status = filters["status"]
    return requests.DeskQuery(
        caller=caller, open_only=status == OPEN,
        status=None if status in (OPEN, ALL) else requests.RequestStatus(status),
        kind=requests.RequestKind(filters["kind"]) if filters["kind"] else None,
        dossier_id=dossier_id or None, assignee=filters["assignee"] or None,
        older_than_days=int(filters["age"]) if filters["age"] else None,
        limit=PAGE_SIZE, cursor=cursor or None)


def _address(filters: dict[str, Any], dossier_id: str, cursor: str = "") -> str:
    shown = {key: value for key, value in filters.items() if value and value != OPEN}
    if dossier_id:
        shown["dossier_id"] = dossier_id
    if cursor:
        shown["cursor"] = cursor
    return "/admin/desk" + (f"?{urlencode(shown)}" if shown else "")


def names(pages: Pages, request: Request, session: WebSession) -> dict[str, Any]:
    """The translated names of kinds, statuses, timeline steps and subjects for a template."""
    _ = pages.gettext(pages.language(request, session))
    return {
        "kind_names": {key: _(text) for key, text in KIND_NAMES.items()},
        "status_names": {key: _(text) for key, text in STATUS_NAMES.items()},
        "step_names": {key: _(text) for key, text in STEP_NAMES.items()},
        "about_names": {key: _(text) for key, text in ABOUT_NAMES.items()},
    }


@router.get("/admin/desk")
async def desk_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    status: Annotated[str, Query(max_length=20)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    dossier_id: Annotated[str, Query(max_length=100)] = "",
    assignee: Annotated[str, Query(max_length=100)] = "",
    age: Annotated[str, Query(max_length=4)] = "",
    cursor: Cursor = "",
) -> Response:
    """The inbox of every dossier's requests: overdue first, then closest to their target."""
    caller = staff_only(session).claims.caller()
    _ = pages.gettext(pages.language(request, session))
    filters = _desk_filters(status, kind, assignee, age)
    dossier = dossier_id.strip()
    context: dict[str, Any] = {
        "filters": filters, "dossier_id": printable(dossier), "items": [], "error": None,
        "dossier_error": None, "ages": AGES, "me": caller.user_id,
        "staff": await staff_members(rpc, caller), "is_first_page": not cursor,
        "first_page": _address(filters, dossier), "next_page": None,
        **names(pages, request, session)}
    status_code = 200
    if dossier and (malformed := malformed_numbers([dossier], _)) is not None:
        context["dossier_error"], status_code = malformed, 422
        context["is_first_page"] = True
    else:
        try:
            page = await rpc.call(requests.DESK_LIST, _query(caller, filters, dossier, cursor))
        except Invalid:
            if not cursor:
                raise
            page = await rpc.call(requests.DESK_LIST, _query(caller, filters, dossier, ""))
            context.update(error=_(OUTDATED), is_first_page=True)
        context["items"] = page.items
        if page.next_cursor:
            context["next_page"] = _address(filters, dossier, page.next_cursor)
    return office_page(pages, request, session, "admin/desk.html", context,
                       status_code=status_code)


@router.get("/admin/desk/new-count")
async def desk_new_count(request: Request, session: PageSession, pages: Pages, rpc: Rpc
                         ) -> Response:
    """The menu's badge: how many requests the office has not read yet (empty when none, or
    while the requests service is away: the badge is a help, the desk is the truth)."""
    caller = staff_only(session).claims.caller()
    try:
        page = await rpc.call(requests.DESK_LIST, requests.DeskQuery(
            caller=caller, unread_only=True, limit=NEW_COUNT_LIMIT))
    except Unavailable:
        return pages.finish(request, HTMLResponse(""))
    return pages.render(request, "admin/_desk_count.html", {
        "count": len(page.items), "more": page.next_cursor is not None}, session=session)


async def detail_page(
    request: Request, session: WebSession, pages: Pages, rpc: RpcCaller, request_id: str, *,
    mark_read: bool = True, error: str | None = None, status_code: int = 200,
    typed: dict[str, str] | None = None, done: str = "",
) -> Response:
    """The detail page of one request; after a refused action, with the message and what the
    staff member had typed."""
    caller = session.claims.caller()
    _ = pages.gettext(pages.language(request, session))
    language = pages.language(request, session)
    found = await rpc.call(requests.DESK_GET, requests.DeskGetQuery(
        caller=caller, request_id=request_id, mark_read=mark_read))
    note_dossier_read(request.scope.setdefault("state", {}), found.dossier_id)
    first = found.entries[0] if found.entries else None
    answers = found.entries[1:]
    return office_page(pages, request, session, "admin/desk_request.html", {
        "item": found, "title": request_title(found.kind, found.subject, _),
        "sections": form_sections(found.kind, found.form, _,
                                  lambda value: format_day(value, language)),
        "first": first, "answers": answers, "me": caller.user_id,
        "moves": allowed_moves(found.status), "staff": await staff_members(rpc, caller),
        "typed": typed or {}, "error": error,
        "limits": attachment_limits(gateway_state(request).settings),
        "notice": _(DONE[done]) if done in DONE else None,
        **names(pages, request, session)}, status_code=status_code)


@router.get("/admin/desk/{request_id}")
async def desk_request_page(
    request_id: ObjectIdPath, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """One request: what the client sent, the thread, the timeline, the internal notes and
    what the office can do with it; opening it marks it read for the office."""
    staff_only(session)
    return await detail_page(request, session, pages, rpc, request_id, done=done)

