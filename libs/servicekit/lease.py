"""One holder at a time across the replicas of a service: a lease in MongoDB, with expiry and
takeover (a small leader election).

Each service runs two or more replicas in production. Work that must happen once per service —
the outbox relay's scan of the backlog, each periodic job — takes a named lease first: the replica
that holds it works, the others wait. The holder renews its lease while it works; a holder that
dies stops renewing and, once the lease has expired, another replica takes over.

The lease is one document per name in the service's own database, `{_id: name, holder,
expires_ms}`. Times are integer milliseconds, not dates: they compare the same on every
MongoDB-compatible server, whatever it does with dates in `$set`.
"""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document

LEASES = "leases"
DEFAULT_TTL_SECONDS = 15.0

log = get_logger(__name__)
leases_held = Gauge("mybroker_leases_held", "1 while this replica holds the lease", ["lease"])


def replica_name() -> str:
    """Who holds a lease: the host and process, and a random part so a restarted process with
    the same pid never mistakes the old process's lease for its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Lease:
    """The named lease `name`, as seen by one replica (`holder`)."""

    def __init__(
        self, database: AsyncDatabase[Document], name: str, *,
        holder: str | None = None, ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._leases = database[LEASES]
        self.name = name
        self.holder = holder or replica_name()
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._held = False

    @property
    def held(self) -> bool:
        """True when the last acquire or renew succeeded (and no release came since)."""
        return self._held

    async def acquire(self) -> bool:
        """Take the lease if it is free or expired, or renew it if it is ours; True when held."""
        now = _millis(self._clock())
        expires = now + int(self.ttl_seconds * 1000)
        mine_or_expired: dict[str, Any] = {
            "_id": self.name,
            "$or": [{"holder": self.holder}, {"expires_ms": {"$lt": now}}],
        }
        updated = await self._leases.update_one(
            mine_or_expired, {"$set": {"holder": self.holder, "expires_ms": expires}})
        if updated.matched_count:
            return self._now_held(True)
        try:
            await self._leases.insert_one(
                {"_id": self.name, "holder": self.holder, "expires_ms": expires})
        except DuplicateKeyError:
            return self._now_held(False)  # another replica holds it and it has not expired
        return self._now_held(True)

    async def release(self) -> None:
        """Give the lease up (on shutdown), so another replica need not wait for the expiry."""
        if self._held:
            await self._leases.delete_one({"_id": self.name, "holder": self.holder})
        self._now_held(False)

    def _now_held(self, held: bool) -> bool:
        if held != self._held:
            log.info("lease taken" if held else "lease not held", lease=self.name,
                     holder=self.holder)
        self._held = held
        leases_held.labels(self.name).set(1 if held else 0)
        return held

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[bool]:
        """`async with lease.holding() as held:` — when `held`, the lease is renewed in the
        background for as long as the block runs (a long job keeps it); otherwise another
        replica holds it and the block should skip the work."""
        if not await self.acquire():
            yield False
            return
        renewer = asyncio.create_task(self._keep_renewing(), name=f"lease {self.name}")
        try:
            yield True
        finally:
            renewer.cancel()
            # Not `suppress(CancelledError): await renewer`: a stop of this task arriving
            # while the renewer unwinds would be swallowed too, and the job would run on
            # (a service that never stops). gather leaves our own cancellation alone.
            await asyncio.gather(renewer, return_exceptions=True)

    async def _keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_seconds / 3)
            try:
                if not await self.acquire():
                    log.warning("lease lost while working", lease=self.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lease renewal failed", lease=self.name, exc_info=True)
