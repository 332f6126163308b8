"""The committed instance files, loaded through Dagster's own config schema, and the production
one used for real: Dagster's storage in PostgreSQL, a full materialization of every asset."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster._core.instance.config import dagster_instance_config

from ninepic_pipeline.defs.retries import RETRY_ON_FAILURE_TAG
from tests.conftest import KIDS_DASH, MARATHON
from tests.defs.conftest import FAST_RETRY, QUIET, with_api_config
from tests.fixtures_pipeline import load_defs, materialize_every_asset, pipeline_env
from tests.services import Postgres, postgres  # noqa: F401  (fixture)

HOME = Path(__file__).resolve().parent.parent / "dagster_home"
PRODUCTION = "dagster.production.yaml"
# Dagster's tag saying whether the daemon will retry a failed run.
WILL_RETRY_TAG = "dagster/will_retry"


def _queue(config: dict) -> dict:
    return config["concurrency"]["runs"]


def test_local_instance_is_sqlite_with_a_small_queue_and_no_retries():
    config, _ = dagster_instance_config(str(HOME), "dagster.yaml")
    assert "storage" not in config  # SQLite beside the file
    assert _queue(config)["max_concurrent_runs"] == 2
    (limit,) = _queue(config)["tag_concurrency_limits"]
    assert (limit["key"], limit["limit"], limit["value"]) == (
        "ninepic/event",
        1,
        {"applyLimitPerUniqueValue": True},
    )
    assert config["concurrency"]["pools"]["default_limit"] == 2
    assert "run_retries" not in config


def test_production_instance_reads_postgres_from_the_environment(monkeypatch):
    variables = {
        "DAGSTER_PG_HOST": "db.internal",
        "DAGSTER_PG_PORT": "6543",
        "DAGSTER_PG_DB": "dagster",
        "DAGSTER_PG_USERNAME": "dagster",
        "DAGSTER_PG_PASSWORD": "from-a-secret",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    config, _ = dagster_instance_config(str(HOME), PRODUCTION)
    database = config["storage"]["postgres"]["postgres_db"]
    assert database["hostname"] == {"env": "DAGSTER_PG_HOST"}
    assert database["password"] == {"env": "DAGSTER_PG_PASSWORD"}  # the name, never the value
    assert "from-a-secret" not in (HOME / PRODUCTION).read_text()
    local, _ = dagster_instance_config(str(HOME), "dagster.yaml")
    assert _queue(config)["tag_concurrency_limits"] == _queue(local)["tag_concurrency_limits"]
    assert config["concurrency"]["pools"] == local["concurrency"]["pools"]
    assert config["run_retries"] == {"enabled": True, "max_retries": 2}


def test_every_asset_materializes_with_dagster_storage_in_postgres(
    postgres: Postgres,  # noqa: F811
    server,
    warehouse,
    tmp_path,
    monkeypatch,
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(HOME / PRODUCTION, home / "dagster.yaml")
    for name, value in {**postgres.env, **pipeline_env(server, warehouse)}.items():
        monkeypatch.setenv(name, value)
    defs = load_defs()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        materialize_every_asset(defs, instance, (KIDS_DASH, MARATHON))
        runs = instance.get_runs()
        assert len(runs) == 4 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        record = instance.fetch_materializations(dg.AssetKey("images"), limit=10).records
        assert {r.asset_materialization.partition for r in record} == {
            str(KIDS_DASH),
            str(MARATHON),
        }
    photos = server.world.photo_count(903, MARATHON)
    images = warehouse / "images" / f"event_id={MARATHON}" / "part-0.parquet"
    assert pq.read_metadata(images).num_rows == photos
    summary = pq.read_table(warehouse / "event_summary" / "part-0.parquet").to_pylist()
    assert {row["event_id"]: row["photos"] for row in summary}[MARATHON] == photos


@pytest.fixture
def retrying_instance(tmp_path):
    with dg.instance_for_test(
        temp_dir=str(tmp_path), overrides={"run_retries": {"enabled": True, "max_retries": 2}}
    ) as instance:
        yield instance


def _failed_run(defs, instance, partition: str) -> dg.DagsterRun:
    instance.add_dynamic_partitions("events", [partition])
    result = defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=partition, run_config=QUIET, raise_on_error=False
    )
    assert not result.success
    return instance.get_run_by_id(result.run_id)


def test_a_run_that_a_retry_cannot_mend_is_not_retried(defs, retrying_instance):
    run = _failed_run(defs, retrying_instance, "999999")  # no such event: 404
    assert run.tags[RETRY_ON_FAILURE_TAG] == "false"
    assert run.tags[WILL_RETRY_TAG] == "false"


def test_a_run_failed_by_the_server_is_retried(defs, retrying_instance, server):
    server.faults.push(503, times=None, path_contains="/images")
    run = _failed_run(with_api_config(defs, **FAST_RETRY), retrying_instance, str(KIDS_DASH))
    assert RETRY_ON_FAILURE_TAG not in run.tags
    assert run.tags[WILL_RETRY_TAG] == "true"
