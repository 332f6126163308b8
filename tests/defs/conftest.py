"""Fixtures for the Dagster wiring: the real `defs`, loaded from the environment."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import ORG

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def ninepic_env(
    server: SandboxServer, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "NINEPIC_API_KEY": server.keys[ORG],
        "NINEPIC_ORG_ID": str(ORG),
        "NINEPIC_BASE_URL": server.url,
        "NINEPIC_WAREHOUSE": str(warehouse),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def defs(ninepic_env: dict[str, str]) -> dg.Definitions:
    """`ninepic_pipeline.definitions.defs` as a code server would load it with this environment."""
    import ninepic_pipeline.definitions

    return importlib.reload(ninepic_pipeline.definitions).defs


def run_gallery(defs: dg.Definitions, instance: dg.DagsterInstance, key: str):
    instance.add_dynamic_partitions("events", [key])
    return defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=key, run_config=QUIET, raise_on_error=False
    )
