"""The seals are made in worker processes: pyHanko's work is Python, and in threads of the
service it held the interpreter lock the service's event loop needs (every RPC of the service
waited behind the seals, and only one core sealed). A few processes, started with the service
and given the seal once, seal in parallel while the service keeps answering."""

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from libs.servicekit.logs import get_logger
from services.signing.sealing import Seal, SealingProblem, seal_pdf, seal_signer, tsa_seconds

log = get_logger(__name__)


@dataclass(frozen=True)
class SealTimes:
    """What one seal cost its worker: CPU seconds, seconds in all, seconds waiting for the
    timestamp authority."""

    cpu_s: float
    worker_s: float
    tsa_s: float


def seal_measured(pdf: bytes, lines: Sequence[str], seal: Seal) -> tuple[bytes, SealTimes]:
    """In a worker: `seal_pdf`, and what it cost."""
    cpu, wall, tsa = time.process_time(), time.perf_counter(), tsa_seconds()
    sealed = seal_pdf(pdf, lines, seal)
    return sealed, SealTimes(cpu_s=time.process_time() - cpu,
                             worker_s=time.perf_counter() - wall, tsa_s=tsa_seconds() - tsa)


def warm_up(seal: Seal) -> None:
    """In a worker: import pyHanko and load the seal before the first signature needs it."""
    seal_signer(seal)


class SealingPool:
    """`workers` processes (spawned: nothing of the service's threads is copied into them)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self, seal: Seal) -> ProcessPoolExecutor:
        """The pool, started (and warmed up with the seal) if it is not running."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"))
            warming: list[Future[None]] = [self._pool.submit(warm_up, seal)
                                           for _ in range(self._workers)]
            for future in warming:
                future.add_done_callback(_log_warm_up)
        return self._pool

    async def seal(self, pdf: bytes, lines: Sequence[str], seal: Seal) -> tuple[bytes, SealTimes]:
        """`seal_pdf` in a worker, with what it cost; a worker that died is
        replaced for the next seal."""
        pool = self.start(seal)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, seal_measured, pdf, list(lines), seal)
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise SealingProblem("a sealing worker stopped; the seal is made again") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _log_warm_up(future: Future[None]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("sealing worker not warmed up", error=str(error))
