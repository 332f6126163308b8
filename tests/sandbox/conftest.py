"""Fixtures: one shared default-world server (read-only tests) and fresh ones for mutations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    # Faults and the log are per test; only tests that used the shared server need the reset.
    yield
    if "sandbox" in request.fixturenames:
        server: SandboxServer = request.getfixturevalue("sandbox")
        server.faults.clear()
        server.clear_log()


@pytest.fixture(scope="session")
def api(sandbox: SandboxServer) -> Api:
    return Api(sandbox, 903)


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    """A private server whose world a test may change."""
    with SandboxServer() as server:
        yield server
