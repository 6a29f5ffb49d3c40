"""A cheap cap on the logins the gateway has in flight to auth.

Every password login costs auth one argon2 hash. The gateway lets `in_flight` of them go to auth
at once and lets `waiting` more wait (a waiting request costs no CPU); beyond that, or after
waiting `max_wait_seconds`, it answers 503 with Retry-After at once. Auth bounds its own queue
too (several gateways share one auth); this keeps a flood from even reaching the bus.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from libs.servicekit.errors import Unavailable

RETRY_AFTER_SECONDS = 2
BUSY = "Too many log-ins at the moment. Please try again in {seconds} seconds."


def logins_busy(retry_after: int = RETRY_AFTER_SECONDS) -> Unavailable:
    """The 503 a login gets while the gateway's login queue is full."""
    return Unavailable(BUSY.format(seconds=retry_after),
                       fields={"retry_after": str(retry_after)})


class LoginGate:
    """At most `in_flight` logins at auth and `waiting` more in line, each for a bounded time."""

    def __init__(self, *, in_flight: int, waiting: int, max_wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(in_flight)
        self._waiting_limit = waiting
        self._waiting = 0
        self._max_wait = max_wait_seconds

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a login slot for the body; raise the 503 when the line is full or too slow."""
        if self._slots.locked() and self._waiting >= self._waiting_limit:
            raise logins_busy()
        self._waiting += 1
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise logins_busy() from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
