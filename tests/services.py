"""Real servers some tests need: PostgreSQL for Dagster's storage, an S3-compatible store.

`.ci/run` installs and starts PostgreSQL and sets NINEPIC_TEST_POSTGRES_URL (a superuser's
URL); moto's S3 server comes with the test extra and is started here on 127.0.0.1, unless
NINEPIC_TEST_S3_ENDPOINT names one already running. Where a server is missing the tests that
need it are skipped, except under NINEPIC_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def _missing(reason: str) -> None:
    if os.environ.get("NINEPIC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (NINEPIC_REQUIRE_SERVICES=1: CI must run these tests)")
    pytest.skip(reason)


@dataclass(frozen=True)
class Postgres:
    """A fresh database on the server, as the DAGSTER_PG_* variables describe it."""

    env: dict[str, str]


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    url = os.environ.get("NINEPIC_TEST_POSTGRES_URL")
    if not url:
        _missing("no PostgreSQL server: set NINEPIC_TEST_POSTGRES_URL (see .ci/run)")
    import psycopg2

    parts = urlsplit(url)
    name = f"ninepic_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield Postgres(
            {
                "DAGSTER_PG_HOST": parts.hostname or "127.0.0.1",
                "DAGSTER_PG_PORT": str(parts.port or 5432),
                "DAGSTER_PG_DB": name,
                "DAGSTER_PG_USERNAME": parts.username or "postgres",
                "DAGSTER_PG_PASSWORD": parts.password or "",
            }
        )
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("moto_server did not start within 30 s")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """http://127.0.0.1:PORT of an S3-compatible server (moto's server mode)."""
    running = os.environ.get("NINEPIC_TEST_S3_ENDPOINT")
    if running:
        yield running
        return
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists():
        _missing("moto_server is not installed (pip install -e '.[test]')")
    port = _free_port()
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket; the AWS variables point every S3 client of the process at the server."""
    import pyarrow.fs as pafs

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"ninepic-{uuid.uuid4().hex[:12]}"
    pafs.S3FileSystem(
        endpoint_override=s3_endpoint,
        access_key="testing",
        secret_key="testing",
        allow_bucket_creation=True,
    ).create_dir(bucket)
    return bucket
