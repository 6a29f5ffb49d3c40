"""Admin API for accounts: registrations to decide, disabling, invitations, the audit log.

Every action passes where it came from (client address, user agent) for auth's audit log.
"""

from typing import Annotated

from fastapi import Query, Request
from pydantic import BaseModel, Field

from gateway.api_links import ADMIN, account, answer_links, link
from gateway.deps import ObjectIdPath, Rpc, StaffCaller, origin_of
from gateway.problems import api_router
from libs.contracts import account_lists as lists
from libs.contracts import auth
from libs.contracts.ids import DossierId

router = api_router(prefix="/admin/api/v1", tags=["admin: accounts"])


class ApprovalBody(BaseModel):
    dossier_ids: list[DossierId] = Field(min_length=1, max_length=100)


class RefusalBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


def decisions(kind: str, path: str, id_name: str) -> dict[int | str, dict[str, object]]:
    """The links of a list of things waiting for staff (at `kind`) to accepting and refusing
    its first one."""
    found = f"$response.body#/{kind}/0/{id_name}"
    accept = "approve" if kind == "registrations" else "accept"
    return answer_links(200, **{
        accept.title(): link(f"POST {ADMIN}{path}/{accept}", f"{accept.title()} it",
                             **{id_name: found}),
        "Refuse": link(f"POST {ADMIN}{path}/refuse", "Refuse it, with a reason",
                       **{id_name: found})})


@router.get("/accounts")
async def list_accounts(
    claims: StaffCaller, rpc: Rpc,
    role: lists.AccountRoleFilter | None = None,
    status: lists.AccountStatusFilter | None = None,
    contains: Annotated[str, Query(max_length=100)] = "",
    after: Annotated[str, Query(max_length=lists.MAX_CURSOR)] = "",
    limit: Annotated[int, Query(ge=1, le=lists.MAX_PAGE)] = 50,
) -> lists.AccountPage:
    """Accounts by e-mail address, a page at a time (`after` = `next_after`); agents: clients."""
    return await rpc.call(lists.LIST_ACCOUNTS, lists.ListAccountsRequest(
        caller=claims.caller(), role=role, status=status, contains=contains, after=after,
        limit=limit))


@router.get("/invitations")
async def list_invitations(
    claims: StaffCaller, rpc: Rpc,
    state: lists.InvitationStateFilter | None = None,
    after: Annotated[str, Query(max_length=lists.MAX_CURSOR)] = "",
    limit: Annotated[int, Query(ge=1, le=lists.MAX_PAGE)] = 50,
) -> lists.InvitationPage:
    """Invitations, newest first, a page at a time; resend or revoke them per account."""
    return await rpc.call(lists.LIST_INVITATIONS, lists.ListInvitationsRequest(
        caller=claims.caller(), state=state, after=after, limit=limit))


@router.get("/registrations", responses=decisions(
    "registrations", "/registrations/{registration_id}", "registration_id"))
async def list_registrations(
    claims: StaffCaller, rpc: Rpc,
    status: Annotated[str, Query(pattern="^(awaiting_confirmation|pending|approved|refused)$")]
    = "pending",
) -> auth.RegistrationList:
    """Registrations in a status; by default those waiting for a decision."""
    return await rpc.call(auth.LIST_REGISTRATIONS, auth.ListRegistrationsRequest(
        caller=claims.caller(), status=status))


@router.post("/registrations/{registration_id}/approve")
async def approve_registration(
    registration_id: ObjectIdPath, body: ApprovalBody, claims: StaffCaller, rpc: Rpc,
    request: Request,
) -> auth.RegistrationPublic:
    """Approve a registration and link the account to dossiers; the client is mailed."""
    return await rpc.call(auth.APPROVE_REGISTRATION, auth.ApproveRegistrationRequest(
        caller=claims.caller(), registration_id=registration_id, dossier_ids=body.dossier_ids,
        origin=origin_of(request)))


@router.post("/registrations/{registration_id}/refuse")
async def refuse_registration(
    registration_id: ObjectIdPath, body: RefusalBody, claims: StaffCaller, rpc: Rpc,
    request: Request,
) -> auth.RegistrationPublic:
    """Refuse a registration with a reason; the client is mailed the reason."""
    return await rpc.call(auth.REFUSE_REGISTRATION, auth.RefuseRegistrationRequest(
        caller=claims.caller(), registration_id=registration_id, reason=body.reason,
        origin=origin_of(request)))


@router.post("/users/{user_id}/disable")
async def disable_user(
    user_id: ObjectIdPath, claims: StaffCaller, rpc: Rpc, request: Request
) -> auth.UserPublic:
    """Disable an account: no more logins, and its sessions end now."""
    return await rpc.call(auth.DISABLE_USER, auth.AccountActionRequest(
        caller=claims.caller(), user_id=user_id, origin=origin_of(request)))


@router.post("/users/{user_id}/invitation/resend", status_code=201,
              responses=answer_links(201, **account(invited=True)))
async def resend_invitation(
    user_id: ObjectIdPath, claims: StaffCaller, rpc: Rpc, request: Request
) -> auth.InvitationPublic:
    """Mail a new activation link to an invited client (the older link stops working)."""
    return await rpc.call(auth.RESEND_INVITATION, auth.AccountActionRequest(
        caller=claims.caller(), user_id=user_id, origin=origin_of(request)))


@router.post("/users/{user_id}/invitation/revoke")
async def revoke_invitation(
    user_id: ObjectIdPath, claims: StaffCaller, rpc: Rpc, request: Request
) -> auth.UserPublic:
    """The invited client's activation link stops working."""
    return await rpc.call(auth.REVOKE_INVITATION, auth.AccountActionRequest(
        caller=claims.caller(), user_id=user_id, origin=origin_of(request)))


@router.get("/audit")
async def audit_log(
    claims: StaffCaller, rpc: Rpc, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: auth.AuditActionKind | None = None,
    actor_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    before: Annotated[str | None, Query(pattern=auth.AUDIT_CURSOR_PATTERN)] = None,
) -> auth.AuditLog:
    """Staff actions, newest first: who, what, when, from where (office admin only); by kind
    of action or staff member; `before` is the `next_before` of the previous page."""
    return await rpc.call(auth.LIST_AUDIT, auth.AuditQuery(
        caller=claims.caller(), limit=limit, action_kind=kind, actor_id=actor_id, before=before))


@router.get("/eid-links", responses=decisions("links", "/eid-links/{link_id}", "link_id"))
async def list_eid_links(claims: StaffCaller, rpc: Rpc) -> auth.EidLinkList:
    """Requests to link an eID card to an account, waiting for staff."""
    return await rpc.call(auth.LIST_EID_LINKS, auth.ListEidLinksRequest(caller=claims.caller()))


@router.post("/eid-links/{link_id}/accept")
async def accept_eid_link(
    link_id: ObjectIdPath, claims: StaffCaller, rpc: Rpc, request: Request
) -> auth.EidLinkPublic:
    """Link the card to the client account of the given address; the client is mailed."""
    return await rpc.call(auth.ACCEPT_EID_LINK, auth.AcceptEidLinkRequest(
        caller=claims.caller(), link_id=link_id, origin=origin_of(request)))


@router.post("/eid-links/{link_id}/refuse")
async def refuse_eid_link(
    link_id: ObjectIdPath, body: RefusalBody, claims: StaffCaller, rpc: Rpc, request: Request
) -> auth.EidLinkPublic:
    """Refuse to link the card; the given address is mailed the reason."""
    return await rpc.call(auth.REFUSE_EID_LINK, auth.RefuseEidLinkRequest(
        caller=claims.caller(), link_id=link_id, reason=body.reason,
        origin=origin_of(request)))
