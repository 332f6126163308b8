"""HTTP transport: pooled connections, the key header, timeouts, retries, envelopes.

It knows the API's envelope and status codes but nothing of its endpoints; `client.py` speaks
those. The key lives only in the pool's default headers: nothing here formats it into a message.

It speaks HTTP through urllib3, the engine under `requests`, rather than `requests.Session`:
on these machines a Session costs about twice the CPU of this transport per request
(`benchmarks/request_cost.py`: 2.1-2.3x in one thread, 1.7-1.9x among 16), and a gallery of
100-photo pages cannot spend 7-12 µs a photo on its requests alone.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import orjson
import urllib3
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    TimeoutError,
)

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
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 10,
        limiter: OrgLimiter | None = None,
    ) -> None:
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
        self._pool = _pool_for(self.base_url, pool_size, self._key, self.timeouts)

    def close(self) -> None:
        self._pool.clear()

    def get(
        self,
        path: str,
        scope: RequestScope,
        params: Mapping[str, Any] | None = None,
        cancelled: threading.Event | None = None,
    ) -> Envelope:
        """The envelope of a successful GET, or a typed `NinepicError`.

        Failures (5xx, timeouts, resets) may use `max_attempts`; throttling (429) is the
        gateway asking to slow down rather than failing, so it has a budget of its own,
        `max_throttled_attempts`. Both share the bound on total waiting.
        """
        waited, failures, throttles = 0.0, 0, 0
        while True:
            try:
                return self._attempt(path, scope, params)
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
                self._sleep(delay)

    def _attempt(
        self, path: str, scope: RequestScope, params: Mapping[str, Any] | None
    ) -> Envelope:
        if self.limiter is None:
            return self._request(path, scope, params)
        self.limiter.acquire()
        throttled, retry_after = False, None
        try:
            return self._request(path, scope, params)
        except _Transient as transient:
            throttled = transient.status == 429
            hinted = parse_retry_after(transient.retry_after) if throttled else None
            # An absurd Retry-After is ignored here as it is for the retry itself: it must not
            # park every worker of the organisation.
            if hinted is not None and hinted <= self.retry.retry_after_max_s:
                retry_after = hinted
            raise
        finally:
            self.limiter.release(throttled, retry_after)

    def _request(
        self, path: str, scope: RequestScope, params: Mapping[str, Any] | None
    ) -> Envelope:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        try:
            # No redirects: one would carry the X-API-Key header to wherever it points.
            response = self._pool.request("GET", url, redirect=False, retries=False)
            body = response.data
        # NewConnectionError first: urllib3 makes it a TimeoutError for old callers' sake.
        except (NewConnectionError, ProtocolError, DecodeError, OSError):
            raise _Transient("connection error") from None
        except TimeoutError:
            raise _Transient("timeout") from None
        except HTTPError as error:
            raise NinepicConnectionError(
                f"9pic API request on {scope.describe()} could not be made "
                f"({type(error).__name__}); check NINEPIC_BASE_URL",
                scope,
            ) from None
        status = response.status
        if 300 <= status < 400:
            raise NinepicConfigError(
                f"9pic API on {scope.describe()} answered a redirect (HTTP {status}), which is "
                "not followed so the key stays with the API; set NINEPIC_BASE_URL to the API's "
                "own address",
                scope,
            )
        if status in RETRYABLE_STATUSES:
            raise _Transient(f"HTTP {status}", status, response.headers.get("Retry-After"))
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


def _pool_for(base_url: str, size: int, key: str, timeouts: Timeouts) -> urllib3.PoolManager:
    """A connection pool for the API, through the environment's proxy if it names one.

    The proxy is looked up once here, not per request.
    """
    host = urlsplit(base_url).hostname or ""
    proxy = None if proxy_bypass(host) else getproxies().get(urlsplit(base_url).scheme)
    options: dict[str, Any] = {
        "num_pools": 2,
        "maxsize": size,
        "headers": {"X-API-Key": key, "Accept": "application/json"},
        "timeout": urllib3.Timeout(connect=timeouts.connect_s, read=timeouts.read_s),
    }
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


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
