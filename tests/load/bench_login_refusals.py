"""Benchmark: how fast a login flood is refused, and how long a queued login waits before it is.

In process, no stack needed. Fills the gateway's LoginGate and auth's PasswordHasher (with a
hash held until the end, so no CPU goes to argon2) and times, `--tries` times each:
- a login refused by the full gateway gate (the 503 comes without waiting);
- a login refused by auth's full hashing queue (the same, one hop later);
- a login that waits in auth's queue for `--max-wait` seconds and then gives up (its overshoot
  is how late the 503 comes after the bound; it must stay well under the RPC timeout).
Prints median, p95 and max of each. The unit tests check the behaviour (refused before the event
loop turns once; gave up while the slot was still taken); these are the figures.

    python -m tests.load.bench_login_refusals --tries 2000
"""

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable

from gateway.login_gate import LoginGate
from libs.servicekit.errors import Unavailable
from services.auth.passwords.hashing import PasswordHasher


class _HeldHash:
    """A hash that waits until the benchmark ends, keeping its thread (and slot) taken."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        self.release.wait(600)
        return "held"


def _summary(label: str, seconds: list[float], unit: str = "µs", scale: float = 1e6) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{label}: {len(ordered)} tries, median {statistics.median(ordered) * scale:.1f} "
            f"{unit}, p95 {p95 * scale:.1f} {unit}, max {ordered[-1] * scale:.1f} {unit}")


async def _timed_refusals(refused: Callable[[], Awaitable[object]], tries: int) -> list[float]:
    durations = []
    for _ in range(tries):
        started = time.perf_counter()
        try:
            await refused()
        except Unavailable:
            durations.append(time.perf_counter() - started)
        else:
            raise AssertionError("a login was let through a full line")
    return durations


async def _gate_refusals(tries: int) -> list[float]:
    gate = LoginGate(in_flight=1, waiting=0, max_wait_seconds=5)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admitted():
            await release.wait()

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0)

    async def one_more() -> None:
        async with gate.admitted():
            pass

    durations = await _timed_refusals(one_more, tries)
    release.set()
    await holding
    return durations


async def _hasher_refusals(tries: int, max_wait: float, waits: int) -> tuple[list[float],
                                                                            list[float]]:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, concurrency=1, queue_limit=0,
                            max_wait_seconds=max_wait)
    held = _HeldHash()
    hasher._hash = held  # type: ignore[assignment]
    holding = asyncio.create_task(hasher.hash("the held password"))
    await asyncio.sleep(0)
    refusals = await _timed_refusals(lambda: hasher.hash("one login too many"), tries)
    hasher._queue_limit = waits  # now there is room in line: each caller waits, then gives up
    overshoots = [seconds - max_wait for seconds in await _timed_refusals(
        lambda: hasher.hash("a login that waits"), waits)]
    held.release.set()
    await holding
    hasher.close()
    return refusals, overshoots


async def _benchmark(tries: int, max_wait: float, waits: int) -> None:
    print(_summary("gateway gate full, 503", await _gate_refusals(tries)))
    refusals, overshoots = await _hasher_refusals(tries, max_wait, waits)
    print(_summary("auth hashing queue full, 503", refusals))
    print(_summary(f"queued login gives up after {max_wait:.2f} s, lateness", overshoots,
                   unit="ms", scale=1e3))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tries", type=int, default=2000)
    parser.add_argument("--max-wait", type=float, default=0.1,
                        help="seconds a queued login waits for a hash (default 0.1)")
    parser.add_argument("--waits", type=int, default=20, help="queued logins timed")
    arguments = parser.parse_args()
    asyncio.run(_benchmark(arguments.tries, arguments.max_wait, arguments.waits))


if __name__ == "__main__":
    main()
