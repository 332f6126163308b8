"""One organisation's share of the API, for every request of the process.

9pic publishes no rate limit: its gateway answers 429 when a client goes too fast. So every
client of the same organisation in a process shares one `OrgLimiter`, which caps the requests in
flight and, once the gateway has throttled, paces them:

- the first 429 says nothing yet of the gateway's rate (a start-up burst gets through at any
  speed), so requests go one at a time, spaced by the `Retry-After` and a little more after
  each 429, for a second; the rate that got through then becomes the pace, with half the
  requests in flight allowed;
- a later 429 drops the pace to 90% of the rate that was getting through, halves the cap on
  requests in flight, and every worker waits out the `Retry-After`;
- each quiet second the pace climbs back by 2% and the cap by one, and after half a minute
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
INCREASE_PER_S = 0.02
# Successes counted to estimate the rate the gateway lets through.
WINDOW_S = 2.0
MIN_RATE = 0.5
RESET_AFTER_S = 30.0
LEARN_S = 1.0
# Each 429 while learning lengthens the spacing by at least this factor: small, as the
# rate learned from that spacing is where the pace starts.
LEARNING_BACKOFF = 1.1


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
        self._learning_since: float | None = None
        self._learning_interval = 0.0
        self.throttles = 0

    def acquire(self) -> None:
        """Wait for a slot in flight and for this request's turn in the pace."""
        with self._cond:
            while self._in_flight >= self._cap:
                self._cond.wait()
            self._in_flight += 1
            now = self._clock()
            if self._throttled_lately(now) and now - self._last_throttle > RESET_AFTER_S:
                self.rate, self._cap, self._learning_since = None, self.max_in_flight, None
                self._learning_interval = 0.0
            start = max(now, self._paused_until, self._next_start)
            if self.rate is not None:
                self._next_start = start + 1.0 / self.rate
            elif self._learning_since is not None:
                # While learning, the gateway's Retry-After is the best spacing there is.
                self._next_start = start + self._learning_interval
        if start > now:
            try:
                self._sleep(start - now)
            except BaseException:
                # An interrupted wait must give its slot back, or a cap of one stays taken.
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()
                raise

    def release(self, throttled: bool, retry_after_s: float | None = None) -> None:
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if throttled:
                self._throttled(now, retry_after_s)
            else:
                self._succeeded(now)
            self._cond.notify_all()

    def _throttled_lately(self, now: float) -> bool:
        return self.rate is not None or self._learning_since is not None

    def _throttled(self, now: float, retry_after_s: float | None) -> None:
        if retry_after_s is not None and retry_after_s > 0:
            self._paused_until = max(self._paused_until, now + retry_after_s)
        if self.rate is None:
            if retry_after_s:
                # A little over it: exactly on the refill, clock jitter meets an empty bucket.
                # A token bucket's Retry-After is the time to its next token, short for a
                # request that came just before one: a 429 while learning says the spacing is
                # too short, so it grows by a tenth at least, or every other request fails.
                spacing = max(LEARNING_BACKOFF * self._learning_interval, 1.1 * retry_after_s)
                self._learning_interval = min(1.0, spacing)
            if self._learning_since is None:
                self._learning_since = self._last_throttle = now
                self.throttles += 1
                self._cap = 1
            return
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
        since = self._learning_since
        if self.rate is None and since is not None and now - since >= LEARN_S:
            learned = sum(1 for t in self._successes if t > since) / (now - since)
            # The spacing grew until requests got through: that rate is at or under the limit.
            self.rate = max(MIN_RATE, learned)
            self._cap = max(1, self.max_in_flight // 2)
            self._last_raise = now
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
        # A short span would read the start-up burst as the gateway's rate.
        span = max(now - recent[0], 0.5)
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
