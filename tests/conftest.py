"""Shared fixtures: a real sandbox server on 127.0.0.1, and clients of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ninepic_pipeline.api import NinepicClient, RetryPolicy
from ninepic_pipeline.api.limiter import reset_limiters
from ninepic_pipeline.sandbox import SandboxServer

ORG = 903
OTHER_ORG = 904
MARATHON = 456
EMPTY = 457
NO_TIMELINE = 458
NIGHT_RUN = 459
KIDS_DASH = 460

pytest_plugins = ["tests.fixtures_pipeline"]


class RecordingSleep:
    """Stands in for time.sleep in retry tests: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(autouse=True)
def fresh_limiters() -> Iterator[None]:
    """Each test starts with no organisation throttled by an earlier test's 429s."""
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One server for the session's read-only tests; tests that change data start their own."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def server(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    sandbox.faults.clear()
    sandbox.clear_log()
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, backoff_base_s=0.001, backoff_max_s=0.01)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(
    server: SandboxServer, fast_retry: RetryPolicy, sleeps: RecordingSleep
) -> Iterator[NinepicClient]:
    with NinepicClient(
        api_key=server.keys[ORG],
        org_id=ORG,
        base_url=server.url,
        retry=fast_retry,
        sleep=sleeps,
        limiter=None,
        # One page at a time: tests that script page bodies need them asked for in order.
        max_concurrency=1,
    ) as client:
        yield client
