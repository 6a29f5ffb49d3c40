"""The notifier's SMS records: one per idempotency key (intent before, outcome after), and the
sliding rate-limit windows, kept in the database so every replica counts the same SMS.

The Mongo-wire server stores a top-level datetime written with `$set` as a string, which a TTL
index never expires: TTL fields are inserted, or set inside a sub-document (kept as dates).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.sms import SmsReceipt, SmsStatus
from libs.servicekit.errors import Unavailable
from libs.servicekit.mongo import Document, stored_utc
from services.notifier.sms_rules import RateLimit, WindowDecision, decide_in_window

SMS_MESSAGES = "sms_messages"
SMS_RATE_WINDOWS = "sms_rate_windows"
SMS_KEPT_SECONDS = 180 * 24 * 3600  # the log staff read, and long past any retry of a key
WINDOW_KEPT_SECONDS = 2 * 24 * 3600  # longer than any window; an idle key is forgotten
_RESERVE_TRIES = 20  # compare-and-set rounds before giving up under extreme contention


@dataclass(frozen=True)
class SmsRecord:
    """One stored SMS (the text with its secret parameters masked)."""

    sms_id: str
    status: SmsStatus
    fingerprint: str
    phone_number: str
    requested_at: datetime
    finished_at: datetime | None

    def receipt(self) -> SmsReceipt:
        """The reply a caller gets for this SMS."""
        return SmsReceipt(sms_id=self.sms_id, status=self.status, phone_number=self.phone_number,
                          requested_at=self.requested_at, finished_at=self.finished_at)


def _kept_until(now: datetime) -> dict[str, datetime]:
    return {"forget_at": now + timedelta(seconds=WINDOW_KEPT_SECONDS)}


def _record(document: Document) -> SmsRecord:
    finished = document.get("finished_at")
    return SmsRecord(
        sms_id=document["_id"], status=SmsStatus(document["status"]),
        fingerprint=document["fingerprint"], phone_number=document["phone_number"],
        requested_at=stored_utc(document["requested_at"]),
        finished_at=stored_utc(finished) if finished is not None else None)


class SmsStore:
    """SMS records and rate windows in the notifier's database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._messages = database[SMS_MESSAGES]
        self._windows = database[SMS_RATE_WINDOWS]

    async def ensure_indexes(self) -> None:
        """Forget old SMS records and idle rate windows."""
        await self._messages.create_index([("forget_at", ASCENDING)], expireAfterSeconds=0)
        await self._windows.create_index([("kept.forget_at", ASCENDING)], expireAfterSeconds=0)

    async def find(self, sms_id: str) -> SmsRecord | None:
        """The SMS stored under `sms_id`, if any."""
        document = await self._messages.find_one({"_id": sms_id})
        return _record(document) if document is not None else None

    async def claim(self, sms_id: str, fields: dict[str, Any]) -> bool:
        """Record the intent (`sending`) before the provider is called; False if the key exists."""
        try:
            await self._messages.insert_one({
                "_id": sms_id, "status": SmsStatus.SENDING.value, **fields,
                "forget_at": fields["requested_at"] + timedelta(seconds=SMS_KEPT_SECONDS)})
        except DuplicateKeyError:
            return False
        return True

    async def claim_again(self, sms_id: str, requested_at: datetime) -> bool:
        """Take a `failed` SMS (surely not sent) for another try; False if another took it."""
        result = await self._messages.update_one(
            {"_id": sms_id, "status": SmsStatus.FAILED.value},
            {"$set": {"status": SmsStatus.SENDING.value, "requested_at": requested_at},
             "$unset": {"finished_at": ""}})
        return result.modified_count == 1

    async def mark_uncertain(self, sms_id: str, now: datetime) -> SmsRecord | None:
        """A `sending` SMS found by a retry: its sender crashed or still waits; never resend."""
        await self._messages.update_one(
            {"_id": sms_id, "status": SmsStatus.SENDING.value},
            {"$set": {"status": SmsStatus.UNCERTAIN.value, "finished_at": now,
                      "detail": "found sending by a retry; not sent again"}})
        return await self.find(sms_id)

    async def finish(self, sms_id: str, status: SmsStatus, now: datetime,
                     outcome: dict[str, Any]) -> SmsRecord:
        """Record what the provider did (it overrides an `uncertain` a retry set meanwhile)."""
        await self._messages.update_one(
            {"_id": sms_id},
            {"$set": {"status": status.value, "finished_at": now, **outcome}})
        record = await self.find(sms_id)
        assert record is not None
        return record

    async def reserve(self, key: str, rule: RateLimit, now: datetime) -> WindowDecision:
        """Count one more SMS for `key` if `rule` allows it, atomically across replicas."""
        for _ in range(_RESERVE_TRIES):
            document = await self._windows.find_one({"_id": key})
            sent = [stored_utc(moment) for moment in document["sent"]] if document else []
            decision = decide_in_window(rule, sent, now)
            if not decision.allowed:
                return decision
            if document is None:
                try:
                    await self._windows.insert_one(
                        {"_id": key, "sent": list(decision.kept), "version": 1,
                         "kept": _kept_until(now)})
                except DuplicateKeyError:
                    continue  # another replica counted the first one: read it again
                return decision
            # Compare-and-set on the version: a concurrent reservation makes this one re-read.
            result = await self._windows.update_one(
                {"_id": key, "version": document["version"]},
                {"$set": {"sent": list(decision.kept), "kept": _kept_until(now)},
                 "$inc": {"version": 1}})
            if result.modified_count == 1:
                return decision
        raise Unavailable("Too many SMS requests at once; try again in a moment.")
