"""A run that fails at any point leaves every table's previous files as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pyarrow.parquet as pq

from ninepic_pipeline.sandbox import Chaos
from tests.conftest import KIDS_DASH, MARATHON, NIGHT_RUN
from tests.defs.conftest import (
    FAST_RETRY,
    TABLES,
    failure_message,
    run_gallery,
    table_bytes,
    with_api_config,
)


def _staging_left(warehouse) -> list:
    return list((warehouse / "_staging").glob("*")) if (warehouse / "_staging").exists() else []


def test_checks_are_evaluated_and_recorded_per_run(defs, instance):
    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    expected = {
        ("images", "image_id_unique_and_present"),
        ("images", "row_count_matches_api_total"),
        ("images", "capture_rank_contiguous"),
        ("images", "schema_matches_declared"),
        ("images", "snapshot_consistent"),
        ("image_size_stats", "one_row"),
        ("image_size_stats", "counts_add_up"),
        ("capture_order_stats", "one_row"),
        ("capture_order_stats", "counts_add_up"),
        ("capture_timeline", "counts_add_up"),
    }
    for asset, name in expected:
        record = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(asset), name)
        )
        assert record is not None, (asset, name)
        assert record.event.dagster_event.event_specific_data.passed, (asset, name)


def test_api_failure_mid_read_changes_no_table(defs, instance, warehouse, server):
    # One page at a time, so "the seventh request" is page 7.
    fast = with_api_config(defs, **FAST_RETRY, max_concurrency=1)
    assert run_gallery(fast, instance, str(MARATHON)).success
    before = table_bytes(warehouse, MARATHON)
    # Pages 1-6 answer, then the API keeps failing: the read cannot finish.
    server.faults.push(500, times=None, path_contains="/images", skip=6)
    server.clear_log()
    result = run_gallery(fast, instance, str(MARATHON))
    assert not result.success
    assert failure_message(result).startswith("9pic API kept failing (HTTP 500) after 2 attempt")
    assert table_bytes(warehouse, MARATHON) == before
    assert _staging_left(warehouse) == []
    # Six pages answered, then page 7 failed on both attempts.
    answered = [e.status for e in server.request_log if e.path.endswith("/images")]
    assert answered == [200] * 6 + [500, 500]


def test_failure_after_the_read_changes_no_table(defs, instance, warehouse, server):
    fast = with_api_config(defs, **FAST_RETRY)
    assert run_gallery(fast, instance, str(NIGHT_RUN)).success
    before = table_bytes(warehouse, NIGHT_RUN)
    server.faults.push(503, times=None, path_contains="/timeline")
    result = run_gallery(fast, instance, str(NIGHT_RUN))
    assert not result.success
    assert "HTTP 503" in failure_message(result)
    assert table_bytes(warehouse, NIGHT_RUN) == before


def test_gallery_that_never_holds_still_fails_or_is_kept_with_a_warning(
    defs, instance, warehouse, server
):
    fast = with_api_config(defs, **FAST_RETRY, max_read_passes=3)
    assert run_gallery(fast, instance, str(KIDS_DASH)).success
    before = table_bytes(warehouse, KIDS_DASH)
    server.set_chaos(Chaos(seed=1, p_total_drift=1.0))
    try:
        failed = run_gallery(fast, instance, str(KIDS_DASH))
        assert not failed.success
        assert "kept changing over 3 reads" in failure_message(failed)
        assert table_bytes(warehouse, KIDS_DASH) == before

        accepting = with_api_config(defs, **FAST_RETRY, max_read_passes=3, accept_drift=True)
        kept = run_gallery(accepting, instance, str(KIDS_DASH))
        assert kept.success
    finally:
        server.set_chaos(None)
    record = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey("images"), "snapshot_consistent")
    )
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    capture = pq.read_table(
        warehouse / "capture_order_stats" / f"event_id={KIDS_DASH}" / "part-0.parquet"
    ).to_pylist()[0]
    assert capture["drift_accepted"] is True and capture["read_passes"] == 3
    assert capture["image_count"] == 37

    # A snapshot kept under drift may lack photos: the next night does not trust a read for
    # matching it, and confirms it; the night after matches that confirmed snapshot (and asks
    # for page 1 once more: the event's 37 photos are one page, not full).
    fast = with_api_config(defs, **FAST_RETRY, max_read_passes=3, trust_recorded=True)
    for expected_reads in (2, 1):
        server.clear_log()
        assert run_gallery(fast, instance, str(KIDS_DASH)).success
        capture = pq.read_table(
            warehouse / "capture_order_stats" / f"event_id={KIDS_DASH}" / "part-0.parquet"
        ).to_pylist()[0]
        assert (capture["drift_accepted"], capture["read_passes"]) == (False, expected_reads)
        pages = [e for e in server.request_log if e.path.endswith("/images")]
        assert len(pages) == 2


KILL_SCRIPT = """
import sys, dagster as dg
from ninepic_pipeline.definitions import defs
instance = dg.DagsterInstance.get()
print("started", flush=True)
defs.resolve_job_def("gallery_job").execute_in_process(instance=instance, partition_key=sys.argv[1])
"""


def test_killed_run_changes_no_table(defs, instance, warehouse, server, ninepic_env, tmp_path):
    assert run_gallery(defs, instance, str(MARATHON)).success
    before = table_bytes(warehouse, MARATHON)
    server.latency_s = 0.1  # 13 pages: the run is still reading when it is killed
    try:
        env = {**os.environ, **ninepic_env, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
        child = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, str(MARATHON)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(e.path.endswith("/images") for e in server.request_log) >= 3:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        server.latency_s = 0.0
    assert child.returncode == -signal.SIGKILL
    assert table_bytes(warehouse, MARATHON) == before
    for table in TABLES:
        files = sorted(p.name for p in (warehouse / table).rglob("*") if p.is_file())
        assert files == ["part-0.parquet"], table
