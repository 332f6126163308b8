"""The HTTP side: a threaded stdlib server in a daemon thread, wrapping `routes.handle`."""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import NamedTuple, Self
from urllib.parse import parse_qsl, urlsplit

from .cache import DEFAULT_MAX_BYTES, PageCache
from .chaos import Chaos, ChaosEngine
from .defaults import default_world
from .faults import FaultQueue
from .routes import Request, Response, error_response, handle
from .world import World


class RequestLogEntry(NamedTuple):
    """One served request. Headers are deliberately absent: they carry the API key."""

    method: str
    path: str
    query: dict[str, str]
    status: int | None  # None: a scripted disconnect, nothing was sent
    # time.monotonic() as the request was read and as its answer was about to be sent.
    received_at: float = 0.0
    answered_at: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as clients with a requests.Session expect.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK would
    # add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def version_string(self) -> str:
        return "9pic-sandbox/1.0"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        # Silent: tests would drown in access lines, and the default format is noise here.
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _discard_body(self) -> None:
        # An unread request body would be parsed as the next request on this connection.
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            self.rfile.read(int(length))

    def _serve(self) -> None:
        received_at = time.monotonic()
        self._discard_body()
        sandbox = self.server.sandbox
        if sandbox.latency_s > 0:
            time.sleep(sandbox.latency_s)
        parts = urlsplit(self.path)
        path = parts.path
        # Last value wins for a repeated parameter, as in FastAPI.
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        fault = sandbox.faults.take(path)
        if fault is not None and fault.disconnect:
            entry = RequestLogEntry(self.command, path, query, None, received_at, time.monotonic())
            sandbox._record(entry)
            self.close_connection = True
            return
        if fault is not None:
            response = fault.response()
        else:
            request = Request(self.command, path, query, self.headers.get("X-API-Key"))
            # One world and one engine for the whole request, even if either is replaced now.
            world, engine = sandbox.world, sandbox._engine
            cache = None if engine.chaos.edits_bodies else sandbox.page_cache
            response = engine.respond(
                world, request, lambda: _answer(world, sandbox.keys, request, cache)
            )
        # Logged before sending, so a client that has its reply always finds it in the log.
        status = response.status
        sandbox._record(
            RequestLogEntry(self.command, path, query, status, received_at, time.monotonic())
        )
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        length = len(response.body)
        for name, value in response.headers.items():
            if name.lower() == "content-length":
                # A scripted wrong length simulates a truncated body; the connection must close
                # afterwards, or the client would wait for bytes that never come.
                length = int(value)
                continue
            self.send_header(name, value)
        if length != len(response.body):
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(response.body)


def _answer(
    world: World, keys: Mapping[int, str], request: Request, cache: PageCache | None
) -> Response:
    try:
        return handle(world, keys, request, cache)
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return error_response(500, "Internal failure")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the connections a client opens at once beyond
    # it (each then waits a second for its SYN to be sent again); an API's gateway does not.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn, a reverse DNS lookup that can stall.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        # Idle keep-alive threads would otherwise go on answering after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away; nothing to report
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class SandboxServer:
    """A local server speaking the 9pic external API over a World.

    `keys` maps org id to API key; orgs of the world without one get a random key. Keys,
    `latency_s` and `world` may be changed while the server runs. `chaos` turns on seeded
    fault modes (see `Chaos`), applied after the scripted `faults`; replacing it (`set_chaos`)
    starts over from its seed and applies its size modes to the world of that moment.
    `page_cache_bytes` bounds the cache of encoded All Photos pages (0: no cache); it is keyed
    by gallery version, so changing the world never serves a stale page.
    """

    def __init__(
        self,
        world: World | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: Mapping[int, str] | None = None,
        latency_s: float = 0.0,
        chaos: Chaos | None = None,
        page_cache_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.world = world if world is not None else default_world()
        self.host = host
        self._requested_port = port
        self.keys: dict[int, str] = {
            org_id: secrets.token_urlsafe(24) for org_id in self.world.org_ids
        }
        self.keys.update(keys or {})
        self.latency_s = latency_s
        self.faults = FaultQueue()
        self.page_cache = PageCache(page_cache_bytes)
        self._engine = ChaosEngine(chaos or Chaos(), self.world)
        self._log: list[RequestLogEntry] = []
        self._log_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("sandbox server already started")
        httpd = _HTTPServer((self.host, self._requested_port), self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"9pic-sandbox-{httpd.server_port}",
            daemon=True,
        )
        thread.start()
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox server not started")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def chaos(self) -> Chaos:
        return self._engine.chaos

    @chaos.setter
    def chaos(self, chaos: Chaos | None) -> None:
        self.set_chaos(chaos)

    def set_chaos(self, chaos: Chaos | None) -> None:
        """Switch to `chaos` (None: all off) with a fresh engine: new generator, zeroed stats.

        Its size modes change the current world now, on top of any earlier chaos's changes.
        """
        self._engine = ChaosEngine(chaos or Chaos(), self.world)

    @property
    def chaos_stats(self) -> dict[str, int]:
        """How many times each kind of chaos fault was injected since the chaos was set."""
        return self._engine.stats

    @property
    def request_log(self) -> list[RequestLogEntry]:
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, entry: RequestLogEntry) -> None:
        with self._log_lock:
            self._log.append(entry)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"SandboxServer({where}, orgs={sorted(self.keys)})"
