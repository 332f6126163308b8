"""One organisation's share of the API, for every request of the process.

9pic publishes no rate limit: its gateway answers 429 when a client goes too fast. So every
client of the same organisation in a process shares one `OrgLimiter`, which caps the requests in
flight and, once the gateway has throttled, paces them:

- on a 429 the pace drops to 90% of the rate that was getting through, the cap on requests in
  flight halves, and every worker waits out the `Retry-After`;
- each quiet second the pace climbs back by 3% and the cap by one, and after half a minute
  without a 429 the pace is lifted altogether,

so the pace settles just under the gateway's limit instead of oscillating between half of it
and all of it, as a halving (TCP-style) decrease would.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

DECREASE = 0.9
INCREASE_PER_S = 0.03
# Successes counted to estimate the rate the gateway lets through.
WINDOW_S = 2.0
MIN_RATE = 0.5
RESET_AFTER_S = 30.0


class OrgLimiter:
    def __init__(
        self,
        max_in_flight: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._cap = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self.rate: float | None = None  # requests per second; None until the first 429
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_throttle = float("-inf")
        self._last_raise = clock()
        self._successes: deque[float] = deque()
        self.throttles = 0

    def acquire(self) -> None:
        """Wait for a slot in flight and for this request's turn in the pace."""
        with self._cond:
            while self._in_flight >= self._cap:
                self._cond.wait()
            self._in_flight += 1
            now = self._clock()
            if self.rate is not None and now - self._last_throttle > RESET_AFTER_S:
                self.rate, self._cap = None, self.max_in_flight
            start = max(now, self._paused_until, self._next_start)
            if self.rate is not None:
                self._next_start = start + 1.0 / self.rate
        if start > now:
            self._sleep(start - now)

    def release(self, throttled: bool, retry_after_s: float | None = None) -> None:
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if throttled:
                self._throttled(now, retry_after_s)
            else:
                self._succeeded(now)
            self._cond.notify_all()

    def _throttled(self, now: float, retry_after_s: float | None) -> None:
        if retry_after_s is not None and retry_after_s > 0:
            self._paused_until = max(self._paused_until, now + retry_after_s)
        # A burst of workers meets the same throttle: decrease once per round trip of the pace.
        guard = 1.0 / self.rate if self.rate else 0.0
        if now - self._last_throttle < max(guard, 0.2):
            return
        self._last_throttle = self._last_raise = now
        self.throttles += 1
        self._cap = max(1, self._cap // 2)
        through = self._success_rate(now)
        if through is None:
            return  # nothing got through lately: no rate to learn from, the pause must do
        current = self.rate if self.rate is not None else through
        self.rate = max(MIN_RATE, DECREASE * min(current, through))

    def _succeeded(self, now: float) -> None:
        self._successes.append(now)
        while self._successes and self._successes[0] < now - WINDOW_S:
            self._successes.popleft()
        elapsed = now - self._last_raise
        if elapsed >= 1.0:
            self._last_raise = now
            self._cap = min(self.max_in_flight, self._cap + 1)
            if self.rate is not None:
                self.rate *= 1 + INCREASE_PER_S * elapsed

    def _success_rate(self, now: float) -> float | None:
        """Successes per second over the window, or over the time since the first one in it."""
        recent = [t for t in self._successes if t >= now - WINDOW_S]
        if len(recent) < 2:
            return None
        span = max(now - recent[0], 0.05)
        return len(recent) / span


_registry: dict[tuple[str, int], OrgLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(base_url: str, org_id: int, max_in_flight: int) -> OrgLimiter:
    """The process's limiter for one organisation of one API, shared by all its clients."""
    with _registry_lock:
        limiter = _registry.get((base_url, org_id))
        if limiter is None:
            limiter = _registry[(base_url, org_id)] = OrgLimiter(max_in_flight)
        return limiter


def reset_limiters() -> None:
    """Forget every organisation's limiter (tests; a process that changes API endpoints)."""
    with _registry_lock:
        _registry.clear()
