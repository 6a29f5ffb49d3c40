"""Passwords are hashed with argon2id at the OWASP minimum, a bounded number at a time."""

import asyncio
import os
import threading
import time

from services.auth.passwords import HashingBusy, PasswordHasher


def _hasher(concurrency: int = 2) -> PasswordHasher:
    return PasswordHasher(memory_kib=19456, time_cost=2, concurrency=concurrency)


async def test_a_hashed_password_verifies_and_another_does_not() -> None:
    hasher = _hasher()
    stored = await hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await hasher.verify("correct horse battery staple", stored)
    assert not await hasher.verify("correct horse battery stable", stored)


async def test_two_hashes_of_one_password_differ_because_of_the_salt() -> None:
    hasher = _hasher()
    assert await hasher.hash("same password here") != await hasher.hash("same password here")


async def test_an_unreadable_stored_hash_never_matches() -> None:
    hasher = _hasher()
    assert not await hasher.verify("whatever password", "not-a-hash")
    assert not await hasher.verify("whatever password", "$argon2id$v=19$m=1,t=1,p=1$bad")


async def test_a_hash_made_with_weaker_parameters_is_upgraded() -> None:
    weak = PasswordHasher(memory_kib=8192, time_cost=1)
    stored = await weak.hash("an old password!")
    assert _hasher().needs_rehash(stored)
    assert not _hasher().needs_rehash(await _hasher().hash("a new password!!"))


async def test_no_more_hashes_run_at_once_than_the_configured_concurrency() -> None:
    hasher = _hasher(concurrency=2)
    running, most, lock = 0, 0, threading.Lock()

    class SlowHash:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return "hashed"

    hasher._hash = SlowHash()  # type: ignore[assignment]
    started = time.monotonic()
    await asyncio.gather(*(hasher.hash(f"password {n:04}") for n in range(6)))
    assert most == 2
    assert time.monotonic() - started >= 0.15  # three rounds of two


async def test_hashing_leaves_the_event_loop_free() -> None:
    hasher = _hasher(concurrency=1)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        for _ in range(5):
            await asyncio.sleep(0.005)
            ticks += 1

    await asyncio.gather(hasher.hash("a password to hash"), tick())
    assert ticks == 5


async def test_an_unknown_email_costs_one_real_verification_like_a_known_one() -> None:
    hasher = _hasher()
    verified: list[str] = []

    class CountingHash:
        def verify(self, password: str, stored: str) -> bool:
            verified.append(stored)
            return False

    dummy = hasher._dummy_hash
    assert dummy.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # same cost as real hashes
    hasher._hash = CountingHash()  # type: ignore[assignment]
    await hasher.verify_nothing("any password at all")
    assert verified == [dummy]


class _BlockedHash:
    """Hashes that wait until the test lets them finish."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        self.release.wait(5)
        return "hashed"


async def test_a_login_beyond_the_full_queue_is_told_at_once_when_to_retry() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, concurrency=1, queue_limit=2)
    blocked = _BlockedHash()
    hasher._hash = blocked  # type: ignore[assignment]
    running = [asyncio.create_task(hasher.hash(f"password {n:04}")) for n in range(3)]
    await asyncio.sleep(0.05)  # one hashing, two waiting: the queue is full
    started = time.monotonic()
    try:
        await hasher.hash("one login too many")
    except HashingBusy as busy:
        assert time.monotonic() - started < 0.05
        assert busy.fields is not None and int(busy.fields["retry_after"]) >= 1
        assert "Too many log-ins at the moment" in busy.detail
        assert str(busy.code) == "unavailable"  # 503 + Retry-After at the gateway
    else:
        raise AssertionError("the fourth login was not refused")
    finally:
        blocked.release.set()
    assert await asyncio.gather(*running) == ["hashed"] * 3  # the queued ones all finished


async def test_a_login_that_waits_too_long_for_a_hash_gives_up_before_the_rpc_timeout() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, concurrency=1, queue_limit=10,
                            max_wait_seconds=0.1)
    blocked = _BlockedHash()
    hasher._hash = blocked  # type: ignore[assignment]
    first = asyncio.create_task(hasher.hash("the first password"))
    await asyncio.sleep(0.02)
    started = time.monotonic()
    try:
        await hasher.hash("the second password")
    except HashingBusy:
        assert 0.09 <= time.monotonic() - started < 0.5
    else:
        raise AssertionError("the waiting login did not give up")
    finally:
        blocked.release.set()
    assert await first == "hashed"
    assert await hasher.hash("after the wait") == "hashed"  # the slot was not lost


async def test_hashes_run_in_threads_at_the_lowest_cpu_priority() -> None:
    hasher = _hasher(concurrency=1)
    seen: list[tuple[int, int]] = []

    class PriorityProbe:
        def hash(self, password: str) -> str:
            thread = threading.get_native_id()
            seen.append((os.getpriority(os.PRIO_PROCESS, thread), os.sched_getscheduler(thread)))
            return "hashed"

    hasher._hash = PriorityProbe()  # type: ignore[assignment]
    await hasher.hash("a password to hash")
    assert seen == [(19, os.SCHED_IDLE)]
    main_thread = threading.get_native_id()
    assert os.getpriority(os.PRIO_PROCESS, main_thread) < 19  # the event loop is untouched
