"""One organisation's share of the API, for every request of the process.

9pic publishes no rate limit: its gateway answers 429 when a client goes too fast. So every
client of the same organisation in a process shares one `OrgLimiter`, which caps the requests in
flight and, once the gateway has throttled, paces them:

- the first 429 says nothing yet of the gateway's rate (a start-up burst gets through at any
  speed), so for a second requests start spaced by the `Retry-After` and a little more after
  each 429 sent at that spacing; the rate that got through then becomes the pace, with half
  the requests in flight allowed. The cap stays while learning: one request at a time would
  learn the round trip's rate (20 requests/s at 50 ms), not the gateway's; only a 429 with no
  `Retry-After` to space by sends them one at a time;
- a later 429 drops the pace to 90% of the rate that was getting through, halves the cap on
  requests in flight, and every worker waits out the `Retry-After`;
- each quiet second the pace climbs back by 2% and the cap by one, and after half a minute
  without a 429 the pace is lifted altogether,

so the pace settles just under the gateway's limit instead of oscillating between half of it
and all of it, as a halving (TCP-style) decrease would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._cap = max_in_flight
        self._clock = clock
        self._sleep = sleep
        # Shared by the event loops of every thread that asks (each transport thread has one).
        self._lock = threading.Lock()
        # Requests waiting for a slot, each woken through its own loop.
        self._loop_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._in_flight = 0
        self.rate: float | None = None  # requests per second; None until the first 429
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_throttle = float("-inf")
        self._last_raise = clock()
        self._successes: deque[float] = deque()
        self._learning_since: float | None = None
        self._learning_interval = 0.0
        self._spacing_set_at = float("-inf")
        self.throttles = 0

    async def acquire(self) -> float:
        """Wait for a slot in flight and for this request's turn in the pace, the loop serving
        the requests already in flight meanwhile; the turn's time, for `release`."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._in_flight < self._cap:
                    self._in_flight += 1
                    break
                freed = loop.create_future()
                self._loop_waiters.append((loop, freed))
            await freed
        try:
            while True:
                turn, delay = self._claim_turn()
                if delay <= 0:
                    return turn
                await self._sleep(delay)
        except BaseException:
            self.abandon()
            raise

    def _claim_turn(self) -> tuple[float, float]:
        """Now and 0 if the pace lets a request start now, the turn then taken; else now and
        the seconds to wait before asking again.

        A turn is taken when it comes, not booked ahead: requests that wake late (their loop
        was busy with a page) then cannot all start in the same instant, a burst the gateway
        would answer with 429s, and a pause a 429 set while they waited holds them too.
        """
        with self._lock:
            now = self._clock()
            if self._throttled_lately(now) and now - self._last_throttle > RESET_AFTER_S:
                self.rate, self._cap, self._learning_since = None, self.max_in_flight, None
                self._learning_interval = 0.0
                self._wake_all()
            start = max(self._paused_until, self._next_start)
            if start > now:
                return now, start - now
            if self.rate is not None:
                interval = 1.0 / self.rate
            elif self._learning_since is not None:
                # While learning, the gateway's Retry-After is the best spacing there is.
                interval = self._learning_interval
            else:
                return now, 0.0
            # A turn taken up to one interval late keeps the pace's schedule (two may then go
            # together); later than that, the time is lost rather than spent in a burst.
            on_schedule = now - self._next_start <= interval
            self._next_start = (self._next_start if on_schedule else now) + interval
            return now, 0.0

    def abandon(self) -> None:
        """Give a slot back without an answer to learn from: a wait or a request interrupted
        or cancelled (a slot not given back stays taken for the process)."""
        with self._lock:
            self._in_flight -= 1
            self._wake_all()

    def _wake_all(self) -> None:
        waiters, self._loop_waiters = self._loop_waiters, []
        for loop, freed in waiters:
            # A loop closed since it waited has no request left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, freed)

    def release(
        self, throttled: bool, retry_after_s: float | None = None, started: float | None = None
    ) -> None:
        """`started`, the turn `acquire` gave, tells a 429 sent at the current spacing from one
        sent before it was last lengthened (None: at the current spacing)."""
        with self._lock:
            self._in_flight -= 1
            now = self._clock()
            if throttled:
                self._throttled(now, retry_after_s, started)
            else:
                self._succeeded(now)
            self._wake_all()

    def _throttled_lately(self, now: float) -> bool:
        return self.rate is not None or self._learning_since is not None

    def _throttled(self, now: float, retry_after_s: float | None, started: float | None) -> None:
        if retry_after_s is not None and retry_after_s > 0:
            self._paused_until = max(self._paused_until, now + retry_after_s)
            # The schedule resumes after the pause, not with a turn it missed.
            self._next_start = max(self._next_start, self._paused_until)
        if self.rate is None:
            # The requests in flight at a spacing all meet the same empty bucket: one of them
            # lengthens it, or a round trip's worth of 429s compounds the backoff.
            at_current_spacing = started is None or started > self._spacing_set_at
            if retry_after_s and at_current_spacing:
                # A little over it: exactly on the refill, clock jitter meets an empty bucket.
                # A token bucket's Retry-After is the time to its next token, short for a
                # request that came just before one: a 429 while learning says the spacing is
                # too short, so it grows by a tenth at least, or every other request fails.
                spacing = max(LEARNING_BACKOFF * self._learning_interval, 1.1 * retry_after_s)
                self._learning_interval = min(1.0, spacing)
                self._spacing_set_at = now
            if self._learning_since is None:
                self._learning_since = self._last_throttle = now
                self.throttles += 1
            if not self._learning_interval:
                # No Retry-After to space requests by: one at a time is the only bound left.
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


def _resolve(freed: asyncio.Future[None]) -> None:
    if not freed.done():  # a request cancelled while it waited
        freed.set_result(None)


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
