"""The documents to seal, read from object storage once: seals of the same document (one PDF
offered to many, their last signatures at once) share one download, and a few recent bodies
stay in memory. Keyed by the document and the sha256 the request recorded: a body that does not
hash to it is never kept, so whatever the cache answers is the bytes offered for signature."""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

# Kept after use, newest first out last; a body larger than this is never kept.
KEPT_BYTES = 64 * 1024 * 1024


class BodyCache:
    """One download per (document, sha256) at a time; the last ones kept up to KEPT_BYTES."""

    def __init__(self, kept_bytes: int = KEPT_BYTES) -> None:
        self._kept_bytes = kept_bytes
        self._kept: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._loading: dict[tuple[str, str], asyncio.Future[bytes]] = {}

    async def get(self, document_id: str, sha256: str,
                  download: Callable[[], Awaitable[bytes]]) -> bytes:
        """The body of `document_id` that hashes to `sha256` (downloaded if need be); a body
        that does not is returned to the caller, who refuses it, and not kept."""
        key = (document_id, sha256)
        if (kept := self._kept.get(key)) is not None:
            self._kept.move_to_end(key)
            return kept
        if (loading := self._loading.get(key)) is not None:
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not loading.cancelled() or (task is not None and task.cancelling()):
                    raise  # this caller was cancelled (perhaps the first reader too)
                return await download()  # only the first reader was: read it here
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            body = await download()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._loading[key]
        future.set_result(body)
        if hashlib.sha256(body).hexdigest() == sha256:
            self._keep(key, body)
        return body

    def _keep(self, key: tuple[str, str], body: bytes) -> None:
        if len(body) > self._kept_bytes:
            return
        self._kept[key] = body
        self._size += len(body)
        while self._size > self._kept_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._size -= len(dropped)


class SealNotices:
    """Wakes whoever waits for a request's seal in this process when the seal is made here."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}

    async def wait(self, request_id: str, seconds: float) -> None:
        """Until the seal of `request_id` is made here, or `seconds` passed."""
        event = self._events.setdefault(request_id, asyncio.Event())
        self._waiters[request_id] = self._waiters.get(request_id, 0) + 1
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._waiters[request_id] -= 1
            if not self._waiters[request_id]:
                del self._waiters[request_id]
                self._events.pop(request_id, None)

    def sealed(self, request_id: str) -> None:
        if (event := self._events.pop(request_id, None)) is not None:
            event.set()
