"""When to retry a request and how long to wait: exponential backoff, jitter and Retry-After."""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

# 429 is the gateway throttle, 500 the documented "safe to retry", 502-504 the gateway failing.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: attempts per request, the wait before each, and the total wait."""

    max_attempts: int = 6
    # 429s are the gateway pacing a busy organisation: many are normal under a rate limit.
    max_throttled_attempts: int = 30
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    # A Retry-After beyond this is treated as absurd: backoff is used instead of it.
    retry_after_max_s: float = 120.0
    # All waiting for one request together may not pass this.
    max_total_wait_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_throttled_attempts < 1:
            raise ValueError("max_attempts and max_throttled_attempts must be at least 1")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0 or self.max_total_wait_s < 0:
            raise ValueError("retry waits must not be negative")

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with "equal jitter" for the n-th retry (1-based).

        Half the delay is kept and half drawn at random: workers spread out, yet none comes
        back at once to a gateway that just throttled it.
        """
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (retry_number - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def delay(
        self, retry_number: int, retry_after: str | None, now: datetime | None = None
    ) -> float:
        """Seconds to wait before the n-th retry: Retry-After when sane, else backoff."""
        hinted = parse_retry_after(retry_after, now)
        if hinted is not None and 0 < hinted <= self.retry_after_max_s:
            return hinted
        return self.backoff(retry_number)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds, fractional, or an HTTP date).

    None when absent or unparseable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
