"""The per-organisation limiter: pace and cap after a 429, gradual recovery, shared pauses."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from ninepic_pipeline.api import NinepicClient, SnapshotPolicy
from ninepic_pipeline.api.limiter import OrgLimiter, limiter_for
from ninepic_pipeline.sandbox import Chaos, SandboxServer, World
from tests.conftest import ORG


class FakeTime:
    """A clock that moves only when the limiter sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _acquire(limiter: OrgLimiter) -> float:
    """One request's slot and turn, as a request on an event loop takes them."""
    return asyncio.run(limiter.acquire())


def _succeed(limiter: OrgLimiter, fake: FakeTime, count: int, every_s: float) -> None:
    for _ in range(count):
        _acquire(limiter)
        fake.now += every_s
        limiter.release(throttled=False)


def test_unthrottled_limiter_does_not_pace():
    fake = FakeTime()
    limiter = OrgLimiter(4, clock=fake.clock, sleep=fake.sleep)
    _succeed(limiter, fake, 50, every_s=0.001)
    assert limiter.rate is None and fake.slept == []


def _learn(limiter: OrgLimiter, fake: FakeTime) -> None:
    """A first 429, then a second and more of successes 25 ms apart: 40 requests/s get through."""
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=0.025)
    _succeed(limiter, fake, 50, every_s=0.0)  # the limiter's own spacing moves the clock


def test_first_429_spaces_requests_by_retry_after_then_learns_the_rate():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=0.025)
    assert limiter.rate is None and limiter.throttles == 1
    _succeed(limiter, fake, 3, every_s=0.0)
    # Each start waits a little over the Retry-After: the gateway's own word on spacing.
    assert fake.slept == pytest.approx([0.025, 0.0275, 0.0275])
    _succeed(limiter, fake, 40, every_s=0.0)
    assert limiter.rate == pytest.approx(1 / 0.0275, rel=0.05)


def test_while_learning_each_429_lengthens_the_spacing():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    # A token bucket's Retry-After is the time to its next token: short for a request that
    # came just before one. Spacing: 1.1 x 0.004, then max(1.1 x 0.0044, 1.1 x 0.02) = 0.022,
    # then max(1.1 x 0.022, 1.1 x 0.01) = 0.0242.
    for retry_after in (0.004, 0.02, 0.01):
        _acquire(limiter)
        limiter.release(throttled=True, retry_after_s=retry_after)
    fake.slept.clear()
    _succeed(limiter, fake, 2, every_s=0.0)
    assert fake.slept[-1] == pytest.approx(0.0242)


def test_while_learning_requests_stay_in_flight_together():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=0.02)
    # At 50 ms a round trip, one request at a time would get 20/s through whatever the
    # gateway allows; spaced 22 ms apart, three are in flight at once.
    starts = [_acquire(limiter) for _ in range(3)]
    assert limiter._in_flight == 3
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([0.022] * 2)


def test_a_429_without_retry_after_goes_one_at_a_time_while_learning():
    async def scenario() -> None:
        limiter = OrgLimiter(8)
        await limiter.acquire()
        limiter.release(throttled=True)  # nothing to space requests by
        await limiter.acquire()
        second = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0.2)
        assert not second.done()  # waiting for the one slot
        limiter.release(False)
        await asyncio.wait_for(second, timeout=2)
        limiter.release(False)

    asyncio.run(scenario())


def test_429s_sent_before_the_spacing_grew_do_not_grow_it_again():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=0.01)  # spacing 11 ms
    first, second = _acquire(limiter), _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=0.01, started=first)  # 12.1 ms
    # Sent at the old spacing, answered after the first 429: the same empty bucket.
    limiter.release(throttled=True, retry_after_s=0.01, started=second)
    fake.slept.clear()
    starts = [_acquire(limiter) for _ in range(2)]
    assert starts[1] - starts[0] == pytest.approx(0.0121)


def test_a_later_429_paces_at_nine_tenths_and_halves_requests_in_flight():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _learn(limiter, fake)
    learned = limiter.rate
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=2.0)
    assert limiter.throttles == 2
    # 90% of the lower of the pace and the rate getting through, which is a little under it.
    assert limiter.rate == pytest.approx(0.9 * learned, rel=0.08)
    _acquire(limiter)  # every worker waits out the Retry-After
    assert fake.slept[-1] == pytest.approx(2.0, abs=0.05)
    limiter.release(False)


def test_a_burst_of_429s_decreases_the_pace_once():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _learn(limiter, fake)
    learned = limiter.rate
    in_flight = 4  # half the cap is allowed again once the rate is learned
    for _ in range(in_flight):
        _acquire(limiter)
    for _ in range(in_flight):  # all answered 429 in the same instant
        limiter.release(throttled=True)
    assert limiter.throttles == 2
    # 90% of the lower of the pace and the rate getting through, which is a little under it.
    assert limiter.rate == pytest.approx(0.9 * learned, rel=0.08)


def test_pace_recovers_gradually_then_is_lifted():
    fake = FakeTime()
    limiter = OrgLimiter(8, clock=fake.clock, sleep=fake.sleep)
    _learn(limiter, fake)
    paced = limiter.rate
    _succeed(limiter, fake, 10, every_s=1.0)  # ten quiet seconds
    assert paced * 1.15 < limiter.rate < paced * 1.3  # about 2% a second
    fake.now += 31
    _succeed(limiter, fake, 1, every_s=0.01)
    assert limiter.rate is None


def test_requests_in_flight_are_capped():
    async def scenario() -> None:
        limiter = OrgLimiter(2)
        await limiter.acquire()
        await limiter.acquire()
        third = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0.2)
        assert not third.done()  # waiting for a slot
        limiter.release(False)
        await asyncio.wait_for(third, timeout=2)

    asyncio.run(scenario())


def test_clients_of_one_org_share_one_limiter():
    first = limiter_for("https://api.9pic.ai", ORG, 8)
    assert limiter_for("https://api.9pic.ai", ORG, 8) is first
    assert limiter_for("https://api.9pic.ai", ORG + 1, 8) is not first


def test_pages_are_read_concurrently():
    world = World()
    world.add_event(ORG, 5, name="Wide", photos=1300, seed=2)
    with SandboxServer(world=world, chaos=Chaos(latency_ms=200)) as slow:
        client = NinepicClient(
            slow.keys[ORG], ORG, slow.url, snapshot=SnapshotPolicy(confirm=False), max_concurrency=8
        )
        started = time.monotonic()
        with client:
            gallery = client.fetch_gallery(5)
        elapsed = time.monotonic() - started
    assert len(gallery) == 1300
    # 13 pages at 200 ms: one after another would take 2.6 s; page 1, then 12 in two waves.
    assert elapsed < 1.6


def test_an_interrupted_wait_gives_its_slot_back():
    fake = FakeTime()

    async def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    limiter = OrgLimiter(1, clock=fake.clock, sleep=interrupted)
    _acquire(limiter)
    limiter.release(throttled=True, retry_after_s=5.0)
    with pytest.raises(KeyboardInterrupt):
        _acquire(limiter)  # has to wait out the 5 s, and is interrupted
    limiter._sleep = fake.sleep
    _acquire(limiter)  # the slot is free again: this does not block
    limiter.release(False)


def test_an_absurd_retry_after_does_not_park_the_organisation(server):
    from ninepic_pipeline.api import RetryPolicy

    limiter = OrgLimiter(2)
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01, retry_after_max_s=120)
    client = NinepicClient(server.keys[ORG], ORG, server.url, retry=retry, limiter=limiter)
    server.faults.push(429, headers={"Retry-After": "86400"})
    with client:
        assert client.ping(456)
    # The 429 was seen (the pace is learning) but its day-long hint paused nobody.
    assert limiter.throttles == 1
    assert limiter._paused_until < time.monotonic() + 1


def test_a_sleep_hook_needs_the_limiter_off(server):
    with pytest.raises(ValueError, match="limiter=None"):
        NinepicClient(server.keys[ORG], ORG, server.url, sleep=lambda seconds: None)
