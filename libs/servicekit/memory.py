"""Bounded process memory under glibc: big blocks go back to the system when freed.

glibc's malloc raises its mmap threshold each time a big mmapped block is freed (up to 32 MiB):
after the first argon2 hash (19 MiB of memory per hash) every later one is carved from a heap
arena instead, one arena per hashing thread, and an arena's memory stays mapped after the burst.
A login burst so left auth at about 146 MB resident for good. Fixing the threshold (which turns
the adjustment off) keeps every block above it mmapped, unmapped on free; fewer arenas keep the
small-block fragmentation of many threads down; `trim()` hands freed heap pages back after a
burst. Elsewhere than glibc (musl, macOS) all of this is a no-op.
"""

import ctypes
import ctypes.util
import functools

from libs.servicekit.logs import get_logger

log = get_logger(__name__)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1024 * 1024  # blocks from 1 MiB up: mmapped, returned on free
TRIM_THRESHOLD_BYTES = 4 * 1024 * 1024  # free heap top above this is returned at once
ARENA_MAX = 2


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def bound_malloc() -> bool:
    """Set the process's malloc to give big blocks back (call once, early). True if it could."""
    libc = _libc()
    if libc is None:
        return False
    done = all(libc.mallopt(option, value) == 1 for option, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (M_ARENA_MAX, ARENA_MAX)))
    if not done:
        log.warning("malloc options not taken; memory may stay high after bursts")
    return done


def trim() -> bool:
    """Give the freed pages of every arena back to the system; True if some were."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
