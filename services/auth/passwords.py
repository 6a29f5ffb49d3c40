"""Password hashing with argon2id, off the event loop and bounded: a login flood starves nothing."""

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from pwdlib.hashers.argon2 import Argon2Hasher

from services.auth.config import AuthSettings


class PasswordHasher:
    """Hashes and verifies passwords in worker threads, at most `concurrency` at once."""

    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int = 1, concurrency: int = 2
    ) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism),)
        )
        self._slots = asyncio.Semaphore(concurrency)
        # Made up front so the first unknown-e-mail login takes no longer than the others.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password` (salted, with the configured cost)."""
        async with self._slots:
            return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        """True when `password` matches `password_hash`; an unreadable hash never matches."""
        async with self._slots:
            return await asyncio.to_thread(self._verify_now, password, password_hash)

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of a real verification, so an unknown e-mail cannot be told by timing."""
        await self.verify(password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        try:
            return self._hash.current_hasher.check_needs_rehash(password_hash)
        except ValueError:  # argon2's InvalidHashError: not a hash we can read
            return True

    def _verify_now(self, password: str, password_hash: str) -> bool:
        try:
            return self._hash.verify(password, password_hash)
        except (PwdlibError, ValueError):  # a hash of another scheme, or a malformed one
            return False


def password_hasher(settings: AuthSettings) -> PasswordHasher:
    """The argon2id hasher with the configured cost and concurrency."""
    return PasswordHasher(
        memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.password_hashing_concurrency,
    )
