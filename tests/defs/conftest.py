"""Fixtures for the Dagster wiring: the real `defs`, loaded from the environment."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.demo import failure_message
from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import ORG

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Error paths retry quickly in tests; the production defaults wait minutes.
FAST_RETRY = {"retry_attempts": 2, "backoff_base_s": 0.01, "retry_max_wait_s": 1.0}
TABLES = [
    "images",
    "gallery_pages",
    "image_size_stats",
    "capture_order_stats",
    "capture_timeline",
]


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


def load_defs() -> dg.Definitions:
    """`ninepic_pipeline.definitions.defs` as a code server would load it from the environment."""
    import ninepic_pipeline.definitions

    return importlib.reload(ninepic_pipeline.definitions).defs


@pytest.fixture
def defs(ninepic_env: dict[str, str]) -> dg.Definitions:
    return load_defs()


def with_api_config(defs: dg.Definitions, **config: Any) -> dg.Definitions:
    """The same definitions with the API resource's settings changed (fast retries, drift...)."""
    current = defs.resources["ninepic"]
    ninepic = NinepicApi(
        api_key=current.api_key,
        org_id=current.org_id,
        base_url=current.base_url,
        **config,
    )
    return dg.Definitions(
        assets=defs.assets, jobs=defs.jobs, resources={**defs.resources, "ninepic": ninepic}
    )


def run_gallery(
    defs: dg.Definitions, instance: dg.DagsterInstance, key: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("events", [key])
    return defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=key, run_config=run_config or QUIET, raise_on_error=False
    )


def table_bytes(warehouse: Path, event_id: int) -> dict[str, bytes]:
    return {
        table: (warehouse / table / f"event_id={event_id}" / "part-0.parquet").read_bytes()
        for table in TABLES
    }


__all__ = ["failure_message"]
