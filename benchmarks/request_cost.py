"""CPU per page request, by HTTP engine: the figures behind the README's "5 µs of CPU a photo".

Each engine GETs the same pages of 100 photos from one sandbox at 0 ms and decodes them with
orjson, on one thread and on many threads of a pool; the process's own CPU (user + sys) over
the requests, divided by the requests, is printed. The sandbox runs in a process of its own,
so its CPU is not counted.

    .venv/bin/python -m benchmarks.request_cost [--requests 3000] [--threads 16] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import requests

from benchmarks.harness import (
    EVENT,
    ORG,
    PAGE_SIZE,
    SandboxProcess,
    fmt,
    machine_lines,
    markdown_table,
    progress,
)
from ninepic_pipeline.api.errors import RequestScope
from ninepic_pipeline.api.limiter import OrgLimiter
from ninepic_pipeline.api.transport import HttpTransport

PATH = f"/api/v1/ext/{ORG}/event/{EVENT}/images"
Get = Callable[[int], object]


def transport_get(url: str, key: str, threads: int) -> Get:
    """The pipeline's own transport (urllib3, the key header, the envelope's checks) with the
    organisation's limiter, as `NinepicClient` gives it one."""
    transport = HttpTransport(url, key, pool_size=threads)
    transport.limiter = OrgLimiter(threads)
    scope = RequestScope(ORG, EVENT, "images")
    return lambda page: transport.get(PATH, scope, {"page": page, "page_size": PAGE_SIZE})


def session_get(url: str, key: str, threads: int) -> Get:
    """A `requests.Session` per thread, as the loop contender and dlt read."""
    local = threading.local()

    def get(page: int) -> object:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["X-API-Key"] = key
        response = session.get(url + PATH, params={"page": page, "page_size": PAGE_SIZE})
        response.raise_for_status()
        return orjson.loads(response.content)

    return get


def socket_get(url: str, key: str, threads: int) -> Get:
    """HTTP/1.1 written and parsed by hand over one kept-alive socket a thread: what the bytes
    cost without any client library (no chunked bodies, no TLS; a yardstick, not a client)."""
    host, port = urlsplit(url).hostname or "", urlsplit(url).port or 80
    local = threading.local()

    def get(page: int) -> object:
        stream = getattr(local, "stream", None)
        if stream is None:
            conn = socket.create_connection((host, port))
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local.conn, stream = conn, conn.makefile("rb")
            local.stream = stream
        request = (
            f"GET {PATH}?page={page}&page_size={PAGE_SIZE} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"X-API-Key: {key}\r\nAccept: application/json\r\n\r\n"
        )
        local.conn.sendall(request.encode())
        status = stream.readline()
        if status.split(b" ", 2)[1:2] != [b"200"]:
            raise RuntimeError(f"page {page}: {status!r}")
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return orjson.loads(stream.read(length))

    return get


ENGINES: dict[str, Callable[[str, str, int], Get]] = {
    "transport": transport_get,
    "requests.Session": session_get,
    "bare socket": socket_get,
}


def cpu_per_request_us(get: Get, requests_n: int, threads: int) -> float:
    """CPU a request over `requests_n` GETs: one after another in this thread for `threads` 1,
    else on the threads of a pool (the pipeline's shape: its futures and queues are counted
    too). Every thread has made its connection before the clock starts."""
    pages = [1 + n % 1000 for n in range(requests_n)]
    if threads == 1:
        get(1)
        before = os.times()
        for page in pages:
            get(page)
        after = os.times()
        return ((after.user - before.user) + (after.system - before.system)) / requests_n * 1e6
    with ThreadPoolExecutor(threads) as pool:
        started = threading.Barrier(threads)

        def first(page: int) -> None:
            get(page)
            started.wait()  # holds each thread, so that every one of them takes a first page

        list(pool.map(first, range(1, threads + 1)))
        before = os.times()
        list(pool.map(get, pages))
        after = os.times()
    spent = (after.user - before.user) + (after.system - before.system)
    return spent / requests_n * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.request_cost")
    ap.add_argument("--requests", type=int, default=3000, help="requests per engine and mode")
    ap.add_argument("--threads", type=int, default=16, help="threads of the concurrent mode")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    rows = []
    with SandboxProcess(photos=1000 * PAGE_SIZE) as sandbox:
        for name, engine in ENGINES.items():
            for threads in (1, args.threads):
                with progress(f"{name}, {threads} thread(s)"):
                    get = engine(sandbox.url, sandbox.key, threads)
                    cost = cpu_per_request_us(get, args.requests, threads)
                rows.append([name, str(threads), fmt(cost, 0)])
    text = "\n".join(
        [
            "# CPU per page request, by HTTP engine",
            "",
            *machine_lines(),
            f"- {args.requests:,} GETs of {PAGE_SIZE} photos per row, the sandbox at 0 ms in a "
            "process of its own; CPU is this process's user + sys over the requests",
            "",
            markdown_table(["engine", "threads", "CPU µs a request"], rows),
            "",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
