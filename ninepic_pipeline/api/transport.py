"""HTTP transport: one pooled `requests.Session`, the key header, timeouts, retries, envelopes.

It knows the API's envelope and status codes but nothing of its endpoints; `client.py` speaks
those. The key lives only in the session's headers: nothing here formats it into a message.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

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
from ninepic_pipeline.api.retry import RETRYABLE_STATUSES, RetryPolicy

API_MESSAGE_MAX_CHARS = 200


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 30.0


@dataclass(frozen=True)
class Envelope:
    """A successful answer: the envelope's `data` object and its human `message`."""

    data: dict[str, Any]
    message: str


@dataclass
class TransportStats:
    requests: int = 0
    retries: int = 0
    waited_s: float = 0.0


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
    ) -> None:
        self.base_url = validate_base_url(base_url)
        if not api_key or not api_key.strip():
            raise NinepicConfigError("no 9pic API key configured; set NINEPIC_API_KEY")
        self._key = api_key.strip()
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = TransportStats()
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"X-API-Key": self._key, "Accept": "application/json"})

    def close(self) -> None:
        self._session.close()

    def get(
        self, path: str, scope: RequestScope, params: Mapping[str, Any] | None = None
    ) -> Envelope:
        """The envelope of a successful GET, or a typed `NinepicError`."""
        waited = 0.0
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return self._attempt(path, scope, params)
            except _Transient as transient:
                if attempt == self.retry.max_attempts:
                    raise self._exhausted(transient, scope, attempt) from None
                delay = self.retry.delay(attempt, transient.retry_after)
                if waited + delay > self.retry.max_total_wait_s:
                    raise self._exhausted(transient, scope, attempt) from None
                with self._lock:
                    self.stats.retries += 1
                    self.stats.waited_s += delay
                waited += delay
                self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(
        self, path: str, scope: RequestScope, params: Mapping[str, Any] | None
    ) -> Envelope:
        with self._lock:
            self.stats.requests += 1
        try:
            response = self._session.get(
                self.base_url + path,
                params=params,
                timeout=(self.timeouts.connect_s, self.timeouts.read_s),
                # A redirect would carry the X-API-Key header to wherever it points.
                allow_redirects=False,
            )
            body = response.content
        except requests.Timeout:
            raise _Transient("timeout") from None
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ):
            raise _Transient("connection error") from None
        except requests.RequestException as error:
            raise NinepicConnectionError(
                f"9pic API request on {scope.describe()} could not be made "
                f"({type(error).__name__}); check NINEPIC_BASE_URL",
                scope,
            ) from None
        status = response.status_code
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
        return Envelope(data=data, message=str(envelope.get("message") or ""))

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


def _echoes_key(text: str, key: str) -> bool:
    """True when `text` holds any run of the key long enough to help guess it."""
    width = min(KEY_ECHO_MIN_CHARS, len(key))
    return any(key[i : i + width] in text for i in range(len(key) - width + 1))


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
