"""CPU per page request, by HTTP engine: the figures behind the README's "5 µs of CPU a photo".

Each engine GETs the same pages of 100 photos from one sandbox at 0 ms and decodes them with
orjson, on one thread and on many threads of a pool; the process's own CPU (user + sys) over
the requests, divided by the requests, is printed. The sandbox runs in a process of its own,
so its CPU is not counted.

Engines that multiplex their connections keep `--threads` requests in flight on the main
thread alone: the transport's `get_each` (how the pipeline reads a gallery's pages), bare
aiohttp on one event loop, and libcurl's multi interface through pycurl when it is installed
(not a dependency: `pip install pycurl` into the venv first). An aiohttp loop on a thread of
its own serving the threads of a pool is measured too: the shape of the transport's first
trial (`results-aiohttp-ab.md`).

    .venv/bin/python -m benchmarks.request_cost [--requests 3000] [--threads 16] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import importlib.metadata
import importlib.util
import io
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
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
# Every page GET, `in_flight` at a time, on the calling thread.
Run = Callable[[Sequence[int]], None]


def _transport(url: str, key: str, size: int) -> HttpTransport:
    """The pipeline's own transport (aiohttp, the key header, the envelope's checks) with the
    organisation's limiter, as `NinepicClient` gives it one."""
    transport = HttpTransport(url, key, pool_size=size)
    transport.limiter = OrgLimiter(size)
    return transport


def transport_get(url: str, key: str, threads: int) -> Get:
    """`HttpTransport.get`, one request at a time on each thread's own loop: how the client
    asks for everything but a gallery's pages."""
    transport = _transport(url, key, threads)
    scope = RequestScope(ORG, EVENT, "images")
    return lambda page: transport.get(PATH, scope, {"page": page, "page_size": PAGE_SIZE})


def transport_each_run(url: str, key: str, in_flight: int) -> Run:
    """`HttpTransport.get_each`, `in_flight` requests at a time on this thread's loop: how
    the client reads a gallery's pages."""
    transport = _transport(url, key, in_flight)
    scope = RequestScope(ORG, EVENT, "images")

    def fetch_all(pages: Sequence[int]) -> None:
        queries = ({"page": page, "page_size": PAGE_SIZE} for page in pages)
        for _ in transport.get_each(PATH, scope, queries, in_flight):
            pass

    return fetch_all


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


def _page_url(url: str, page: int) -> str:
    return f"{url}{PATH}?page={page}&page_size={PAGE_SIZE}"


def _decoded(status: int, body: bytes, page: int) -> object:
    if status != 200:
        raise RuntimeError(f"page {page}: HTTP {status}")
    return orjson.loads(body)


def _aiohttp_session(key: str, in_flight: int) -> Any:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=in_flight)
    headers = {"X-API-Key": key, "Accept": "application/json"}
    return aiohttp.ClientSession(connector=connector, headers=headers)


async def _opened(key: str, in_flight: int) -> Any:
    """A session made on the loop that will use it (aiohttp binds it to the running loop)."""
    return _aiohttp_session(key, in_flight)


async def _aiohttp_page(session: Any, url: str, page: int) -> object:
    async with session.get(_page_url(url, page), allow_redirects=False) as response:
        return _decoded(response.status, await response.read(), page)


def aiohttp_loop_run(url: str, key: str, in_flight: int) -> Run:
    """aiohttp on one event loop in this thread, `in_flight` requests at a time; the loop and
    its session, so its connections, are kept from one run to the next."""
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_opened(key, in_flight))
    atexit.register(lambda: loop.run_until_complete(session.close()))

    async def fetch_all(pages: Sequence[int]) -> None:
        slots = asyncio.Semaphore(in_flight)

        async def one(page: int) -> object:
            async with slots:
                return await _aiohttp_page(session, url, page)

        await asyncio.gather(*(one(page) for page in pages))

    return lambda pages: loop.run_until_complete(fetch_all(pages))


def aiohttp_bridged_get(url: str, key: str, threads: int) -> Get:
    """aiohttp on an event loop of its own thread, each GET handed to it by a pool's thread
    that waits for the answer: the pipeline's workers kept, only the engine under them
    swapped."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    session = asyncio.run_coroutine_threadsafe(_opened(key, threads), loop).result()
    atexit.register(lambda: asyncio.run_coroutine_threadsafe(session.close(), loop).result())
    return lambda page: asyncio.run_coroutine_threadsafe(
        _aiohttp_page(session, url, page), loop
    ).result()


def curl_multi_run(url: str, key: str, in_flight: int) -> Run:
    """libcurl's multi interface through pycurl: `in_flight` easy handles on one thread."""
    import pycurl

    def fetch_all(pages: Sequence[int]) -> None:
        multi, waiting = pycurl.CurlMulti(), iter(pages)
        bodies: dict[Any, tuple[int, io.BytesIO]] = {}

        def start(handle: Any) -> bool:
            page = next(waiting, None)
            if page is None:
                return False
            body = io.BytesIO()
            handle.setopt(pycurl.URL, _page_url(url, page))
            handle.setopt(pycurl.WRITEDATA, body)
            bodies[handle] = (page, body)
            multi.add_handle(handle)
            return True

        for _ in range(in_flight):
            handle = pycurl.Curl()
            handle.setopt(pycurl.HTTPHEADER, [f"X-API-Key: {key}", "Accept: application/json"])
            if not start(handle):
                break
        while bodies:
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            for handle in _finished(multi):
                page, body = bodies.pop(handle)
                _decoded(handle.getinfo(pycurl.RESPONSE_CODE), body.getvalue(), page)
                multi.remove_handle(handle)
                start(handle)
            multi.select(1.0)

    return fetch_all


def _finished(multi: Any) -> Iterator[Any]:
    while True:
        queued, done, failed = multi.info_read()
        if failed:
            raise RuntimeError(f"libcurl failed: {failed}")
        yield from done
        if not queued:
            return


ENGINES: dict[str, Callable[[str, str, int], Get]] = {
    "transport.get": transport_get,
    "requests.Session": session_get,
    "bare socket": socket_get,
}
# Each needs its library: (engine, the module it needs).
OPTIONAL_ENGINES: dict[str, tuple[Callable[[str, str, int], Get], str]] = {
    "aiohttp loop serving threads": (aiohttp_bridged_get, "aiohttp"),
}
MULTIPLEXED: dict[str, tuple[Callable[[str, str, int], Run], str]] = {
    "transport.get_each": (transport_each_run, "aiohttp"),
    "aiohttp, one event loop": (aiohttp_loop_run, "aiohttp"),
    "libcurl multi (pycurl)": (curl_multi_run, "pycurl"),
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


def multiplexed_cpu_per_request_us(run: Run, requests_n: int, in_flight: int) -> float:
    """CPU a request over `requests_n` GETs, `in_flight` at a time on one thread, after a first
    round that opens the connections."""
    run(list(range(1, in_flight + 1)))
    pages = [1 + n % 1000 for n in range(requests_n)]
    before = os.times()
    run(pages)
    after = os.times()
    return ((after.user - before.user) + (after.system - before.system)) / requests_n * 1e6


HEADERS = ["engine", "threads", "in flight on one thread", "CPU µs a request"]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.request_cost")
    ap.add_argument("--requests", type=int, default=3000, help="requests per engine and mode")
    ap.add_argument("--threads", type=int, default=16, help="threads of the concurrent mode")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    rows, missing = (
        [],
        sorted(
            {module for _, module in [*OPTIONAL_ENGINES.values(), *MULTIPLEXED.values()]}
            - {module for module in ("aiohttp", "pycurl") if _installed(module)}
        ),
    )
    threaded = dict(ENGINES)
    threaded.update(
        {name: engine for name, (engine, module) in OPTIONAL_ENGINES.items() if _installed(module)}
    )
    with SandboxProcess(photos=1000 * PAGE_SIZE) as sandbox:
        for name, engine in threaded.items():
            for threads in (1, args.threads):
                with progress(f"{name}, {threads} thread(s)"):
                    get = engine(sandbox.url, sandbox.key, threads)
                    cost = cpu_per_request_us(get, args.requests, threads)
                rows.append([name, str(threads), "", fmt(cost, 0)])
        for name, (run_engine, module) in MULTIPLEXED.items():
            if not _installed(module):
                continue
            with progress(f"{name}, {args.threads} in flight"):
                run = run_engine(sandbox.url, sandbox.key, args.threads)
                cost = multiplexed_cpu_per_request_us(run, args.requests, args.threads)
            rows.append([name, "1", str(args.threads), fmt(cost, 0)])
    text = "\n".join(
        [
            "# CPU per page request, by HTTP engine",
            "",
            *machine_lines(),
            f"- {args.requests:,} GETs of {PAGE_SIZE} photos per row, the sandbox at 0 ms in a "
            "process of its own; CPU is this process's user + sys over the requests",
            *(
                [f"- not measured, not installed: {', '.join(missing)} (`pip install` it first)"]
                if missing
                else []
            ),
            f"- aiohttp {importlib.metadata.version('aiohttp')} (the transport's engine)",
            *(
                [f"- pycurl {importlib.metadata.version('pycurl')}, not a dependency"]
                if _installed("pycurl")
                else []
            ),
            "",
            markdown_table(HEADERS, rows),
            "",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
