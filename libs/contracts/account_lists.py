"""Contracts of the office's lists: every account (clients and staff) and every invitation,
filtered and read page by page (keyset cursors: the server here is slow to skip)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from libs.contracts.auth import UserPublic
from libs.contracts.caller import Caller
from libs.contracts.paging import MAX_CURSOR as MAX_CURSOR
from libs.contracts.rpc import RpcMethod
from libs.contracts.shown_names import ShownName

AccountRoleFilter = Literal["client", "agent", "admin", "staff"]
AccountStatusFilter = Literal["invited", "active", "pending", "disabled"]
InvitationStateFilter = Literal["pending", "used", "expired", "revoked"]
MAX_PAGE = 200


class ListAccountsRequest(BaseModel):
    """Staff list accounts, sorted by e-mail address; an agent sees client accounts only."""

    caller: Caller
    role: AccountRoleFilter | None = None
    status: AccountStatusFilter | None = None
    contains: str = Field(default="", max_length=100,
                          description="Part of the e-mail address or of the name (any case)")
    after: str = Field(default="", max_length=MAX_CURSOR,
                       description="Cursor: `next_after` of the previous page of the same "
                       "filters (opaque and signed; any other is refused: 422)")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class AccountPage(BaseModel):
    """One page of accounts; `next_after` is None on the last page."""

    accounts: list[UserPublic]
    next_after: str | None = None


class ListInvitationsRequest(BaseModel):
    """Staff list the invitations, newest first."""

    caller: Caller
    state: InvitationStateFilter | None = None
    after: str = Field(default="", max_length=MAX_CURSOR,
                       description="Cursor: `next_after` of the previous page of the same "
                       "state filter (opaque and signed; any other is refused: 422)")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class InvitationSummary(BaseModel):
    """An invitation as the office list shows it (never its token)."""

    invitation_id: str
    user_id: str
    email: str
    display_name: ShownName
    state: InvitationStateFilter
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    account_status: str = Field(description="The invited account's status now")


class InvitationPage(BaseModel):
    """One page of invitations; `next_after` is None on the last page."""

    invitations: list[InvitationSummary]
    next_after: str | None = None


LIST_ACCOUNTS = RpcMethod("auth.rpc.list_accounts", ListAccountsRequest, AccountPage)
LIST_INVITATIONS = RpcMethod("auth.rpc.list_invitations", ListInvitationsRequest, InvitationPage)
