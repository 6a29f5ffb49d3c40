"""Background jobs that run every N seconds for the life of a service."""

import asyncio
from collections.abc import Awaitable, Callable

from libs.servicekit.errors import Unavailable
from libs.servicekit.logs import get_logger

log = get_logger(__name__)


async def run_every(seconds: float, job: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run `job` every `seconds` until cancelled. A round that fails is logged and the next one
    runs anyway: one bad document or a database that is away must not end the job."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Unavailable:
            pass  # a dependency is away; tried again next round
        except Exception:
            log.exception("periodic job failed; trying again next round", job=name)
