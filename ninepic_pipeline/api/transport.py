"""HTTP transport: pooled connections, the key header, timeouts, retries, envelopes.

It knows the API's envelope and status codes but nothing of its endpoints; `client.py` speaks
those. The key lives only in the session's default headers: nothing here formats it into a
message.

It speaks HTTP through aiohttp, on an event loop of the calling thread's own: `get_each` keeps
a window of a gallery's page requests in flight on that one thread, where a pool of threads
each blocking on its own request cost three times the CPU a request
(`benchmarks/request_cost.py`: the urllib3 transport among 16 threads 650 µs, 16 in flight
through `get_each` 207-213; a confirmed read of 1M photos, 42% less of the process's CPU).
The callers stay synchronous: each thread that asks gets its own loop and session, run only
while it waits for its answers, so nothing is sent or paced while the caller works on a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import orjson

from ninepic_pipeline.api.errors import (
    NinepicConfigError,
    NinepicConnectionError,
    NinepicError,
    NinepicRateLimitError,
    NinepicResponseError,
    NinepicServerError,
    RequestScope,
    error_for_status,
)
from ninepic_pipeline.api.limiter import OrgLimiter
from ninepic_pipeline.api.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

API_MESSAGE_MAX_CHARS = 200
T = TypeVar("T")
Params = Mapping[str, Any] | None

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 30.0


@dataclass(frozen=True)
class Envelope:
    """A successful answer: the envelope's `data` object (its `message` is human text only)."""

    data: dict[str, Any]


@dataclass
class TransportStats:
    # By endpoint: a gallery's read counts its own retries while the timeline's run beside it.
    retries: Counter[str] = field(default_factory=Counter)


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, kind: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


def validate_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; https, or http to a loopback host only.

    Plain http would send the key across a network in clear, so it is refused there.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NinepicConfigError(
            f"NINEPIC_BASE_URL {base_url!r} is not an http(s) URL; set it like https://api.9pic.ai"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise NinepicConfigError(
            f"NINEPIC_BASE_URL {base_url!r} uses plain http to a non-loopback host, which would "
            "send the API key unencrypted; use https"
        )
    return base_url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpTransport:
    """GETs JSON envelopes from the API, retrying what is safe to retry, within bounds."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        pool_size: int = 10,
        limiter: OrgLimiter | None = None,
    ) -> None:
        """`sleep`, for tests, is called instead of waiting out a retry's delay; by default
        the loop waits, serving the other requests in flight meanwhile."""
        self.base_url = validate_base_url(base_url)
        if not api_key or not api_key.strip():
            raise NinepicConfigError("no 9pic API key configured; set NINEPIC_API_KEY")
        self._key = api_key.strip()
        if not (self._key.isascii() and self._key.isprintable()):
            raise NinepicConfigError(
                "NINEPIC_API_KEY holds characters an HTTP header cannot carry (a line break, a "
                "control or non-ASCII character); check that it was copied whole"
            )
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.limiter = limiter
        self._lock = threading.Lock()
        self.stats = TransportStats()
        self._pool_size = pool_size
        self._proxy = _proxy_for(self.base_url)
        self._local = threading.local()
        self._sessions: list[_LoopSession] = []
        # A transport dropped without `close` still closes its sessions, quietly: aiohttp
        # logs an error for each session collected open.
        weakref.finalize(self, _close_all, self._sessions, self._lock)

    def close(self) -> None:
        """Closes every thread's session; a thread that asks again gets a new one."""
        _close_all(self._sessions, self._lock)

    def get(
        self,
        path: str,
        scope: RequestScope,
        params: Params = None,
        cancelled: threading.Event | None = None,
    ) -> Envelope:
        """The envelope of a successful GET, or a typed `NinepicError`.

        Failures (5xx, timeouts, resets) may use `max_attempts`; throttling (429) is the
        gateway asking to slow down rather than failing, so it has a budget of its own,
        `max_throttled_attempts`. Both share the bound on total waiting. Once `cancelled` is
        set, a request still retrying gives up at its next failure.
        """
        session = self._session()
        return session.run(self._get(session.http, path, scope, params, cancelled))

    def get_each(
        self, path: str, scope: RequestScope, params: Iterable[Params], window: int
    ) -> Iterator[tuple[Envelope, datetime]]:
        """`get` for each of `params`, in their order, up to `window` requests in flight at
        once on this thread's loop, each envelope with the time its answer came (answers come
        in any order). Requests run while the caller waits for the next envelope; closing the
        iterator cancels those still in flight, retries included."""
        session = self._session()
        wanted = iter(params)
        pending: deque[asyncio.Task[tuple[Envelope, datetime]]] = deque()

        def ask(query: Params) -> None:
            request = self._answered(session.http, path, scope, query)
            pending.append(session.loop.create_task(request))

        try:
            for query in islice(wanted, window):
                ask(query)
            while pending:
                answer = session.run(pending.popleft())
                following = next(wanted, _END)
                if following is not _END:
                    ask(following)
                yield answer
        finally:
            for request in pending:
                request.cancel()
            if pending and not session.closed:
                session.run(asyncio.gather(*pending, return_exceptions=True))

    def _session(self) -> _LoopSession:
        _refuse_inside_a_running_loop()
        session: _LoopSession | None = getattr(self._local, "session", None)
        if session is None or session.closed:
            session = _LoopSession(self._key, self._pool_size, self.timeouts)
            with self._lock:
                self._sessions.append(session)
            self._local.session = session
        return session

    async def _answered(
        self, http: aiohttp.ClientSession, path: str, scope: RequestScope, params: Params
    ) -> tuple[Envelope, datetime]:
        envelope = await self._get(http, path, scope, params, None)
        return envelope, datetime.now(UTC)

    async def _get(
        self,
        http: aiohttp.ClientSession,
        path: str,
        scope: RequestScope,
        params: Params,
        cancelled: threading.Event | None,
    ) -> Envelope:
        waited, failures, throttles = 0.0, 0, 0
        while True:
            try:
                return await self._attempt(http, path, scope, params)
            except _Transient as transient:
                if transient.status == 429:
                    throttles += 1
                    spent = throttles >= self.retry.max_throttled_attempts
                else:
                    failures += 1
                    spent = failures >= self.retry.max_attempts
                attempts = failures + throttles
                delay = self.retry.delay(attempts, transient.retry_after)
                stopped = cancelled is not None and cancelled.is_set()
                if spent or stopped or waited + delay > self.retry.max_total_wait_s:
                    raise self._exhausted(transient, scope, attempts) from None
                with self._lock:
                    self.stats.retries[scope.endpoint] += 1
                log.warning(
                    "%s: %s, retry %d in %.2f s", scope.describe(), transient.kind, attempts, delay
                )
                waited += delay
                await self._wait(delay)

    async def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    async def _attempt(
        self, http: aiohttp.ClientSession, path: str, scope: RequestScope, params: Params
    ) -> Envelope:
        if self.limiter is None:
            return await self._request(http, path, scope, params)
        started = await self.limiter.acquire()
        throttled, retry_after = False, None
        try:
            return await self._request(http, path, scope, params)
        except asyncio.CancelledError:
            # No answer: nothing for the pace to learn from.
            self.limiter.abandon()
            started = None
            raise
        except _Transient as transient:
            throttled = transient.status == 429
            hinted = parse_retry_after(transient.retry_after) if throttled else None
            # An absurd Retry-After is ignored here as it is for the retry itself: it must not
            # park every worker of the organisation.
            if hinted is not None and hinted <= self.retry.retry_after_max_s:
                retry_after = hinted
            raise
        finally:
            if started is not None:
                self.limiter.release(throttled, retry_after, started)

    async def _request(
        self, http: aiohttp.ClientSession, path: str, scope: RequestScope, params: Params
    ) -> Envelope:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        try:
            # No redirects: one would carry the X-API-Key header to wherever it points.
            async with http.get(url, allow_redirects=False, proxy=self._proxy) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                body = await response.read()
        # Before the connection errors they are kinds of: no retry makes a certificate good.
        except (aiohttp.ClientSSLError, aiohttp.InvalidURL) as error:
            raise NinepicConnectionError(
                f"9pic API request on {scope.describe()} could not be made "
                f"({type(error).__name__}); check NINEPIC_BASE_URL",
                scope,
            ) from None
        # aiohttp's read and connect timeouts are TimeoutErrors (and ClientErrors).
        except TimeoutError:
            raise _Transient("timeout") from None
        except (aiohttp.ClientError, OSError):
            raise _Transient("connection error") from None
        if 300 <= status < 400:
            raise NinepicConfigError(
                f"9pic API on {scope.describe()} answered a redirect (HTTP {status}), which is "
                "not followed so the key stays with the API; set NINEPIC_BASE_URL to the API's "
                "own address",
                scope,
            )
        if status in RETRYABLE_STATUSES:
            raise _Transient(f"HTTP {status}", status, retry_after)
        envelope = _decode(body)
        if status != 200:
            message = self._api_message(envelope)
            raise error_for_status(status, scope, message)
        if envelope is None:
            # A 200 whose body is not JSON is a cut or mangled body: the next try may be whole.
            raise _Transient("truncated or non-JSON body")
        data = envelope.get("data")
        if envelope.get("responseType") != "success" or not isinstance(data, dict):
            raise NinepicResponseError(
                f"9pic API on {scope.describe()} answered 200 without a success envelope; "
                "the API may have changed: report it with the event id",
                scope,
            )
        return Envelope(data=data)

    def _api_message(self, envelope: dict[str, Any] | None) -> str | None:
        """The API's own message, single-line and short; dropped if it echoes any of the key."""
        if envelope is None or not isinstance(envelope.get("message"), str):
            return None
        text = " ".join(envelope["message"].split())[:API_MESSAGE_MAX_CHARS]
        if _echoes_key(text, self._key):
            return "[message withheld: it quoted the API key]"
        return text or None

    def _exhausted(self, transient: _Transient, scope: RequestScope, attempts: int) -> NinepicError:
        tail = (
            f"after {attempts} attempt(s) on {scope.describe()}; the API or the network is "
            "failing: retry the run later"
        )
        if transient.status == 429:
            return NinepicRateLimitError(
                f"9pic API kept throttling (429) {tail}, or ask 9pic support for a higher limit",
                scope,
            )
        if transient.status is not None:
            return NinepicServerError(
                f"9pic API kept failing (HTTP {transient.status}) {tail}", scope, transient.status
            )
        return NinepicConnectionError(f"9pic API request failed ({transient.kind}) {tail}", scope)


KEY_ECHO_MIN_CHARS = 8


_END = object()


def _close_all(sessions: list[_LoopSession], lock: threading.Lock) -> None:
    with lock:
        closing = sessions[:]
        sessions.clear()
    for session in closing:
        try:
            session.close()
        except Exception as error:  # the others must still close
            log.debug("a transport session did not close cleanly: %s", type(error).__name__)


class _LoopSession:
    """One thread's event loop and aiohttp session (a session belongs to the loop it was made
    on). The loop runs only while its thread waits in `run`."""

    def __init__(self, key: str, pool_size: int, timeouts: Timeouts) -> None:
        self.loop = asyncio.new_event_loop()
        self.http = self.loop.run_until_complete(_open_session(key, pool_size, timeouts))
        self.closed = False

    def run(self, work: Coroutine[Any, Any, T] | asyncio.Future[T]) -> T:
        """The work's result, the loop serving every request in flight meanwhile. Interrupted
        (Ctrl-C, a run terminated), the work is cancelled, so its limiter slot is given back."""
        task = work if isinstance(work, asyncio.Future) else self.loop.create_task(work)
        try:
            return self.loop.run_until_complete(task)
        except BaseException:
            if not task.done() and not self.loop.is_closed():
                task.cancel()
                self.loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            raise
        finally:
            # `close` from another thread while this one waited leaves the closing to it.
            if self.closed and not self.loop.is_closed():
                self._close_now()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.loop.is_running():
            # In use: by another thread, which closes it once its wait ends, or by this one,
            # in a finalizer run by the garbage collector inside `run`.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(_cancel_all, self.loop)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._close_now()
            return
        # Reached from inside another loop's run (a finalizer): a thread cannot run two loops.
        threading.Thread(target=self._close_now, daemon=True).start()

    def _close_now(self) -> None:
        _cancel_all(self.loop)
        tasks = asyncio.all_tasks(self.loop)
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.run_until_complete(self.http.close())
        self.loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


def _refuse_inside_a_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "NinepicClient is synchronous and was called on a thread running an event loop; "
        "call it from a worker thread (asyncio.to_thread)"
    )


async def _open_session(key: str, pool_size: int, timeouts: Timeouts) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=pool_size),
        headers={"X-API-Key": key, "Accept": "application/json"},
        # No total: a slow gallery is not a failure; a silent socket is.
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.connect_s, sock_read=timeouts.read_s
        ),
        # The proxy is looked up once, by `_proxy_for`; trust_env would also read ~/.netrc.
        trust_env=False,
    )


def _proxy_for(base_url: str) -> str | None:
    """The environment's proxy for the API, if it names one and does not bypass the host."""
    host = urlsplit(base_url).hostname or ""
    return None if proxy_bypass(host) else getproxies().get(urlsplit(base_url).scheme)


def _echoes_key(text: str, key: str) -> bool:
    """True when `text` holds any run of the key long enough to help guess it."""
    width = min(KEY_ECHO_MIN_CHARS, len(key))
    return any(key[i : i + width] in text for i in range(len(key) - width + 1))


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
