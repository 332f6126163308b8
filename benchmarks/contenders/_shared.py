"""What every contender needs: the same flags, one way of counting requests, one result line."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pyarrow.parquet as pq
import urllib3.connection

IMAGES_PATH = "/api/v1/ext/{org}/event/{event}/images"


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="API base URL, e.g. http://127.0.0.1:8765")
    parser.add_argument("--key", required=True, help="API key of the org")
    parser.add_argument("--org", type=int, default=903, help="organisation id (default: 903)")
    parser.add_argument("--event", type=int, required=True, help="event id to read")
    parser.add_argument("--out", type=Path, required=True, help="folder for this run's output")
    return parser


class RequestCounter:
    """Counts HTTP requests as the HTTP engine sends them, below every client's paging: at
    urllib3's connection (the loop and dlt, through requests) and at aiohttp's session (the
    pipeline).

    Counting there rather than in each contender's code gives one definition of "a request"
    for all of them, and includes the retries that a library makes out of sight.
    """

    def __init__(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        # From the first request sent to the last response's headers: the span of the paging
        # itself, without start-up, the run around it or the write after it.
        self.first_sent: float | None = None
        self.last_answered: float | None = None
        self._lock = threading.Lock()

    def paging_s(self) -> float | None:
        if self.first_sent is None or self.last_answered is None:
            return None
        return self.last_answered - self.first_sent

    def install(self) -> RequestCounter:
        connection = urllib3.connection.HTTPConnection
        request, getresponse = connection.request, connection.getresponse
        counter = self

        def counted_request(conn: Any, *args: Any, **kwargs: Any) -> None:
            counter.sent()
            request(conn, *args, **kwargs)

        def counted_getresponse(conn: Any, *args: Any, **kwargs: Any) -> Any:
            response = getresponse(conn, *args, **kwargs)
            counter.answered(response.status)
            return response

        connection.request = counted_request  # type: ignore[method-assign]
        connection.getresponse = counted_getresponse  # type: ignore[method-assign]
        self._install_aiohttp()
        return self

    def sent(self) -> None:
        with self._lock:
            self.requests += 1
            if self.first_sent is None:
                self.first_sent = time.perf_counter()

    def answered(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.last_answered = time.perf_counter()

    def _install_aiohttp(self) -> None:
        """`ClientSession._request` is each request and each retry the session sends; it
        returns once the response's headers are in, as urllib3's `getresponse` does."""
        session = aiohttp.ClientSession
        request = session._request
        counter = self

        async def counted(client: Any, *args: Any, **kwargs: Any) -> Any:
            counter.sent()
            response = await request(client, *args, **kwargs)
            counter.answered(response.status)
            return response

        session._request = counted  # type: ignore[method-assign]


def parquet_rows(paths: Iterable[Path]) -> int:
    """Rows of the files, from their footers: no data is read."""
    return sum(pq.read_metadata(path).num_rows for path in paths)


class Stopwatch:
    """Wall and CPU time of the work alone, without interpreter start-up and imports."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def cpu(self) -> float:
        return time.process_time() - self.cpu_start


def emit(photos: int, counter: RequestCounter, watch: Stopwatch, **extra: Any) -> None:
    """The contender's one result line; the harness reads the last line of stdout."""
    paging = counter.paging_s()
    result = {
        "photos": photos,
        "requests": counter.requests,
        "statuses": {str(k): v for k, v in sorted(counter.statuses.items())},
        "work_s": round(watch.elapsed(), 4),
        "work_cpu_s": round(watch.cpu(), 4),
        "paging_s": None if paging is None else round(paging, 4),
        **extra,
    }
    print(json.dumps(result), flush=True)
