"""Benchmark: the argon2id time of one login (one verification), as auth runs it.

Verifies a password `--logins` times, one at a time, through auth's PasswordHasher with the
configured cost (MYBROKER_AUTH_ARGON2_*; default the OWASP minimum m=19 MiB, t=2, p=1) and
prints the median and p95 wall time in milliseconds (what a login waits when the queue is
empty; the thread runs at the lowest CPU priority, so a busy machine makes it longer on
purpose) and the CPU time one verification costs.

    python -m tests.load.bench_password_hashing --logins 200
"""

import argparse
import asyncio
import statistics
import time

from services.auth.config import AuthSettings
from services.auth.passwords.hashing import password_hasher


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def _benchmark(logins: int) -> None:
    settings = AuthSettings(environment="dev", jwt_private_key_path="")
    hasher = password_hasher(settings)
    stored = await hasher.hash("correct horse battery staple")
    durations: list[float] = []
    cpu_started = time.process_time()
    for number in range(logins):
        started = time.perf_counter()
        await hasher.verify("correct horse battery staple" if number % 2 else "a wrong one!!",
                            stored)
        durations.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / logins
    durations.sort()
    print(f"argon2id m={settings.argon2_memory_kib} KiB t={settings.argon2_time_cost} "
          f"p={settings.argon2_parallelism}: {logins} verifications, median "
          f"{statistics.median(durations):.1f} ms, p95 {_percentile(durations, 0.95):.1f} ms, "
          f"max {durations[-1]:.1f} ms; CPU {cpu_ms:.1f} ms per verification")
    hasher.close()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--logins", type=int, default=200)
    asyncio.run(_benchmark(parser.parse_args().logins))


if __name__ == "__main__":
    main()
