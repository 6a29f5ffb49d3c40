"""The documents to seal are read once: seals of one document share a download, a body that
does not hash right is not kept, a failed read is not remembered."""

import asyncio
import hashlib

import pytest

from services.signing.bodies import BodyCache, SealNotices

BODY = b"%PDF-1.7 the offered document"
SHA = hashlib.sha256(BODY).hexdigest()


class Storage:
    def __init__(self, body: bytes = BODY, fail: bool = False) -> None:
        self.body, self.fail, self.reads = body, fail, 0

    async def read(self) -> bytes:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise OSError("storage away")
        return self.body


async def test_seals_of_one_document_share_one_read_and_later_ones_none() -> None:
    cache, storage = BodyCache(), Storage()
    bodies = await asyncio.gather(*(cache.get("d1", SHA, storage.read) for _ in range(20)))
    assert bodies == [BODY] * 20 and storage.reads == 1
    assert await cache.get("d1", SHA, storage.read) == BODY and storage.reads == 1
    assert await cache.get("d2", SHA, storage.read) == BODY and storage.reads == 2


async def test_a_body_that_does_not_hash_right_is_returned_but_never_kept() -> None:
    cache, storage = BodyCache(), Storage(body=b"changed")
    assert await cache.get("d1", SHA, storage.read) == b"changed"
    assert await cache.get("d1", SHA, storage.read) == b"changed"
    assert storage.reads == 2


async def test_a_failed_read_fails_its_waiters_and_is_tried_again_next_time() -> None:
    cache, storage = BodyCache(), Storage(fail=True)
    results = await asyncio.gather(*(cache.get("d1", SHA, storage.read) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(result, OSError) for result in results) and storage.reads == 1
    storage.fail = False
    assert await cache.get("d1", SHA, storage.read) == BODY and storage.reads == 2


async def test_the_kept_bodies_stay_within_their_budget() -> None:
    cache = BodyCache(kept_bytes=len(BODY) * 2)
    for name in ("a", "b", "c"):
        await cache.get(name, SHA, Storage().read)
    reads = Storage()
    await cache.get("a", SHA, reads.read)  # the oldest was dropped
    await cache.get("c", SHA, reads.read)  # the newest was kept
    assert reads.reads == 1


@pytest.mark.parametrize("kept_bytes", [0])
async def test_a_body_larger_than_the_budget_is_not_kept(kept_bytes: int) -> None:
    cache, storage = BodyCache(kept_bytes=kept_bytes), Storage()
    await cache.get("d1", SHA, storage.read)
    await cache.get("d1", SHA, storage.read)
    assert storage.reads == 2


async def test_a_seal_wakes_its_waiters_and_a_wait_ends_at_its_time() -> None:
    notices = SealNotices()
    waiters = [asyncio.create_task(notices.wait("r1", 10)) for _ in range(3)]
    other = asyncio.create_task(notices.wait("r2", 0.05))
    await asyncio.sleep(0.01)
    notices.sealed("r1")
    await asyncio.wait_for(asyncio.gather(*waiters), 1)  # woken, long before their time
    await asyncio.wait_for(other, 1)  # nobody sealed r2: back after its 0.05 s
    assert notices._events == {} and notices._waiters == {}  # nothing kept for the ones gone


async def test_a_waiter_reads_itself_when_only_the_first_reader_is_cancelled() -> None:
    cache, storage = BodyCache(), Storage()
    first = asyncio.create_task(cache.get("d1", SHA, storage.read))
    await asyncio.sleep(0)  # the first reader is downloading
    waiter = asyncio.create_task(cache.get("d1", SHA, storage.read))
    await asyncio.sleep(0)  # the second waits for the first one's download
    first.cancel()  # its seal request was withdrawn
    assert await asyncio.wait_for(waiter, 1) == BODY and storage.reads == 2
    assert first.cancelled()


async def test_a_waiter_stopped_with_the_first_reader_stops_and_reads_nothing() -> None:
    cache, storage = BodyCache(), Storage()
    first = asyncio.create_task(cache.get("d1", SHA, storage.read))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get("d1", SHA, storage.read))
    await asyncio.sleep(0)
    first.cancel()  # the service stops: both at once
    waiter.cancel()
    await asyncio.wait({first, waiter}, timeout=1)
    assert first.cancelled() and waiter.cancelled(), "the stop of the waiter was swallowed"
    assert storage.reads == 1
