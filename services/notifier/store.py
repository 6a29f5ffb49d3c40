"""The notifier's MongoDB access: every outgoing mail and where it stands (see deliveries.py).

One document per mail in `mails`, `_id` = the deterministic mail id (from its Message-ID), so a
redelivered event finds the mail it caused. Moments that are compared are stored as integer
milliseconds (`*_ms`): nx-27017 keeps a datetime written by `$set` as a string. `slot` is
unique: an office digest holds `open:<dossier>:<address>` while it collects, so a dossier has one
open digest per office address whatever the number of replicas (the office's at-once mails
carry the same key as `quiet_key`: a mail of it within the window sends the next to the
digest); a client's request news `update:<request>`; every other mail holds `mail:<id>` /
`closed:<id>`.
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.envelope import new_id
from libs.servicekit.mongo import Document
from services.notifier.deliveries import MailState

MAILS = "mails"
# Redeliveries come within minutes (delivery limit, outbox retries); half a year is ample.
MAILS_KEPT_SECONDS = 180 * 24 * 3600
DIGEST_KIND = "office-digest"
REQUESTS = "requests"  # per request: its sender and date, for the client's mails
REQUESTS_KEPT_SECONDS = 3 * 365 * 24 * 3600  # a claim's thread can last years
PREFERENCES = "preferences"  # per client (`_id` = user id): immediate mail or daily digest
CLIENT_DIGEST_KIND = "client-digest"


def millis(moment: datetime) -> int:
    """A moment as integer milliseconds since the epoch (comparable in every store)."""
    return int(moment.timestamp() * 1000)


def open_slot(dossier_id: str, address: str) -> str:
    """The slot of the office digest collecting a dossier's items for one office address."""
    return f"open:{dossier_id}:{address}"


def update_slot(request_id: str) -> str:
    """The slot of the window gathering one request's news for its client."""
    return f"update:{request_id}"


async def _drop_expiry_indexes(collection: AsyncCollection[Document]) -> None:
    async for index in await collection.list_indexes():
        if "expireAfterSeconds" in index:
            await collection.drop_index(index["name"])


def _state_is(state: MailState) -> Document:
    """`state == state` as a range: nx-27017 reads the state index for a range, not for an
    equality."""
    return {"state": {"$gte": state.value, "$lte": state.value}}


class MailStore:
    """Outgoing mails, claimed before the hand-off to SMTP and settled after."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._mails = database[MAILS]
        self._requests = database[REQUESTS]
        self._preferences = database[PREFERENCES]

    async def ensure_indexes(self) -> None:
        """The unique slot, the periodic job's queries, and forgetting mails after half a year
        (forget_old, not a TTL index: on the development database every read of a collection
        with a TTL index checks the expiry of all its documents — 4 ms at 4,000 mails instead of
        0.7 ms —, and the notifier reads its mails three times per mail)."""
        await self._mails.create_index([("slot", ASCENDING)], unique=True)
        await self._mails.create_index([("state", ASCENDING), ("claimed_ms", ASCENDING)])
        await self._mails.create_index([("state", ASCENDING), ("due_ms", ASCENDING)])
        await self._mails.create_index([("items", ASCENDING)])
        await self._mails.create_index([("quiet_key", ASCENDING), ("claimed_ms", ASCENDING)])
        # The dossier's delivery log (read by a range on dossier_id: see _state_is) and the
        # clients' mails held for their daily digest.
        await self._mails.create_index([("dossier_id", ASCENDING), ("created_ms", DESCENDING)])
        await self._mails.create_index([("held_due_ms", ASCENDING)])
        for collection in (self._mails, self._requests):
            await _drop_expiry_indexes(collection)  # left by earlier versions
            await collection.create_index([("created_ms", ASCENDING)])

    async def forget_old(self, now: datetime) -> int:
        """Delete the mails older than half a year and the request facts older than three
        years; how many went."""
        forgotten = 0
        for collection, kept_seconds in ((self._mails, MAILS_KEPT_SECONDS),
                                         (self._requests, REQUESTS_KEPT_SECONDS)):
            cutoff = millis(now) - kept_seconds * 1000
            result = await collection.delete_many({"created_ms": {"$lt": cutoff}})
            forgotten += result.deleted_count
        return forgotten

    async def claim_new(self, mail: Document, now: datetime) -> bool:
        """Record `mail` as `sending` (first attempt); False when its id was claimed before."""
        try:
            await self._mails.insert_one({
                **mail, "slot": f"mail:{mail['_id']}", "state": MailState.SENDING.value,
                "attempt": 1, "claimed_ms": millis(now), "claimed_at": now, "created_at": now,
                "created_ms": millis(now)})
        except DuplicateKeyError:
            return False
        return True

    async def find(self, mail_id: str) -> Document | None:
        """The mail with this id, if any."""
        return await self._mails.find_one({"_id": mail_id})

    async def claim_again(
        self, mail_id: str, current: MailState, now: datetime, extra: Document | None = None,
        *, note: Document | None = None,
    ) -> Document | None:
        """Move the mail from `current` to `sending` (next attempt), atomically: the mail as
        claimed, or None when it was not in `current` (someone else took it). `note` is
        appended to lists of the mail (who resent it, when)."""
        update: Document = {
            "$set": {"state": MailState.SENDING.value, "claimed_ms": millis(now),
                     "claimed_at": now, **(extra or {})},
            "$inc": {"attempt": 1}}
        if note:
            update["$push"] = note
        return await self._mails.find_one_and_update(
            {"_id": mail_id, "state": current.value}, update,
            return_document=ReturnDocument.AFTER)

    async def mark_sent(self, mail_id: str, attempt: int, now: datetime) -> bool:
        """SMTP accepted the attempt: `sent` (also when a redelivery meanwhile judged it
        uncertain: the outcome is known after all). The body, which may hold a link that
        logs in, is not kept once it left."""
        result = await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt,
             "state": {"$in": [MailState.SENDING.value, MailState.UNCERTAIN.value]}},
            {"$set": {"state": MailState.SENT.value, "sent_at": now},
             "$unset": {"message": "", "uncertain_reason": ""}})
        return result.matched_count == 1

    async def mark_failed(self, mail_id: str, attempt: int, error: str) -> None:
        """SMTP refused the attempt or was unreachable: the mail surely did not leave."""
        await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt, "state": MailState.SENDING.value},
            {"$set": {"state": MailState.FAILED.value, "last_error": error[:500]}})

    async def retry_after(self, mail_id: str, attempt: int, when: datetime) -> None:
        """A failed window (digest, request news) is not tried again before `when` (the mail
        checks run every few seconds: without a pause an outage would use up its attempts)."""
        await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt, "state": MailState.FAILED.value},
            {"$set": {"retry_ms": millis(when)}})

    async def mark_uncertain(
        self, mail_id: str, attempt: int, reason: str, now: datetime,
        current: MailState = MailState.SENDING,
    ) -> bool:
        """The attempt's outcome is unknown: `uncertain`, for staff. False when the attempt was
        settled meanwhile (or another one started)."""
        result = await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt, "state": current.value},
            {"$set": {"state": MailState.UNCERTAIN.value, "uncertain_reason": reason,
                      "uncertain_ms": millis(now), "uncertain_at": now}})
        return result.matched_count == 1

    async def mark_dead(self, mail_id: str, attempt: int, error: str, now: datetime,
                        current: MailState = MailState.FAILED) -> bool:
        """SMTP refused the mail up to the retry limit: `dead_lettered`, for staff (the body is
        kept for their resend). False when the attempt was settled otherwise meanwhile."""
        result = await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt, "state": current.value},
            {"$set": {"state": MailState.DEAD_LETTERED.value, "last_error": error[:500],
                      "dead_ms": millis(now), "dead_at": now}})
        return result.matched_count == 1

    async def dead_lettered(self, limit: int) -> list[Document]:
        """Mails the notifier gave up on after the retry limit, the latest first."""
        cursor = self._mails.find(_state_is(MailState.DEAD_LETTERED)).sort(
            [("dead_ms", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return await cursor.to_list(length=None)

    async def note_resend(self, mail_id: str, resend_id: str) -> None:
        """Record on the original that `resend_id` repeats it."""
        await self._mails.update_one({"_id": mail_id}, {"$push": {"resent_as": resend_id}})

    async def dossier_mails(self, dossier_id: str, before_ms: int | None,
                            limit: int) -> list[Document]:
        """The dossier's mails (its delivery log), the latest first, `limit` at most, created
        before `before_ms` when given. A range on dossier_id, so nx-27017 reads the index."""
        query: Document = {"dossier_id": {"$gte": dossier_id, "$lte": dossier_id}}
        if before_ms is not None:
            query["created_ms"] = {"$lt": before_ms}
        # (the body comes along: whether it is still kept says whether staff may resend it)
        cursor = self._mails.find(query).sort(
            [("dossier_id", ASCENDING), ("created_ms", DESCENDING)]).limit(limit)
        # A client's news still gathering, or closed and not yet built, has no recipient yet:
        # it is not a mail (yet), and staff could not tell whom it is for.
        return [mail for mail in await cursor.to_list(length=None)
                if mail.get("recipient")
                and (mail.get("state") != MailState.COLLECTING.value or mail.get("items"))]

    async def failed_of_kind(self, kind: str, now: datetime) -> list[Document]:
        """Mails of `kind` SMTP refused whose pause is over, to try again (an indexed range, the
        kind checked here)."""
        cursor = self._mails.find(_state_is(MailState.FAILED),
                                  {"_id": 1, "kind": 1, "retry_ms": 1})
        return [mail async for mail in cursor
                if mail.get("kind") == kind and int(mail.get("retry_ms", 0)) <= millis(now)]

    # --- the clients' daily digest -------------------------------------------------------------

    async def hold(self, mail: Document, due: datetime, now: datetime) -> bool:
        """Keep a client's mail for their digest due at `due` (not sent by itself); False when
        its id was recorded before (a redelivered event)."""
        try:
            await self._mails.insert_one({
                **mail, "slot": f"mail:{mail['_id']}", "state": MailState.HELD.value,
                "attempt": 0, "held_due_ms": millis(due), "created_at": now,
                "created_ms": millis(now)})
        except DuplicateKeyError:
            return False
        return True

    async def held_due(self, now: datetime) -> list[Document]:
        """The held mails whose digest is due, oldest first (not yet in a digest)."""
        cursor = self._mails.find({"held_due_ms": {"$lte": millis(now)}},
                                  {"message": 0}).sort([("held_due_ms", ASCENDING)])
        return await cursor.to_list(length=None)

    async def put_in_digest(self, mail_ids: list[str], digest_id: str) -> None:
        """The held mails are told in `digest_id`: out of the digest index for good."""
        await self._mails.update_many(
            {"_id": {"$in": mail_ids}},
            {"$set": {"digest_id": digest_id}, "$unset": {"held_due_ms": "", "message": ""}})

    async def hold_claimed(self, mail_id: str, attempt: int, fields: Document,
                           due: datetime) -> None:
        """A claimed window (a request's news) whose client wants it in their digest: held."""
        await self._mails.update_one(
            {"_id": mail_id, "attempt": attempt, "state": MailState.SENDING.value},
            {"$set": {**fields, "state": MailState.HELD.value, "held_due_ms": millis(due)},
             "$unset": {"message": ""}})

    async def postpone(self, mail_ids: list[str], due: datetime) -> None:
        """Held mails wait for the next digest."""
        if mail_ids:
            await self._mails.update_many({"_id": {"$in": mail_ids}},
                                          {"$set": {"held_due_ms": millis(due)}})

    async def preferences(self, user_id: str) -> Document | None:
        """The client's mail preferences, if they ever chose."""
        return await self._preferences.find_one({"_id": user_id})

    async def save_preferences(self, user_id: str, preferences: Document,
                               now: datetime) -> None:
        """Replace the client's mail preferences."""
        await self._preferences.update_one(
            {"_id": user_id}, {"$set": {**preferences, "updated_at": now,
                                        "updated_ms": millis(now)}}, upsert=True)

    async def stalled(self, claimed_before: datetime) -> list[Document]:
        """Mails still `sending` whose hand-off began before `claimed_before`."""
        cursor = self._mails.find({"state": MailState.SENDING.value,
                                   "claimed_ms": {"$lt": millis(claimed_before)}})
        return await cursor.to_list(length=None)

    async def uncertain(self, limit: int) -> list[Document]:
        """Mails whose fate staff must decide, the latest first."""
        cursor = self._mails.find({"state": MailState.UNCERTAIN.value}).sort(
            [("uncertain_ms", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return await cursor.to_list(length=None)

    async def count_uncertain(self) -> int:
        """How many mails await a staff decision."""
        return await self._mails.count_documents(_state_is(MailState.UNCERTAIN))

    # --- office digests ------------------------------------------------------------------------

    async def mailed_since(self, quiet_key: str, since: datetime) -> bool:
        """Whether a mail of `quiet_key` (the office's at-once mails of a dossier and address)
        was claimed after `since`."""
        found = await self._mails.find_one(
            {"quiet_key": quiet_key, "claimed_ms": {"$gt": millis(since)}}, {"_id": 1})
        return found is not None

    async def in_a_window(self, item: str) -> bool:
        """Whether `item` joined a window already (a redelivered event)."""
        # `$in`, not equality: nx-27017 misses an array element by equality on an indexed field.
        return await self._mails.find_one({"items": {"$in": [item]}}, {"_id": 1}) is not None

    async def add_to_window(
        self, slot: str, kind: str, item: str, now: datetime, delay: timedelta,
        longest: timedelta, fields: Document,
    ) -> None:
        """Add `item` to the open window of `slot`, opening one when none is open. Each item
        moves the window's end to `delay` from now, but never beyond `longest` after it opened
        (a change every 50 s would otherwise hold the mail forever). Idempotent: an item
        already in a window is not added again."""
        due_ms = millis(now + delay)
        while True:
            if await self._mails.find_one({"items": {"$in": [item]}}, {"_id": 1}) is not None:
                return
            window = await self._mails.find_one(
                {"slot": slot, "state": MailState.COLLECTING.value}, {"opened_ms": 1})
            if window is not None:
                added = await self._mails.update_one(
                    {"_id": window["_id"], "state": MailState.COLLECTING.value},
                    {"$addToSet": {"items": item}})
                if not added.matched_count:
                    continue  # closed meanwhile: open the next one
                opened_ms = int(window.get("opened_ms", millis(now)))
                later_ms = min(due_ms, opened_ms + int(longest.total_seconds() * 1000))
                await self._mails.update_one(
                    {"_id": window["_id"], "state": MailState.COLLECTING.value,
                     "due_ms": {"$lt": later_ms}}, {"$set": {"due_ms": later_ms}})
                return
            try:
                await self._mails.insert_one({
                    "_id": f"{new_id()}.{kind}", "slot": slot, "kind": kind,
                    "state": MailState.COLLECTING.value, "items": [item], "attempt": 0,
                    "opened_ms": millis(now), "due_ms": due_ms, "created_at": now,
                    "created_ms": millis(now),
                    **fields})
            except DuplicateKeyError:
                continue
            return

    async def due_windows(self, kind: str, now: datetime) -> list[str]:
        """Ids of the windows of `kind` to send now: collecting and due, or failed earlier.

        Two indexed range reads, the kind checked here: nx-27017 scans the whole collection
        (every mail of half a year) for an `$or`, and for an equality on `state` alone."""
        due = self._mails.find(
            {"state": MailState.COLLECTING.value, "due_ms": {"$lte": millis(now)}},
            {"_id": 1, "kind": 1})
        failed = self._mails.find(_state_is(MailState.FAILED),
                                  {"_id": 1, "kind": 1, "retry_ms": 1})
        return [document["_id"] for cursor in (due, failed) async for document in cursor
                if document.get("kind") == kind
                and int(document.get("retry_ms", 0)) <= millis(now)]

    async def due_digests(self, now: datetime) -> list[str]:
        """Ids of the office digests to send now."""
        return await self.due_windows(DIGEST_KIND, now)

    async def close_window(self, window_id: str, now: datetime) -> Document | None:
        """Claim a due window for sending; its items are final from here on (later ones open
        a new window). None when another replica claimed it first."""
        return await self.claim_again(window_id, MailState.COLLECTING, now,
                                      {"slot": f"closed:{window_id}"})

    async def close_digest(self, digest_id: str, now: datetime) -> Document | None:
        """Claim a due office digest for sending (see close_window)."""
        return await self.close_window(digest_id, now)

    async def forget(self, mail_id: str, attempt: int) -> None:
        """A claimed window with nothing to tell (a status that came back; an office window of
        an earlier version that only held its first mail): nothing is sent, nothing kept."""
        await self._mails.delete_one({"_id": mail_id, "attempt": attempt,
                                      "state": MailState.SENDING.value})

    # --- what the notifier remembers of requests ----------------------------------------------

    async def remember_request(self, request_id: str, facts: Document, now: datetime) -> None:
        """Who sent a request and when (from RequestSubmitted): the client's later mails go to
        the sender and name the request's date. The first record stays."""
        await self._requests.update_one(
            {"_id": request_id},
            {"$setOnInsert": {**facts, "created_at": now, "created_ms": millis(now)}}, upsert=True)

    async def request_facts(self, request_id: str) -> Document | None:
        """What remember_request kept of the request, if anything."""
        return await self._requests.find_one({"_id": request_id})

    async def describe(self, mail_id: str, fields: dict[str, Any]) -> None:
        """Note what a claimed mail says (subject...) for the staff's list."""
        await self._mails.update_one({"_id": mail_id}, {"$set": fields})
