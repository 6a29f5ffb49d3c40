"""Password hashing with argon2id, off the event loop and bounded: a login flood starves nothing.

The hashes run in a few worker threads of their own at the lowest CPU priority, so a flood of
logins only takes CPU time that reads do not want. Logins wait for a free worker in a bounded
queue; when it is full, or a login waited too long, the answer comes at once ("too many log-ins
at the moment, try again in N seconds") instead of an RPC timeout later.
"""

import asyncio
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from pwdlib.hashers.argon2 import Argon2Hasher

from libs.servicekit import memory
from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import get_logger
from services.auth.config import AuthSettings
from services.auth.sessions.lockout.domain import RETRY_AFTER_FIELD

log = get_logger(__name__)
LOWEST_NICE = 19
FIRST_GUESS_SECONDS = 0.1  # one hash, until the first ones are measured
Result = TypeVar("Result")


def run_at_lowest_priority() -> None:
    """Make the calling thread the last to get a CPU (Linux: per thread; elsewhere a no-op).

    A thread has its own id on Linux, so `setpriority` on it leaves the event loop alone.
    SCHED_IDLE also lets any waking normal task preempt the hash at once, even a task of
    another process (nice alone only ranks threads within the process's scheduling group).
    """
    if not hasattr(os, "setpriority"):
        return
    thread_id = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread_id, LOWEST_NICE)
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
    except OSError as error:  # a locked-down container: hashing still works, only sooner
        log.warning("cannot lower the priority of the hashing thread", error=str(error))


class HashingBusy(Unavailable):
    """Too many logins wait for a hash; the caller should try again after `retry_after`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many log-ins at the moment. Please try again in {retry_after} seconds.",
            fields={RETRY_AFTER_FIELD: str(retry_after)})


class PasswordHasher:
    """Hashes and verifies passwords in `concurrency` low-priority threads.

    At most `queue_limit` callers wait for a free thread, each at most `max_wait_seconds`;
    beyond that HashingBusy is raised at once. Known and unknown e-mail addresses take the same
    path, so the refusal tells nothing about which accounts exist.
    """

    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int = 1, concurrency: int = 2,
        queue_limit: int = 16, max_wait_seconds: float = 3.0,
    ) -> None:
        # Each hash takes `memory_kib` at once: given back when freed, not kept in an arena.
        memory.bound_malloc()
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism),)
        )
        self._busy = 0  # hashes running or waiting; at 0 after a burst, memory is trimmed
        self._concurrency = concurrency
        self._queue_limit = queue_limit
        self._max_wait = max_wait_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting = 0
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2",
            initializer=run_at_lowest_priority)
        self._seconds_per_hash = FIRST_GUESS_SECONDS
        # Made up front so the first unknown-e-mail login takes no longer than the others.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))

    @property
    def seconds_per_hash(self) -> float:
        """The recent average time of one hash or verification (wall clock, in its thread)."""
        return self._seconds_per_hash

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password` (salted, with the configured cost)."""
        return await self._in_thread(lambda: self._hash.hash(password))

    async def verify(self, password: str, password_hash: str) -> bool:
        """True when `password` matches `password_hash`; an unreadable hash never matches."""
        return await self._in_thread(lambda: self._verify_now(password, password_hash))

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of a real verification, so an unknown e-mail cannot be told by timing."""
        await self.verify(password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        try:
            return self._hash.current_hasher.check_needs_rehash(password_hash)
        except ValueError:  # argon2's InvalidHashError: not a hash we can read
            return True

    def close(self) -> None:
        """Stop the worker threads (after the last hash)."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _retry_after(self) -> int:
        """Seconds until the queue ahead of a new caller has probably drained."""
        rounds = (self._waiting + self._concurrency) / self._concurrency
        return max(1, math.ceil(rounds * self._seconds_per_hash))

    async def _in_thread(self, work: Callable[[], Result]) -> Result:
        if self._slots.locked() and self._waiting >= self._queue_limit:
            raise HashingBusy(self._retry_after())
        self._waiting += 1
        self._busy += 1
        try:
            try:
                async with asyncio.timeout(self._max_wait):
                    await self._slots.acquire()
            except TimeoutError:
                raise HashingBusy(self._retry_after()) from None
            finally:
                self._waiting -= 1
            try:
                started = time.perf_counter()
                result = await asyncio.get_running_loop().run_in_executor(self._threads, work)
                # An average over the last ~10 hashes: the retry hint follows the machine's load.
                self._seconds_per_hash += (
                    time.perf_counter() - started - self._seconds_per_hash) / 10
                return result
            finally:
                self._slots.release()
        finally:
            self._busy -= 1
            if self._busy == 0:  # the burst is over: its freed memory goes back to the system
                self._threads.submit(memory.trim)

    def _verify_now(self, password: str, password_hash: str) -> bool:
        try:
            return self._hash.verify(password, password_hash)
        except (PwdlibError, ValueError):  # a hash of another scheme, or a malformed one
            return False


def password_hasher(settings: AuthSettings) -> PasswordHasher:
    """The argon2id hasher with the configured cost, concurrency and queue."""
    return PasswordHasher(
        memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.password_hashing_concurrency,
        queue_limit=settings.password_hashing_queue,
        max_wait_seconds=settings.password_hashing_wait_seconds,
    )
