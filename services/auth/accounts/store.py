"""MongoDB access for accounts: users, invitations and grant revocations (each with outbox).

Two quirks of the Mongo-wire server used here shape the code: a top-level datetime written with
`$set` comes back as a naive "YYYY-MM-DD HH:MM:SS" string (so every read goes through `_utc`), and
an equality match on an indexed array field finds nothing (so array lookups use `$in`).
"""

import re
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.auth import (
    GrantRevoked,
    InvitationCreated,
    PasswordChanged,
    RevokedGrant,
)
from libs.contracts.caller import STAFF_ROLES, Role
from libs.servicekit.mongo import Document, stored_utc
from libs.servicekit.outbox import PENDING_COUNT_FIELD, new_document_events, record_events
from services.auth.domain import Account, UserStatus, cut_short

USERS = "users"
INVITATIONS = "invitations"
GRANT_REVOCATIONS = "grant_revocations"
# Users carry PasswordChanged (password resets, with PasswordResetRequested, are the passwords
# store's; sessions, with their SessionRevoked, the sessions store's).
OUTBOX_COLLECTIONS = [INVITATIONS, USERS]

# Kept past their end so a late question about them still finds them.
INVITATION_RETENTION = timedelta(days=30)
# Far longer than any access token lives: a gateway asking "since" always finds them.
REVOCATION_RETENTION = timedelta(days=1)


def invitation_list_key(created_at: datetime, invitation_id: str) -> str:
    """The office list's sort key: newest first by creation, unique by id (a keyset cursor)."""
    return f"{created_at.strftime('%Y%m%dT%H%M%S.%f')}|{invitation_id}"


def _optional_utc(value: Any) -> datetime | None:
    return None if value is None else stored_utc(value)


def account_of(doc: Document) -> Account:
    """The account a `users` document stores."""
    return Account(
        user_id=doc["_id"], email=doc["email"], display_name=doc["display_name"],
        role=Role(doc["role"]), status=UserStatus(doc["status"]),
        language=doc.get("language", "nl"), dossier_ids=list(doc.get("dossier_ids") or []),
        password_hash=doc.get("password_hash"),
        trusted_devices=list(doc.get("trusted_devices") or []),
    )


class StoredInvitation:
    """An invitation as stored: the token only as its hash."""

    def __init__(self, doc: Document) -> None:
        self.invitation_id: str = doc["_id"]
        self.user_id: str = doc["user_id"]
        self.email: str = doc["email"]
        self.created_at = stored_utc(doc["created_at"])
        self.expires_at = stored_utc(doc["expires_at"])
        self.used_at = _optional_utc(doc.get("used_at"))
        self.ended: str | None = doc.get("ended")
        self.list_key: str = doc.get("list_key") or invitation_list_key(
            self.created_at, self.invitation_id)


def _invitation_state_filter(state: str | None, now: datetime) -> Document:
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


class AuthStore:
    """Users and invitations, one document each."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._users = database[USERS]
        self._invitations = database[INVITATIONS]

    async def ensure_indexes(self) -> None:
        """Indexes the queries below rely on; unique ones enforce the rules."""
        await self._users.create_index("email", unique=True)
        await self._users.create_index("role")
        await self._users.create_index("dossier_ids")
        await self._invitations.create_index("token_hash", unique=True)
        await self._invitations.create_index("user_id")
        await self._invitations.create_index("purge_at", expireAfterSeconds=0)
        for collection in (self._invitations, self._users):
            await collection.create_index(PENDING_COUNT_FIELD)

    # --- users ---------------------------------------------------------------------------------

    async def insert_user(self, account: Account, now: datetime) -> bool:
        """Store a new account; False when its e-mail address is taken."""
        try:
            await self._users.insert_one({
                "_id": account.user_id, "email": account.email,
                "display_name": account.display_name, "role": account.role.value,
                "status": account.status.value, "language": account.language,
                # Always an array: $addToSet on a missing field is ignored by the server here.
                "dossier_ids": list(account.dossier_ids),
                "password_hash": account.password_hash, "created_at": now,
            })
        except DuplicateKeyError:
            return False
        return True

    async def find_user(self, user_id: str) -> Account | None:
        """The account with this id."""
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else account_of(doc)

    async def find_user_by_email(self, email: str) -> Account | None:
        """The account with this (normalized) e-mail address."""
        doc = await self._users.find_one({"email": email})
        return None if doc is None else account_of(doc)

    async def active_clients_of(self, dossier_id: str) -> list[Account]:
        """The active client accounts granted `dossier_id`, by e-mail address."""
        # `$in`, not equality: the server here finds nothing by equality on an indexed array.
        cursor = self._users.find({
            "dossier_ids": {"$in": [dossier_id]}, "role": Role.CLIENT.value,
            "status": UserStatus.ACTIVE.value,
        }).sort("email", 1)
        return [account_of(doc) async for doc in cursor]

    async def display_names(self, user_ids: set[str]) -> dict[str, str]:
        """The display names of the accounts among `user_ids`, by user id."""
        cursor = self._users.find({"_id": {"$in": sorted(user_ids)}}, {"display_name": 1})
        return {doc["_id"]: doc["display_name"] async for doc in cursor}

    async def staff_names(self, *, active_only: bool = False) -> list[tuple[str, str]]:
        """The staff accounts' ids and display names, by name; only active ones if asked."""
        query: dict[str, Any] = {"role": {"$in": sorted(r.value for r in STAFF_ROLES)}}
        if active_only:
            query["status"] = UserStatus.ACTIVE.value
        cursor = self._users.find(query, {"display_name": 1}).sort("display_name", 1)
        return [(doc["_id"], doc["display_name"]) async for doc in cursor]

    async def admin_exists(self) -> bool:
        """True when the office has at least one admin."""
        return await self._users.count_documents({"role": Role.ADMIN.value}, limit=1) > 0

    async def update_invited_user(
        self, user_id: str, display_name: str, language: str, dossier_ids: list[str]
    ) -> Account | None:
        """Refresh a not-yet-activated client's details and add grants; None if not invited."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id, "status": UserStatus.INVITED.value},
            {"$set": {"display_name": display_name, "language": language},
             "$addToSet": {"dossier_ids": {"$each": dossier_ids}}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def activate_user(
        self, user_id: str, password_hash: str, now: datetime
    ) -> Account | None:
        """Give an invited account its password and open it; None if it was not invited."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id, "status": UserStatus.INVITED.value},
            {"$set": {"status": UserStatus.ACTIVE.value, "password_hash": password_hash,
                      "activated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def trust_device(self, user_id: str, device_hash: str, keep: int) -> None:
        """Remember a device the account logged in from; only the `keep` latest stay trusted."""
        # Pull, then push at the end: the list stays ordered by the latest login.
        await self._users.update_one({"_id": user_id}, {"$pull": {"trusted_devices": device_hash}})
        await self._users.update_one({"_id": user_id}, {"$push": {"trusted_devices": {
            "$each": [device_hash], "$slice": -keep}}})

    async def replace_password_hash(self, user_id: str, password_hash: str) -> None:
        """Store a hash recomputed with the current cost parameters."""
        await self._users.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})

    async def set_password(
        self, user_id: str, password_hash: str, event: PasswordChanged
    ) -> Account | None:
        """Give an active account a new password and store PasswordChanged with it."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id, "status": UserStatus.ACTIVE.value},
            record_events({"$set": {"password_hash": password_hash}}, event),
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def open_pending_user(self, user_id: str, dossier_ids: list[str]) -> Account | None:
        """The broker approved a registered account: active, with its dossier grants."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id, "status": UserStatus.PENDING.value},
            {"$set": {"status": UserStatus.ACTIVE.value, "dossier_ids": list(dossier_ids)}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def set_status(self, user_id: str, status: UserStatus) -> Account | None:
        """Put the account in `status` (disable, refuse); None if it does not exist."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id}, {"$set": {"status": status.value}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def add_grant(self, user_id: str, dossier_id: str) -> Account | None:
        """Give the account access to a dossier (no-op if it has it)."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id}, {"$addToSet": {"dossier_ids": dossier_id}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    async def remove_grant(self, user_id: str, dossier_id: str) -> Account | None:
        """Take a dossier away from the account (no-op if it did not have it)."""
        doc = await self._users.find_one_and_update(
            {"_id": user_id}, {"$pull": {"dossier_ids": dossier_id}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else account_of(doc)

    # --- invitations ---------------------------------------------------------------------------

    async def insert_invitation(
        self, event: InvitationCreated, token_hash: str, created_by: str, now: datetime
    ) -> None:
        """Store an invitation and, in the same write, the event that mails its link."""
        await self._invitations.insert_one({
            "_id": event.invitation_id, "user_id": event.user_id, "email": event.email,
            "token_hash": token_hash, "created_by": created_by, "created_at": now,
            "expires_at": event.expires_at, "used_at": None, "ended": None,
            "purge_at": event.expires_at + INVITATION_RETENTION,
            "list_key": invitation_list_key(now, event.invitation_id),
            **new_document_events(event),
        })

    async def expire_open_invitations(self, user_id: str, now: datetime, why: str) -> int:
        """End the user's unused links (`why`: revoked, replaced, account disabled)."""
        result = await self._invitations.update_many(
            {"user_id": user_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now, "ended": why}},
        )
        return result.modified_count

    async def find_invitation(self, token_hash: str) -> StoredInvitation | None:
        """The invitation whose token hashes to `token_hash`."""
        doc = await self._invitations.find_one({"token_hash": token_hash})
        return None if doc is None else StoredInvitation(doc)

    async def use_invitation(self, invitation_id: str, now: datetime) -> bool:
        """Mark the invitation used; False if it was used or expired meanwhile (single use)."""
        result = await self._invitations.update_one(
            {"_id": invitation_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
        )
        return result.modified_count == 1

    # --- the office's lists --------------------------------------------------------------------

    async def prepare_lists(self) -> None:
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

    async def accounts_page(
        self, *, roles: list[str], status: UserStatus | None, contains: str,
        after_email: str | None, limit: int,
    ) -> list[Account]:
        """Up to `limit` + 1 accounts of `roles` by e-mail address after `after_email`, in one
        status and with `contains` in the address or name when given (typed text, not a
        regex)."""
        query: dict[str, Any] = {"role": {"$in": roles}}
        if status is not None:
            query["status"] = status.value
        if after_email is not None:
            query["email"] = {"$gt": after_email}
        if contains:
            pattern = {"$regex": re.escape(contains), "$options": "i"}
            query["$or"] = [{"email": pattern}, {"display_name": pattern}]
        cursor = self._users.find(query).sort("email", 1).limit(limit + 1)
        return [account_of(doc) async for doc in cursor]

    async def invitations_page(
        self, *, state: str | None, before_key: str | None, limit: int, now: datetime,
    ) -> list[StoredInvitation]:
        """Up to `limit` + 1 invitations newest first below `before_key`, in one state
        (pending, used, revoked, expired at `now`) or all."""
        query = _invitation_state_filter(state, now)
        if before_key is not None:
            query["list_key"] = {"$lt": before_key}
        cursor = self._invitations.find(query).sort("list_key", -1).limit(limit + 1)
        return [StoredInvitation(doc) async for doc in cursor]

    async def accounts_by_id(self, user_ids: list[str]) -> dict[str, Account]:
        """The accounts among `user_ids` that exist, by user id."""
        return {doc["_id"]: account_of(doc)
                async for doc in self._users.find({"_id": {"$in": user_ids}})}


class GrantRevocationRecords:
    """The record of grants taken away; each document carries its GrantRevoked in its outbox
    (the rules around it: accounts/grant_revocations.py)."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._revocations = database[GRANT_REVOCATIONS]

    async def ensure_indexes(self) -> None:
        """The "since" lookup, the purge and the outbox relay's pending lookup."""
        await self._revocations.create_index("revoked_at")
        await self._revocations.create_index("purge_at", expireAfterSeconds=0)
        await self._revocations.create_index(PENDING_COUNT_FIELD)

    async def insert(self, event: GrantRevoked) -> None:
        """Store a revocation with the event that tells the gateways."""
        await self._revocations.insert_one({
            "_id": event.event_id, "user_id": event.user_id, "dossier_id": event.dossier_id,
            "revoked_at": event.revoked_at,
            "purge_at": event.revoked_at + REVOCATION_RETENTION,
            **new_document_events(event),
        })

    async def since(self, moment: datetime) -> list[RevokedGrant]:
        """The grants taken away at or after `moment`."""
        cursor = self._revocations.find(
            {"revoked_at": {"$gte": moment}}, {"user_id": 1, "dossier_id": 1, "revoked_at": 1})
        return [RevokedGrant(user_id=doc["user_id"], dossier_id=doc["dossier_id"],
                             revoked_at=stored_utc(doc["revoked_at"])) async for doc in cursor]
