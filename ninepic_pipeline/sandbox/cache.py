"""A bounded LRU of encoded All Photos page bodies, so repeated reads cost the server no JSON work.

Encoding 100 image items takes the server several times the CPU a client spends decoding them;
without this, a benchmark at 0 ms latency measures the sandbox instead of the client. Entries are
keyed by the gallery's version, which changes on every upload, deletion and size change, so a
stale body can never be served: the key it was stored under is simply never asked for again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final, NamedTuple

# A 1M-photo gallery is 10,000 pages of ~30 KB. A budget smaller than one whole gallery would
# make a sequential re-read miss every page (LRU evicts each page before it comes round again),
# so the default holds a full million-photo gallery with room to spare.
DEFAULT_MAX_BYTES: Final = 512 * 1024 * 1024


class PageKey(NamedTuple):
    org_id: int
    event_id: int
    page: int
    page_size: int
    version: int


class PageCache:
    """Thread-safe LRU of response bodies, bounded by their total size in bytes.

    `max_bytes=0` turns it off (every lookup misses, nothing is stored). A body larger than the
    whole budget is not stored rather than flushing everything else out.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[PageKey, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: PageKey) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: PageKey, body: bytes) -> None:
        size = len(body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = body
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes
