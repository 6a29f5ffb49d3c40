"""The office's lists: every account and every invitation, filtered and read page by page.

Pages are keyset pages (`after` the last row of the previous page), never `skip`: the Mongo-wire
server here is slow to skip. Accounts go by e-mail address (unique); invitations newest first by
their `list_key` (creation moment + id; not an `_id` range, which the server here mismatches
when combined with other conditions). An agent handles clients only: staff accounts are listed
for the office admin.

The cursor becomes a database bound, so it is signed (`libs.servicekit.cursor_signing`) for its
list and filters: a cursor auth did not make for this list is refused (422) and logged as a
tampering attempt. Whatever the query matched, an agent never gets a staff account back.
"""

from collections.abc import Callable
from datetime import datetime

from libs.contracts import account_lists as lists
from libs.contracts.caller import STAFF_ROLES, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.access import require_staff
from libs.servicekit.cursor_signing import CursorSigner
from libs.servicekit.errors import Forbidden
from libs.servicekit.keyset import ListCursors
from services.auth.accounts.store import AuthStore
from services.auth.domain import UserStatus, listed_invitation_state

STAFF_ONLY = "Only the office admin sees staff accounts."


def _roles(role: lists.AccountRoleFilter | None, caller_role: Role) -> list[str]:
    """The roles a list may show: an agent's lists hold clients only."""
    wanted = ([r.value for r in Role] if role is None else
              sorted(r.value for r in STAFF_ROLES) if role == "staff" else [role])
    if caller_role is Role.ADMIN:
        return wanted
    if role is not None and role != Role.CLIENT.value:
        raise Forbidden(STAFF_ONLY)
    return [Role.CLIENT.value]


class AccountListHandlers:
    """LIST_ACCOUNTS and LIST_INVITATIONS for the office pages and the admin API."""

    def __init__(
        self, store: AuthStore, signer: CursorSigner, *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._accounts = ListCursors(signer, "accounts", parameter="after")
        self._invitations = ListCursors(signer, "invitations", parameter="after")
        self._clock = clock

    async def list_accounts(self, request: lists.ListAccountsRequest) -> lists.AccountPage:
        """A page of accounts by e-mail address, with the role, status and text filters."""
        require_staff(request.caller)
        roles = _roles(request.role, request.caller.role)
        text = request.contains.strip()
        scope = (request.role or "", request.status or "", text)
        found = await self._store.accounts_page(
            roles=roles, status=None if request.status is None else UserStatus(request.status),
            contains=text, limit=request.limit,
            after_email=self._accounts.open_text(request.after, *scope, caller=request.caller)
            if request.after else None)
        more = len(found) > request.limit
        found = found[:request.limit]
        # The last check, whatever the query matched: an agent's page holds no staff account.
        accounts = [account.public() for account in found if account.role.value in roles]
        return lists.AccountPage(accounts=accounts, next_after=self._accounts.sign(
            found[-1].email.encode(), *scope) if more else None)

    async def list_invitations(
        self, request: lists.ListInvitationsRequest
    ) -> lists.InvitationPage:
        """A page of invitations, newest first, in one state or all."""
        require_staff(request.caller)
        now = self._clock()
        scope = (request.state or "",)
        found = await self._store.invitations_page(
            state=request.state, limit=request.limit, now=now,
            before_key=self._invitations.open_text(request.after, *scope,
                                                   caller=request.caller)
            if request.after else None)
        more = len(found) > request.limit
        found = found[:request.limit]
        accounts = await self._store.accounts_by_id(
            list({invitation.user_id for invitation in found}))
        invitations = []
        for invitation in found:
            account = accounts.get(invitation.user_id)
            invitations.append(lists.InvitationSummary(
                invitation_id=invitation.invitation_id, user_id=invitation.user_id,
                email=invitation.email, display_name=account.display_name if account else "",
                state=listed_invitation_state(invitation.expires_at, invitation.used_at,
                                              invitation.ended, now),
                created_at=invitation.created_at, expires_at=invitation.expires_at,
                used_at=invitation.used_at,
                account_status=account.status.value if account else "deleted"))
        return lists.InvitationPage(invitations=invitations, next_after=self._invitations.sign(
            found[-1].list_key.encode(), *scope) if more else None)
