"""Fixtures for whatever runs the real definitions: a warehouse, an instance, `defs`.

Registered for the whole suite by `tests/conftest.py` (`pytest_plugins`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import EMPTY, KIDS_DASH, MARATHON, NO_TIMELINE, ORG


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def pipeline_env(server: SandboxServer, warehouse: str | Path) -> dict[str, str]:
    """The variables that point the definitions at a sandbox's org 903 and a warehouse."""
    return {
        "NINEPIC_API_KEY": server.keys[ORG],
        "NINEPIC_ORG_ID": str(ORG),
        "NINEPIC_BASE_URL": server.url,
        "NINEPIC_WAREHOUSE": str(warehouse),
    }


@pytest.fixture
def ninepic_env(
    server: SandboxServer, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = pipeline_env(server, warehouse)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def load_defs() -> dg.Definitions:
    """`ninepic_pipeline.definitions.defs` as a code server would load it from the environment:
    imported afresh, since it reads the environment at import."""
    sys.modules.pop("ninepic_pipeline.definitions", None)
    return importlib.import_module("ninepic_pipeline.definitions").defs


@pytest.fixture
def defs(ninepic_env: dict[str, str]) -> dg.Definitions:
    return load_defs()


EVENTS = (KIDS_DASH, MARATHON, EMPTY, NO_TIMELINE)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class TwoNights:
    """A warehouse with every table after two nights, and what the sandbox did in between."""

    warehouse: Path
    late_uploads: list[str]  # into the part of Kids Dash already covered
    uploads_at_the_end: list[str]
    deleted: list[str]


@pytest.fixture(scope="session")
def two_nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNights]:
    """Four events, then uploads and a deletion in Kids Dash, its second night, the summary."""
    root = tmp_path_factory.mktemp("two_nights")
    warehouse = root / "warehouse"
    with SandboxServer() as server, pytest.MonkeyPatch.context() as env:
        for name, value in pipeline_env(server, warehouse).items():
            env.setenv(name, value)
        defs = load_defs()
        with dg.instance_for_test(temp_dir=str(root)) as instance:
            materialize(defs, instance, "events_job")
            for event in EVENTS:
                materialize(defs, instance, "gallery_job", str(event))
            world = server.world
            # Two late uploads the same night, and one at the end.
            late = [world.insert_photo(ORG, KIDS_DASH, i).image_id for i in (3, 15)]
            end = [world.insert_photo(ORG, KIDS_DASH, world.photo_count(ORG, KIDS_DASH)).image_id]
            deleted = [world.delete_photo(ORG, KIDS_DASH, 10).image_id]
            materialize(defs, instance, "gallery_job", str(KIDS_DASH))
            materialize_summary(defs, instance)
        yield TwoNights(warehouse, late, end, deleted)


def materialize(
    defs: dg.Definitions, instance: dg.DagsterInstance, job: str, partition: str | None = None
) -> None:
    """One successful run of `job` (for the event `partition`, registered first)."""
    if partition is not None:
        instance.add_dynamic_partitions("events", [partition])
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=partition, run_config=QUIET
    )
    assert result.success


def materialize_summary(defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
    """`event_summary` built, as Declarative Automation would after a change."""
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("event_summary")], run_config=QUIET
    )
    assert result.success


def materialize_every_asset(
    defs: dg.Definitions, instance: dg.DagsterInstance, events: Sequence[int]
) -> None:
    """The events table, a gallery run per event in turn, then the summary."""
    materialize(defs, instance, "events_job")
    for event in events:
        materialize(defs, instance, "gallery_job", str(event))
    materialize_summary(defs, instance)
