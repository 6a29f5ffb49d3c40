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

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import account_lists as lists
from libs.contracts.caller import STAFF_ROLES, Caller, Role
from libs.contracts.envelope import utc_now
from libs.servicekit.access import require_staff
from libs.servicekit.cursor_signing import REFUSED, CursorRefused, CursorSigner
from libs.servicekit.errors import Forbidden
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document, stored_utc
from services.auth.domain import UserStatus, cut_short, listed_invitation_state
from services.auth.store import INVITATIONS, USERS, account_of, invitation_list_key

log = get_logger(__name__)
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


def _state_filter(state: lists.InvitationStateFilter | None, now: datetime) -> Document:
    # `ended: None` also matches invitations stored before the field existed.
    if state == "used":
        return {"used_at": {"$ne": None}}
    if state == "revoked":
        return {"used_at": None, "ended": {"$ne": None}}
    if state == "expired":
        return {"used_at": None, "ended": None, "expires_at": {"$lte": now}}
    if state == "pending":
        return {"used_at": None, "ended": None, "expires_at": {"$gt": now}}
    return {}


class AccountListHandlers:
    """LIST_ACCOUNTS and LIST_INVITATIONS for the office pages and the admin API."""

    def __init__(
        self, database: AsyncDatabase[Document], signer: CursorSigner, *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._users = database[USERS]
        self._invitations = database[INVITATIONS]
        self._signer = signer
        self._clock = clock

    def _boundary(self, caller: Caller, after: str, *context: str) -> str:
        """The row a cursor leads past, if auth made it for this list and these filters."""
        try:
            return self._signer.verify(after, *context).decode()
        except (CursorRefused, UnicodeDecodeError):
            log.warning("page cursor refused: forged, edited or made for another list",
                        alert="cursor_tampering", user_id=caller.user_id,
                        role=caller.role.value, list=context[0])
            raise CursorRefused(REFUSED, fields={"after": "not a cursor of this list"}) from None

    async def ensure_indexes(self) -> None:
        """The invitations' sort key and end reason, given to invitations stored before they
        existed."""
        await self._invitations.create_index("list_key")
        async for doc in self._invitations.find({"list_key": None}, {"created_at": 1}):
            key = invitation_list_key(stored_utc(doc["created_at"]), doc["_id"])
            await self._invitations.update_one({"_id": doc["_id"]}, {"$set": {"list_key": key}})
        await self._record_early_ends()

    async def _record_early_ends(self) -> None:
        """Links revoked or replaced before `ended` was recorded only had their `expires_at`
        moved to that moment: they read as expired yet matched no filter (that `$set` date
        reads back as a string here). Their early end shows them for what they are."""
        # `ended` has no index: the server here matches a missing unindexed field rightly.
        old = self._invitations.find({"ended": {"$exists": False}},
                                     {"created_at": 1, "expires_at": 1, "used_at": 1})
        async for doc in old:
            revoked = doc.get("used_at") is None and cut_short(
                stored_utc(doc["created_at"]), stored_utc(doc["expires_at"]))
            await self._invitations.update_one(
                {"_id": doc["_id"]}, {"$set": {"ended": "revoked" if revoked else None}})

    async def list_accounts(self, request: lists.ListAccountsRequest) -> lists.AccountPage:
        """A page of accounts by e-mail address, with the role, status and text filters."""
        require_staff(request.caller)
        roles = _roles(request.role, request.caller.role)
        query: dict[str, Any] = {"role": {"$in": roles}}
        if request.status is not None:
            query["status"] = UserStatus(request.status).value
        text = request.contains.strip()
        context = ("accounts", request.role or "", request.status or "", text)
        if request.after:
            query["email"] = {"$gt": self._boundary(request.caller, request.after, *context)}
        if text:
            pattern = {"$regex": re.escape(text), "$options": "i"}  # typed text, not a regex
            query["$or"] = [{"email": pattern}, {"display_name": pattern}]
        cursor = self._users.find(query).sort("email", 1).limit(request.limit + 1)
        found = [account_of(doc) async for doc in cursor]
        more = len(found) > request.limit
        found = found[:request.limit]
        # The last check, whatever the query matched: an agent's page holds no staff account.
        accounts = [account.public() for account in found if account.role.value in roles]
        return lists.AccountPage(accounts=accounts, next_after=self._signer.sign(
            found[-1].email.encode(), *context) if more else None)

    async def list_invitations(
        self, request: lists.ListInvitationsRequest
    ) -> lists.InvitationPage:
        """A page of invitations, newest first, in one state or all."""
        require_staff(request.caller)
        now = self._clock()
        query = _state_filter(request.state, now)
        context = ("invitations", request.state or "")
        if request.after:
            query["list_key"] = {"$lt": self._boundary(request.caller, request.after, *context)}
        cursor = self._invitations.find(query).sort("list_key", -1).limit(request.limit + 1)
        docs = [doc async for doc in cursor]
        more = len(docs) > request.limit
        docs = docs[:request.limit]
        user_ids = list({doc["user_id"] for doc in docs})
        accounts = {doc["_id"]: account_of(doc)
                    async for doc in self._users.find({"_id": {"$in": user_ids}})}
        invitations = []
        for doc in docs:
            account = accounts.get(doc["user_id"])
            expires_at = stored_utc(doc["expires_at"])
            used_at = None if doc.get("used_at") is None else stored_utc(doc["used_at"])
            invitations.append(lists.InvitationSummary(
                invitation_id=doc["_id"], user_id=doc["user_id"], email=doc["email"],
                display_name=account.display_name if account else "",
                state=listed_invitation_state(expires_at, used_at, doc.get("ended"), now),
                created_at=stored_utc(doc["created_at"]), expires_at=expires_at,
                used_at=used_at, account_status=account.status.value if account else "deleted"))
        return lists.InvitationPage(invitations=invitations, next_after=self._signer.sign(
            docs[-1]["list_key"].encode(), *context) if more else None)
