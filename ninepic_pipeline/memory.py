"""How this process hands freed memory back to the system, tuned for reads of large galleries.

A gallery read allocates its columns, statistics and Parquet row groups in blocks of megabytes
and frees most of them within seconds. Two defaults keep those freed blocks as resident memory:

- pyarrow's default allocator (mimalloc) keeps freed pages for reuse: after reading a million
  photos a run held 667 MB for a 223 MB table, 390 MB with the system allocator.
- glibc raises its mmap threshold to the size of every mmap'd block freed (up to 32 MB), so
  after the first large free, blocks of that size come from the heap, where a free returns
  nothing to the system while anything above it is still live. Fixing the threshold (which
  also turns that adjustment off) keeps every block over 128 KiB mmap'd and so returned when
  freed: at a million photos a run's peak fell from 516 to 467 MB, for about 1 s of CPU. The trim
  threshold, which glibc raises alongside, is fixed too (twice the mmap threshold, its own
  pairing), so that freed memory at the top of the heap is returned as well.

Either is left as the deployment set it (`ARROW_DEFAULT_MEMORY_POOL`; `MALLOC_MMAP_THRESHOLD_`,
`MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES`).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

import pyarrow as pa

# glibc's mallopt parameter numbers, from <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024
_GLIBC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def configure_allocators() -> None:
    """Set Arrow's and glibc's allocators to give freed blocks back to the system, once for
    the whole process (a batch publishes many events)."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())
    deployed = any(name in os.environ for name in _GLIBC_SETTINGS)
    if not deployed and platform.libc_ver()[0] == "glibc":
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_BYTES)


def return_freed_memory() -> None:
    """Hand the system the free pages inside glibc's heaps, once a phase that freed many
    blocks is over (a gallery read): freed blocks below a live one stay resident, and a thread
    that allocated (the timeline's, pyarrow's) leaves some in an arena of its own (8 MB at a
    million photos with the page threads the transport had before its event loop)."""
    if platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(None).malloc_trim(0)
