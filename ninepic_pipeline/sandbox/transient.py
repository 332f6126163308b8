"""Transient failures as a flaky gateway produces them: throttling, 5xx pages, cut bodies."""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Final

from .faults import HTML_TYPE
from .routes import Response, error_response

# The ways a 429 may carry (or not) its Retry-After header; "mixed" draws one per response.
RETRY_AFTER_MODES: Final = (
    "absent",
    "seconds",
    "zero",
    "fraction",
    "date",
    "absurd",
    "garbage",
    "mixed",
)
GATEWAY_STATUSES: Final = (502, 503, 504)


def retry_after_value(mode: str, rng: random.Random, now: float | None = None) -> str | None:
    """The Retry-After header value for one 429 in `mode`; None means no header."""
    if mode == "mixed":
        mode = rng.choice(RETRY_AFTER_MODES[:-1])
    if mode == "absent":
        return None
    if mode == "seconds":
        return str(rng.randint(1, 2))
    if mode == "zero":
        return "0"
    if mode == "fraction":
        return f"0.{rng.randint(1, 9)}"
    if mode == "date":
        # An HTTP date has whole seconds: two seconds past the current whole second lands
        # between 1 and 2 s ahead.
        moment = math.floor(time.time() if now is None else now) + 2
        return format_datetime(datetime.fromtimestamp(moment, UTC), usegmt=True)
    if mode == "absurd":
        return "86400"
    if mode == "garbage":
        return "soon"
    raise ValueError(f"unknown retry_after mode {mode!r}")


def throttled(retry_after: str | None) -> Response:
    response = error_response(429, "Rate limit exceeded")
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def internal_error() -> Response:
    return error_response(500, "Internal failure")


def gateway_error(status: int, html: bool) -> Response:
    """A proxy's own error page (or nothing at all), never the API's JSON envelope."""
    body = b""
    if html:
        title = f"{status} {HTTPStatus(status).phrase}"
        body = (
            f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
            "</center><hr><center>nginx</center></body></html>"
        ).encode()
    return Response(status, body, {"Content-Type": HTML_TYPE})


def cut_short(response: Response) -> Response:
    """The same response announcing its full length but carrying only about half of it.

    The server's Content-Length override then closes the connection after the short write.
    """
    body = response.body
    headers = {**response.headers, "Content-Length": str(len(body))}
    return Response(response.status, body[: len(body) // 2], headers)
