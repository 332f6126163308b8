"""The batched night: one run, a run per event inside it, per-partition status kept."""

from __future__ import annotations

import dagster as dg

from tests.conftest import EMPTY, KIDS_DASH, NIGHT_RUN
from tests.defs.conftest import QUIET, failure_message


def _batch(defs, instance, keys):
    instance.add_dynamic_partitions("events", keys)
    return defs.resolve_job_def("nightly_batch_job").execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False
    )


def _partition_runs(instance) -> dict[str, dg.DagsterRunStatus]:
    runs = instance.get_runs(dg.RunsFilter(job_name="gallery_job"))
    return {run.tags["dagster/partition"]: run.status for run in runs}


def test_one_run_materializes_every_partition_each_in_a_run_of_its_own(defs, instance):
    keys = [str(KIDS_DASH), str(NIGHT_RUN), str(EMPTY)]
    result = _batch(defs, instance, keys)
    assert result.success
    assert _partition_runs(instance) == dict.fromkeys(keys, dg.DagsterRunStatus.SUCCESS)
    materialized = instance.get_materialized_partitions(dg.AssetKey("images"))
    assert materialized == set(keys)
    children = instance.get_runs(dg.RunsFilter(tags={"ninepic/batch_run": result.run_id}))
    assert len(children) == 3


def test_a_failing_event_fails_the_night_but_not_the_others(defs, instance):
    result = _batch(defs, instance, [str(KIDS_DASH), "999999"])
    assert not result.success
    assert failure_message(result) == "1 of 2 event run(s) failed: 999999"
    assert _partition_runs(instance) == {
        str(KIDS_DASH): dg.DagsterRunStatus.SUCCESS,
        "999999": dg.DagsterRunStatus.FAILURE,
    }


def test_batched_schedule_is_a_single_run_at_the_same_hour(defs):
    schedule = defs.resolve_schedule_def("nightly_galleries_batched")
    assert schedule.job_name == "nightly_batch_job"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
