"""Benchmark: resident memory after a login burst, with glibc's default malloc and bounded.

Each mode runs in a fresh subprocess: auth's PasswordHasher (argon2id at auth's default cost and
concurrency) verifies a burst of passwords from many tasks at once, as a login burst does; the
process's VmRSS is printed before, at its peak, and after the burst once idle. `default` leaves
glibc as it is (its mmap threshold climbs past the 19 MiB of a hash, and every hashing thread's
arena keeps its blocks); `bounded` is what the services run with (libs/servicekit/memory.py).
With --run-dir, also prints the RSS of every process of a running `make dev` stack now.

    python -m tests.load.bench_idle_memory [--logins 64] [--run-dir .run/dev]
"""

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024


def rss_bytes(pid: int | str = "self") -> int:
    """VmRSS of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def burst(mode: str, logins: int) -> None:
    """One mode's run (in its own process): print RSS before, peak and idle after, in MiB."""
    from libs.servicekit import memory

    if mode == "default":  # as before: nothing set, nothing trimmed
        memory.bound_malloc = lambda: False
        memory.trim = lambda: False
    from services.auth.config import AuthSettings
    from services.auth.passwords.hashing import password_hasher

    settings = AuthSettings()
    hasher = password_hasher(settings.model_copy(update={"password_hashing_queue": logins}))
    stored = asyncio.run(hasher.hash("correct horse battery staple"))
    before = rss_bytes()
    peak = before

    async def flood() -> None:
        nonlocal peak

        async def one(number: int) -> None:
            nonlocal peak
            await hasher.verify(f"wrong password {number}", stored)
            peak = max(peak, rss_bytes())

        await asyncio.gather(*(one(number) for number in range(logins)))
        await asyncio.sleep(1.0)  # idle: the trim after the burst has run

    hasher._max_wait = 600.0  # every login of the burst waits its turn here
    asyncio.run(flood())
    time.sleep(1.0)
    print(f"{mode:<8} {logins} logins, {settings.password_hashing_concurrency} hashing threads, "
          f"argon2 m={settings.argon2_memory_kib} KiB: RSS before {before / MIB:6.1f} MiB  "
          f"peak {peak / MIB:6.1f} MiB  idle after {rss_bytes() / MIB:6.1f} MiB", flush=True)
    hasher.close()


def stack_rss(run_dir: Path) -> None:
    """RSS of each process of a `make dev` stack (by its run dir in the environment)."""
    environment = dict(line.split("=", 1) for line in
                       (run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    mongo_url = environment["MYBROKER_MONGO_URL"]
    for entry in sorted(Path("/proc").iterdir(), key=lambda path: path.name):
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            own = f"MYBROKER_MONGO_URL={mongo_url}".encode() in (entry / "environ").read_bytes()
        except OSError:
            continue
        if own and " -m " in command:
            name = command.split(" -m ", 1)[1].split()[0]
            print(f"{name:<20} pid {entry.name:>7}  RSS {rss_bytes(entry.name) / MIB:6.1f} MiB")


def main() -> None:
    """Run both modes, each in a fresh process; then the stack's RSS if asked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--logins", type=int, default=64)
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--mode", choices=["default", "bounded"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.mode:
        burst(arguments.mode, arguments.logins)
        return
    for mode in ("default", "bounded"):
        subprocess.run([sys.executable, "-m", "tests.load.bench_idle_memory", "--mode", mode,
                        "--logins", str(arguments.logins)], check=True)
    if arguments.run_dir is not None:
        stack_rss(arguments.run_dir)


if __name__ == "__main__":
    main()
