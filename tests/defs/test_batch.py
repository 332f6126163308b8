"""The batched night: one run publishes every event, status and checks kept per partition."""

from __future__ import annotations

import importlib
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from ninepic_pipeline.defs.assets import gallery_snapshot_asset
from ninepic_pipeline.defs.resources import NinepicApi
from tests.conftest import EMPTY, KIDS_DASH, NIGHT_RUN, ORG
from tests.defs.conftest import FAST_RETRY, QUIET, failure_message, with_api_config

GALLERY_TABLES = sorted(key.path[-1] for key in gallery_snapshot_asset.keys)
NO_RETRY = "dagster/retry_on_asset_or_op_failure"
ROW_COUNT = dg.AssetCheckKey(dg.AssetKey("images"), "row_count_matches_api_total")


def _batch(defs, instance, keys):
    instance.add_dynamic_partitions("events", keys)
    return defs.resolve_job_def("nightly_batch_job").execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False
    )


def _partition_runs(instance) -> dict[str, dg.DagsterRunStatus]:
    runs = instance.get_runs(dg.RunsFilter(job_name="gallery_job"))
    return {run.tags["dagster/partition"]: run.status for run in runs}


def _latest(instance, table: str, key: str) -> dg.EventLogRecord:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[key]), limit=1
    ).records
    assert records, f"no materialization of {table} for partition {key}"
    return records[0]


def _rows(warehouse, table: str, key: str) -> int:
    return pq.read_metadata(warehouse / table / f"event_id={key}" / "part-0.parquet").num_rows


def test_one_run_publishes_every_partition_with_its_own_metadata(defs, instance, warehouse, server):
    keys = [str(KIDS_DASH), str(NIGHT_RUN), str(EMPTY)]
    result = _batch(defs, instance, keys)
    assert result.success
    assert _partition_runs(instance) == {}  # no run per event: that is the saving
    for table in GALLERY_TABLES:
        assert instance.get_materialized_partitions(dg.AssetKey(table)) == set(keys), table
    for key in keys:
        images = _latest(instance, "images", key)
        assert images.run_id == result.run_id
        metadata = images.asset_materialization.metadata
        photos = server.world.photo_count(ORG, int(key))
        assert metadata["dagster/row_count"].value == photos == _rows(warehouse, "images", key)
        assert metadata["photos"].value == photos
        assert metadata["path"].value.endswith(f"images/event_id={key}/part-0.parquet")


def test_each_partition_gets_every_check_of_the_asset(defs, instance):
    keys = [str(KIDS_DASH), str(NIGHT_RUN)]
    result = _batch(defs, instance, keys)
    evaluations = result.get_asset_check_evaluations()
    declared = {(k.asset_key.path[-1], k.name) for k in gallery_snapshot_asset.check_keys}
    counted = Counter((e.asset_key.path[-1], e.check_name) for e in evaluations)
    assert counted == dict.fromkeys(declared, len(keys))
    assert all(e.passed for e in evaluations)
    summary = instance.get_latest_asset_check_evaluation_record(ROW_COUNT)
    assert summary is not None and summary.run_id == result.run_id


def test_each_event_keeps_its_own_row_in_a_checks_history(defs, instance):
    keys = [str(KIDS_DASH), str(NIGHT_RUN), str(EMPTY)]
    result = _batch(defs, instance, keys)
    history = instance.event_log_storage.get_asset_check_execution_history(ROW_COUNT, limit=10)
    assert sorted(record.partition for record in history) == sorted(keys)
    assert {record.run_id for record in history} == {result.run_id}
    assert {record.status.value for record in history} == {"SUCCEEDED"}


def test_the_batch_publishes_what_a_run_of_the_event_publishes(defs, instance, warehouse):
    key = str(KIDS_DASH)
    assert _batch(defs, instance, [key]).success
    batch_meta = _latest(instance, "images", key).asset_materialization.metadata
    batch_images = pq.read_table(warehouse / "images" / f"event_id={key}").drop(["fetched_at"])
    single = defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=key, run_config=QUIET
    )
    single_meta = _latest(instance, "images", key).asset_materialization.metadata
    single_images = pq.read_table(warehouse / "images" / f"event_id={key}").drop(["fetched_at"])
    assert single.success
    assert batch_images.equals(single_images)
    assert sorted(batch_meta) == sorted(single_meta)
    assert batch_meta["dagster/row_count"] == single_meta["dagster/row_count"]


def test_a_failing_event_gets_a_failed_run_of_its_own_and_fails_the_night(defs, instance):
    result = _batch(defs, instance, [str(KIDS_DASH), "999999"])
    assert not result.success
    assert failure_message(result) == "1 of 2 event run(s) failed: 999999"
    assert _partition_runs(instance) == {"999999": dg.DagsterRunStatus.FAILURE}
    assert _latest(instance, "images", str(KIDS_DASH)).run_id == result.run_id
    assert instance.get_materialized_partitions(dg.AssetKey("images")) == {str(KIDS_DASH)}
    # An unknown event stays unknown: retrying the night would not mend it.
    assert instance.get_run_by_id(result.run_id).tags[NO_RETRY] == "false"


def test_a_refused_key_fails_the_night_with_one_request(defs, instance, server):
    current = defs.resources["ninepic"]
    refused = NinepicApi(
        api_key="not-a-key-of-org", org_id=current.org_id, base_url=current.base_url
    )
    wrong = dg.Definitions(
        assets=defs.assets, jobs=defs.jobs, resources={**defs.resources, "ninepic": refused}
    )
    server.clear_log()
    result = _batch(wrong, instance, [str(KIDS_DASH), str(NIGHT_RUN)])
    assert not result.success
    message = failure_message(result)
    assert "403" in message and "\n" not in message and "not-a-key-of-org" not in message
    assert len(server.request_log) == 1
    assert _partition_runs(instance) == {}
    assert instance.get_run_by_id(result.run_id).tags[NO_RETRY] == "false"


def test_a_transient_failure_in_the_batch_passes_in_the_events_own_run(defs, instance, server):
    fast = with_api_config(defs, **FAST_RETRY)
    # More 503s than the batch's two attempts allow; the event's own run is the code
    # location's gallery_job, with the default retries, and sees none of them.
    server.faults.push(
        503, times=FAST_RETRY["retry_attempts"], path_contains=f"/{KIDS_DASH}/images"
    )
    result = _batch(fast, instance, [str(NIGHT_RUN), str(KIDS_DASH)])
    assert result.success
    assert _partition_runs(instance) == {str(KIDS_DASH): dg.DagsterRunStatus.SUCCESS}
    runs = instance.get_runs(dg.RunsFilter(tags={"ninepic/batch_run": result.run_id}))
    assert [run.tags["dagster/partition"] for run in runs] == [str(KIDS_DASH)]
    assert _latest(instance, "images", str(NIGHT_RUN)).run_id == result.run_id


def nightly_batch_job() -> dg.JobDefinition:
    """The code location's batch job as a re-execution rebuilds it (by import, as a pod would)."""
    return importlib.import_module("ninepic_pipeline.definitions").defs.resolve_job_def(
        "nightly_batch_job"
    )


def _gallery_runs(instance) -> list[str]:
    runs = instance.get_runs(dg.RunsFilter(job_name="gallery_job"))
    return sorted(run.tags["dagster/partition"] for run in runs)


def test_a_retry_from_the_failed_step_needs_nothing_stored_and_publishes_no_event_twice(
    defs, instance
):
    instance.add_dynamic_partitions("events", [str(KIDS_DASH), "999999"])
    job = dg.reconstructable(nightly_batch_job)
    with dg.execute_job(job, instance=instance, run_config=QUIET) as first:
        assert not first.success
    # The production instance retries from the failed step, maybe in a pod of its own: nothing
    # the first attempt kept on its disk is there.
    shutil.rmtree(Path(instance.storage_directory()) / first.run_id, ignore_errors=True)
    options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
    with dg.execute_job(job, instance, run_config=QUIET, reexecution_options=options) as retry:
        assert not retry.success
        assert failure_message(retry) == "1 of 2 event run(s) failed: 999999"
    published = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("images"), asset_partitions=[str(KIDS_DASH)]),
        limit=10,
    ).records
    assert [record.run_id for record in published] == [first.run_id]
    assert _gallery_runs(instance) == ["999999", "999999"]  # one run of its own per attempt


def test_batched_schedule_is_a_single_run_at_the_same_hour(defs):
    schedule = defs.resolve_schedule_def("nightly_galleries_batched")
    assert schedule.job_name == "nightly_batch_job"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
