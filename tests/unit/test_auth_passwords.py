"""Passwords are hashed with argon2id at the OWASP minimum, a bounded number at a time."""

import asyncio
import os
import threading

from services.auth.config import AuthSettings
from services.auth.passwords.hashing import HashingBusy, PasswordHasher


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
    release, two_running = threading.Event(), threading.Event()

    class HeldHash:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
                if running == 2:
                    two_running.set()
            release.wait(5)
            with lock:
                running -= 1
            return "hashed"

    hasher._hash = HeldHash()  # type: ignore[assignment]
    hashing = [asyncio.create_task(hasher.hash(f"password {n:04}")) for n in range(6)]
    try:
        assert await asyncio.to_thread(two_running.wait, 5)  # the first two reach threads
        for _ in range(10):  # the loop turns: were a third let through, it would start now
            await asyncio.sleep(0)
        assert running == 2 and not any(task.done() for task in hashing)
    finally:
        release.set()
    assert await asyncio.gather(*hashing) == ["hashed"] * 6  # the other four follow
    assert most == 2


async def test_hashing_leaves_the_event_loop_free() -> None:
    hasher = _hasher(concurrency=1)
    blocked = _BlockedHash()
    hasher._hash = blocked  # type: ignore[assignment]
    hashing = asyncio.create_task(hasher.hash("a password to hash"))
    try:
        for _ in range(5):  # the loop keeps turning while the hash is stuck in its thread
            await asyncio.sleep(0)
        assert not hashing.done()
    finally:
        blocked.release.set()
    assert await hashing == "hashed"
    assert blocked.threads and threading.get_ident() not in blocked.threads


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
    """Hashes that wait until the test lets them finish; notes the threads they ran in."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[int] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        self.release.wait(5)
        return "hashed"


async def test_a_login_beyond_the_full_queue_is_told_at_once_when_to_retry() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, concurrency=1, queue_limit=2)
    blocked = _BlockedHash()
    hasher._hash = blocked  # type: ignore[assignment]
    running = [asyncio.create_task(hasher.hash(f"password {n:04}")) for n in range(3)]
    await asyncio.sleep(0)  # one turn of the loop: one hashing, two waiting, the queue is full
    loop_turned = asyncio.Event()
    asyncio.get_running_loop().call_soon(loop_turned.set)
    try:
        await hasher.hash("one login too many")
    except HashingBusy as busy:
        assert not loop_turned.is_set()  # refused without waiting, not even one loop turn
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
    await asyncio.sleep(0)  # the first takes the only thread
    loop_turned = asyncio.Event()
    asyncio.get_running_loop().call_soon(loop_turned.set)
    try:
        await hasher.hash("the second password")
    except HashingBusy:
        assert loop_turned.is_set()  # it waited in line rather than being refused at once
        assert not first.done()  # and gave up while the slot was still taken
    else:
        raise AssertionError("the waiting login did not give up")
    finally:
        blocked.release.set()
    assert await first == "hashed"
    assert await hasher.hash("after the wait") == "hashed"  # the slot was not lost


def test_a_login_gives_up_waiting_for_a_hash_before_the_gateway_stops_waiting_for_auth() -> None:
    settings = AuthSettings()
    assert settings.password_hashing_wait_seconds < settings.rpc_timeout_seconds


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
