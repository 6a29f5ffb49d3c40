"""The office's list pages: every account (filters: role, status, text), every invitation
(pending, used, expired, revoked) with resend and revoke, and the audit log (filters: kind of
action, staff member). Pages follow auth's keyset cursor ("next page" carries `after`, or
`before` for the audit log); an account row links to the account page of /admin/accounts. A
page link whose cursor auth refuses (damaged, edited, or made for other filters) shows the
first page with a notice, as the client's lists do.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.deps import Rpc, origin_of
from gateway.web.admin_pages import office_admin, office_page, refusal_message, staff_only
from gateway.web.audit_view import ACTION_KINDS, audit_line
from gateway.web.pages import CsrfChecked, Pages, PageSession
from libs.contracts import account_lists as lists
from libs.contracts import auth
from libs.contracts.caller import Role
from libs.servicekit.errors import Invalid, ServiceError

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
OUTDATED = "That page link is out of date, so here is the first page of the list."
PageT = TypeVar("PageT")
Cursor = Annotated[str, Query(max_length=lists.MAX_CURSOR)]


async def _page_or_first(read: Callable[[str], Awaitable[PageT]], after: str
                         ) -> tuple[PageT, str, bool]:
    """The page `after` leads to; the first one when auth refuses the cursor (outdated)."""
    try:
        return await read(after), after, False
    except Invalid:
        if not after:
            raise
        return await read(""), "", True


def _choice(value: str, allowed: tuple[str, ...]) -> str | None:
    """A filter from the query string: one of `allowed`, else no filter (a stale bookmark)."""
    return value if value in allowed else None


@router.get("/admin/account-list")
async def account_list_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    role: str = "", status: str = "",
    contains: Annotated[str, Query(max_length=100)] = "",
    after: Cursor = "",
) -> Response:
    """All accounts by e-mail address; the office admin also sees staff accounts."""
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    is_admin = session.claims.role == Role.ADMIN
    roles = get_args(lists.AccountRoleFilter) if is_admin else ("client",)
    filters: dict[str, Any] = {"role": _choice(role, roles),
                               "status": _choice(status, get_args(lists.AccountStatusFilter)),
                               "contains": contains.strip()}

    async def read(cursor: str) -> lists.AccountPage:
        return await rpc.call(lists.LIST_ACCOUNTS, lists.ListAccountsRequest(
            caller=session.claims.caller(), after=cursor, limit=PAGE_SIZE, **filters))

    listed, after, outdated = await _page_or_first(read, after)
    shown = {key: value for key, value in filters.items() if value}
    return office_page(pages, request, session, "admin/account_list.html", {
        "accounts": listed.accounts, "filters": filters, "roles": roles,
        "statuses": get_args(lists.AccountStatusFilter), "is_first_page": not after,
        "first_page": "/admin/account-list?" + urlencode(shown),
        "next_page": None if listed.next_after is None else
        "/admin/account-list?" + urlencode({**shown, "after": listed.next_after}),
        "error": _(OUTDATED) if outdated else None})


async def _invitation_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, *, state: str = "",
    after: str = "", done: str = "", error: str | None = None, status_code: int = 200,
) -> Response:
    chosen = _choice(state, get_args(lists.InvitationStateFilter))

    async def read(cursor: str) -> lists.InvitationPage:
        return await rpc.call(lists.LIST_INVITATIONS, lists.ListInvitationsRequest(
            caller=session.claims.caller(), state=chosen, after=cursor, limit=PAGE_SIZE))

    listed, after, outdated = await _page_or_first(read, after)
    if outdated and error is None:
        error = pages.gettext(pages.language(request, session))(OUTDATED)
    shown = {"state": chosen} if chosen else {}
    return office_page(pages, request, session, "admin/invitations.html", {
        "invitations": listed.invitations, "state": chosen or "",
        "states": get_args(lists.InvitationStateFilter), "is_first_page": not after,
        "first_page": "/admin/invitations?" + urlencode(shown),
        "next_page": None if listed.next_after is None else
        "/admin/invitations?" + urlencode({**shown, "after": listed.next_after}),
        "error": error}, status_code=status_code, done=done)


@router.get("/admin/invitations")
async def invitations_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, state: str = "",
    after: Cursor = "", done: str = "",
) -> Response:
    """Every invitation, newest first, with its state; resend or revoke an open one."""
    return await _invitation_page(request, staff_only(session), pages, rpc, state=state,
                                  after=after, done=done)


async def _invitation_action(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc, user_id: str,
    method: Any, done: str,
) -> Response:
    staff_only(session)
    _ = pages.gettext(pages.language(request, session))
    try:
        await rpc.call(method, auth.AccountActionRequest(
            caller=session.claims.caller(), user_id=user_id, origin=origin_of(request)))
    except ServiceError as refused:
        message, status = refusal_message(refused, _)
        return await _invitation_page(request, session, pages, rpc, error=message,
                                      status_code=status)
    return pages.redirect(request, f"/admin/invitations?done={done}")


@router.post("/admin/invitations/{user_id}/resend", dependencies=[CsrfChecked])
async def resend_listed_invitation(
    user_id: str, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """Mail the invited client a new link; the older one stops working."""
    return await _invitation_action(request, session, pages, rpc, user_id,
                                    auth.RESEND_INVITATION, "resent")


@router.post("/admin/invitations/{user_id}/revoke", dependencies=[CsrfChecked])
async def revoke_listed_invitation(
    user_id: str, request: Request, session: PageSession, pages: Pages, rpc: Rpc,
) -> Response:
    """The invited client's link stops working."""
    return await _invitation_action(request, session, pages, rpc, user_id,
                                    auth.REVOKE_INVITATION, "revoked")


@router.get("/admin/audit")
async def audit_page(
    request: Request, session: PageSession, pages: Pages, rpc: Rpc,
    kind: str = "", actor: Annotated[str, Query(max_length=32)] = "",
    before: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    """Who did what, when, from which device: the staff actions, newest first (office admin)."""
    caller = office_admin(session).claims.caller()
    filters = {"kind": _choice(kind, get_args(auth.AuditActionKind)), "actor": actor or None}
    try:
        log = await rpc.call(auth.LIST_AUDIT, auth.AuditQuery(
            caller=caller, limit=PAGE_SIZE, action_kind=filters["kind"],
            actor_id=filters["actor"], before=before or None))
    except ValidationError:  # a stale or edited address: the log's first page, unfiltered
        return pages.redirect(request, "/admin/audit")
    translate = pages.gettext(pages.language(request, session))
    shown = {key: value for key, value in filters.items() if value}
    return office_page(pages, request, session, "admin/audit.html", {
        "lines": [audit_line(entry, translate) for entry in log.entries], "staff": log.staff,
        "kinds": ACTION_KINDS, "filters": filters, "is_first_page": not before,
        "first_page": "/admin/audit?" + urlencode(shown),
        "next_page": None if log.next_before is None else
        "/admin/audit?" + urlencode({**shown, "before": log.next_before})})
