"""Passwords are hashed with argon2id at the OWASP minimum, a bounded number at a time."""

import asyncio
import threading
import time

from services.auth.passwords import PasswordHasher


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
