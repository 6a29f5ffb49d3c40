"""Work started after a reply: its duration must not show in the answer time (no enumeration)."""

import asyncio
from collections.abc import Coroutine
from typing import Any

from libs.servicekit.logs import get_logger

log = get_logger(__name__)


class BackgroundWork:
    """Runs coroutines after the reply, logs their failures, and can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` now without waiting for it; a failure is logged as `what` failed."""
        task = asyncio.create_task(self._logged(work, what))
        self._tasks.add(task)  # keep a reference until done (asyncio holds weak ones)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until every started piece of work has finished (tests, a clean stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:  # after the reply nobody else can report it
            log.exception("background work failed", what=what)
