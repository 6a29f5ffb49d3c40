"""Background jobs that run every N seconds for the life of a service.

With replicas, a job given a lease runs in one replica at a time: the one holding the lease
(lease.py); the others only try to take it over each round.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from libs.servicekit.errors import Unavailable
from libs.servicekit.lease import Lease
from libs.servicekit.logs import get_logger

log = get_logger(__name__)


async def run_every(
    seconds: float, job: Callable[[], Awaitable[object]], *, name: str, lease: Lease | None = None
) -> None:
    """Run `job` every `seconds` until cancelled; with a `lease`, only in the replica holding
    it. A round that fails is logged and the next one runs anyway: one bad document or a
    database that is away must not end the job."""
    try:
        while True:
            await asyncio.sleep(seconds)
            await _one_round(job, name=name, lease=lease)
    finally:
        if lease is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(lease.release())


async def _one_round(job: Callable[[], Awaitable[object]], *, name: str,
                     lease: Lease | None) -> None:
    try:
        if lease is None:
            await job()
            return
        async with lease.holding() as held:
            if held:
                await job()
    except Unavailable:
        pass  # a dependency is away; tried again next round
    except Exception:
        log.exception("periodic job failed; trying again next round", job=name)


async def stop_background(tasks: list["asyncio.Task[None]"]) -> None:
    """Cancel a service's background jobs and wait until they have ended: a job's lease is
    released on its way out, so a restarted replica need not wait for the lease to expire."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
