"""One import at a time per dossier: a lock document per dossier, with an expiry.

Two imports of the same dossier at once would both insert the same new objects (a duplicate
key) and add to the totals twice. An import takes the dossier's lock document in `import_locks`
(`_id` = dossier id, so the unique `_id` decides who wins) and deletes it when done; the other
waits. A lock whose holder died is taken over once it expired. The expiry is epoch seconds, a
number: nx-27017 turns a `$set` datetime into a string.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.servicekit.errors import Conflict
from libs.servicekit.mongo import Document

IMPORT_LOCKS = "import_locks"
BUSY = "Another import of this dossier is still running; try again when it is done."


class ImportLocks:
    """Per-dossier import locks: `async with locks.holding(dossier_id): ...`."""

    def __init__(self, database: AsyncDatabase[Document], *, hold_seconds: float = 900.0,
                 wait_seconds: float = 100.0, poll_seconds: float = 0.05) -> None:
        self._locks = database[IMPORT_LOCKS]
        self._hold = hold_seconds  # longer than the biggest import; a dead holder's lock ends
        self._wait = wait_seconds  # below the gateway's import timeout
        self._poll = poll_seconds

    @asynccontextmanager
    async def holding(self, dossier_id: str) -> AsyncIterator[None]:
        """Hold the dossier's import lock for the block, waiting for another holder first."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self._wait
        while not await self._take(dossier_id, owner):
            if time.monotonic() > deadline:
                raise Conflict(BUSY)
            await asyncio.sleep(self._poll)
        try:
            yield
        finally:
            await self._locks.delete_one({"_id": dossier_id, "owner": owner})

    async def _take(self, dossier_id: str, owner: str) -> bool:
        now = time.time()
        lock = {"owner": owner, "expires": now + self._hold}
        try:
            await self._locks.insert_one({"_id": dossier_id, **lock})
            return True
        except DuplicateKeyError:
            pass
        taken = await self._locks.update_one(
            {"_id": dossier_id, "expires": {"$lt": now}}, {"$set": lock})
        return taken.modified_count == 1
