"""The transport's event loops: interrupted, closed mid-read, or called from inside a loop, it
leaves no request running and no limiter slot taken."""

from __future__ import annotations

import asyncio
import signal
import traceback
from collections.abc import Iterator

import pytest

from ninepic_pipeline.api import NinepicClient, NinepicError
from ninepic_pipeline.api.errors import RequestScope
from ninepic_pipeline.api.limiter import OrgLimiter
from ninepic_pipeline.api.transport import HttpTransport
from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import MARATHON, ORG

PHOTOS = f"/api/v1/ext/{ORG}/event/{MARATHON}/images"
SCOPE = RequestScope(ORG, MARATHON, "All Photos")


class Interrupted(BaseException):
    """What a signal handler raises, as KeyboardInterrupt or a terminated Dagster run does."""


@pytest.fixture
def slow(server: SandboxServer) -> Iterator[SandboxServer]:
    server.latency_s = 0.3
    yield server
    server.latency_s = 0.0


def _transport(server: SandboxServer, limiter: OrgLimiter) -> HttpTransport:
    transport = HttpTransport(server.url, server.keys[ORG])
    transport.limiter = limiter
    return transport


def _pages(count: int) -> list[dict[str, int]]:
    return [{"page": page, "pageSize": 10} for page in range(1, count + 1)]


def test_an_interrupted_read_gives_every_slot_back(slow: SandboxServer):
    limiter = OrgLimiter(8)
    transport = _transport(slow, limiter)

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        with pytest.raises(Interrupted):
            for _ in transport.get_each(PHOTOS, SCOPE, _pages(4), 4):
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        transport.close()
    assert limiter._in_flight == 0


def test_closing_the_transport_mid_read_gives_every_slot_back(slow: SandboxServer):
    limiter = OrgLimiter(8)
    transport = _transport(slow, limiter)
    answers = transport.get_each(PHOTOS, SCOPE, _pages(8), 4)
    next(answers)
    transport.close()
    answers.close()
    assert limiter._in_flight == 0


def test_a_call_from_inside_an_event_loop_says_to_use_a_thread(server: SandboxServer):
    client = NinepicClient(server.keys[ORG], ORG, server.url, limiter=None)

    async def inside() -> None:
        client.ping(MARATHON)

    with client, pytest.raises(RuntimeError, match=r"asyncio\.to_thread"):
        asyncio.run(inside())


def test_an_api_error_carries_no_event_loop_noise(server: SandboxServer):
    client = NinepicClient(server.keys[ORG], ORG, server.url, limiter=None)
    with client, pytest.raises(NinepicError) as raised:
        client.event_details(99999)
    assert "event loop" not in "".join(traceback.format_exception(raised.value))
