"""The history under the ways runs go wrong: two runs of one event at once, a run killed between
its manifest and its publishing, and a best-effort read kept under drift."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ninepic_pipeline.defs.gallery import (
    _last_snapshot_digest,
    _recorded_digest,
    _recorded_history,
)
from ninepic_pipeline.sandbox import Chaos, SandboxServer
from ninepic_pipeline.tables.history import first_seen_at
from ninepic_pipeline.tables.schemas import TIMESTAMP
from ninepic_pipeline.warehouse import STAGING, Warehouse
from tests.api.test_snapshot import _recorded
from tests.conftest import KIDS_DASH, ORG
from tests.defs.conftest import FAST_RETRY, QUIET, run_gallery, with_api_config
from tests.fixtures_pipeline import load_defs, pipeline_env


@pytest.fixture
def own_server(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    # Slow enough that two runs started together overlap.
    with SandboxServer(latency_s=0.3) as server:
        for name, value in pipeline_env(server, warehouse).items():
            monkeypatch.setenv(name, value)
        yield server


def _history(warehouse: Path, table: str) -> list[dict]:
    folder = warehouse / table / f"event_id={KIDS_DASH}"
    return pq.read_table(folder).to_pylist() if folder.is_dir() else []


def _run(defs: dg.Definitions, home: Path) -> bool:
    home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        instance.add_dynamic_partitions("events", [str(KIDS_DASH)])
        return (
            defs.resolve_job_def("gallery_job")
            .execute_in_process(
                instance=instance,
                partition_key=str(KIDS_DASH),
                run_config=QUIET,
                raise_on_error=False,
            )
            .success
        )


ONE_RUN = """
import os, sys, time
import dagster as dg
import ninepic_pipeline.defs.gallery as gallery
read_history = gallery._recorded_history
def slow_read(*args):  # widen the window between reading the history and publishing
    history = read_history(*args)
    time.sleep(3)
    return history
gallery._recorded_history = slow_read
from ninepic_pipeline.definitions import defs
os.makedirs(sys.argv[1], exist_ok=True)
with dg.instance_for_test(temp_dir=sys.argv[1]) as instance:
    instance.add_dynamic_partitions("events", [sys.argv[2]])
    job = defs.resolve_job_def("gallery_job")
    ok = job.execute_in_process(instance=instance, partition_key=sys.argv[2]).success
sys.exit(0 if ok else 1)
"""


def test_two_runs_of_one_event_at_once_record_its_photos_once(own_server, warehouse, tmp_path):
    # Two processes, as two runs launched outside the queue's per-event limit would be.
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", ONE_RUN, str(tmp_path / f"home{i}"), str(KIDS_DASH)],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    photos = own_server.world.photo_count(ORG, KIDS_DASH)
    assert len(_history(warehouse, "image_changes")) == photos
    assert [s["added"] for s in _history(warehouse, "gallery_snapshots")] == [photos]


KILLED_AFTER_THE_MANIFEST = """
import os, sys
import dagster as dg
import ninepic_pipeline.warehouse as warehouse
warehouse._publish = lambda storage, folder: os._exit(3)  # the process dies right here
from ninepic_pipeline.definitions import defs
os.makedirs(sys.argv[1], exist_ok=True)
with dg.instance_for_test(temp_dir=sys.argv[1]) as instance:
    instance.add_dynamic_partitions("events", [sys.argv[2]])
    job = defs.resolve_job_def("gallery_job")
    job.execute_in_process(instance=instance, partition_key=sys.argv[2])
"""


def test_a_commit_cut_short_is_finished_before_the_next_run_reads_the_history(
    own_server, warehouse, tmp_path
):
    defs = load_defs()
    assert _run(defs, tmp_path / "night1")
    upload = own_server.world.insert_photo(ORG, KIDS_DASH, 2).image_id
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_THE_MANIFEST, str(tmp_path / "night2"), str(KIDS_DASH)],
        env=os.environ.copy(),
        capture_output=True,
        check=False,
    )
    assert killed.returncode == 3
    (orphan,) = (warehouse / STAGING).iterdir()
    old = time.time() - 3600  # long enough ago that its owner is surely gone
    os.utime(orphan, (old, old))
    assert _run(defs, tmp_path / "night2-again")
    added = [c for c in _history(warehouse, "image_changes") if c["image_id"] == upload]
    assert [c["change"] for c in added] == ["added"]  # recorded once, by the killed run
    assert len(_history(warehouse, "gallery_snapshots")) == 2
    assert not (warehouse / STAGING).exists()


def test_a_read_kept_under_drift_records_no_history(own_server, warehouse, tmp_path):
    defs = load_defs()
    assert _run(defs, tmp_path / "night1")
    before = _history(warehouse, "image_changes")
    gone = own_server.world.delete_photo(ORG, KIDS_DASH, 4).image_id
    own_server.set_chaos(Chaos(seed=1, p_total_drift=1.0))
    try:
        accepting = with_api_config(defs, **FAST_RETRY, max_read_passes=2, accept_drift=True)
        assert _run(accepting, tmp_path / "drift")
    finally:
        own_server.set_chaos(None)
    assert _history(warehouse, "image_changes") == before
    # The next good read records the deletion, once.
    assert _run(defs, tmp_path / "night2")
    new = [c for c in _history(warehouse, "image_changes") if c not in before]
    assert [(c["image_id"], c["change"]) for c in new] == [(gone, "removed")]


@pytest.mark.parametrize(
    ("drift", "ranks", "expected"),
    [
        ([False], None, "match"),
        ([True], None, None),  # kept under drift: it may lack photos
        (None, None, None),  # written before the flag existed
        ([False], "swapped", None),  # not in capture order: not a read's order
    ],
    ids=["trusted", "drift-accepted", "no-flag", "ranks-out-of-order"],
)
def test_the_recorded_snapshot_is_offered_only_when_it_was_trusted(
    tmp_path, drift, ranks, expected
):
    store = Warehouse(tmp_path)
    ids = [f"photo-{n:05d}" for n in range(150_000)]  # more than one batch of the reader
    rank = list(range(1, len(ids) + 1))
    if ranks == "swapped":
        rank[10], rank[11] = rank[11], rank[10]
    store.write("images", pa.table({"image_id": ids, "capture_rank": rank}), KIDS_DASH)
    stats = {"image_count": [len(ids)]} | ({} if drift is None else {"drift_accepted": drift})
    store.write("capture_order_stats", pa.table(stats), KIDS_DASH)
    digest = _recorded_digest(store, KIDS_DASH)
    assert digest == (_recorded(ids) if expected == "match" else None)
    assert _recorded_digest(store, KIDS_DASH + 1) is None  # no snapshot of that event yet


def test_a_last_snapshot_that_cannot_be_read_costs_a_confirming_read_not_the_run(
    defs, instance, warehouse, server
):
    defs = with_api_config(defs, trust_recorded=True)
    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    stats = warehouse / "capture_order_stats" / f"event_id={KIDS_DASH}" / "part-0.parquet"
    stats.write_bytes(b"not a parquet file")
    server.clear_log()
    result = run_gallery(defs, instance, str(KIDS_DASH))
    assert result.success
    logs = instance.all_logs(result.run_id)
    warned = [r.user_message for r in logs if "could not be read" in r.user_message]
    assert len(warned) == 1 and "the gallery is read twice" in warned[0]
    assert "\n" not in warned[0]
    assert sum(e.path.endswith("/images") for e in server.request_log) == 2  # two reads of 1 page
    assert pq.read_table(stats).to_pylist()[0]["read_passes"] == 2  # rewritten whole


def test_no_recorded_snapshot_is_offered_while_a_commit_is_pending(tmp_path):
    # A commit cut short under a minute ago is left to its owner by recover(): until it is
    # published, its tables may be some old and some new.
    store = Warehouse(tmp_path)
    ids = ["a", "b", "c"]
    store.write("images", pa.table({"image_id": ids, "capture_rank": [1, 2, 3]}), KIDS_DASH)
    store.write("capture_order_stats", pa.table({"drift_accepted": [False]}), KIDS_DASH)
    context = SimpleNamespace(log=logging.getLogger("test"))
    assert _last_snapshot_digest(context, store, KIDS_DASH) == _recorded(ids)
    pending = tmp_path / STAGING / "a-commit"
    pending.mkdir(parents=True)
    (pending / "MANIFEST.json").write_text("[]")
    assert _last_snapshot_digest(context, store, KIDS_DASH) is None
    assert _recorded_digest(store, KIDS_DASH) == _recorded(ids)


@pytest.mark.parametrize(
    ("drift", "last_count", "from_images"),
    [
        ([False], 3, True),
        ([True], 3, False),  # kept under drift: the images may lack photos
        (None, 3, False),  # written before the flag existed
        ([False], 4, False),  # not the count the history last recorded
        ("unreadable", 3, False),
        ("pending", 3, False),  # a commit may have moved its images and not yet its stats
    ],
    ids=["trusted", "drift-accepted", "no-flag", "other-count", "unreadable-flag", "pending"],
)
def test_the_history_is_read_from_the_images_only_when_they_are_its_state(
    tmp_path, drift, last_count, from_images
):
    store = Warehouse(tmp_path)
    night_1, night_2 = (datetime(2026, 12, d, 2, tzinfo=UTC) for d in (1, 2))
    at = pa.array([night_1, night_1, night_2], TIMESTAMP)
    images = {"image_id": ["a", "c", "d"], "capture_rank": [1, 2, 3], "first_seen_at": at}
    store.write("images", pa.table(images), KIDS_DASH)
    flag = {"drift_accepted": drift} if isinstance(drift, list) else {}
    if drift == "pending":
        flag = {"drift_accepted": [False]}
        (tmp_path / STAGING / "a-commit").mkdir(parents=True)
        (tmp_path / STAGING / "a-commit" / "MANIFEST.json").write_text("[]")
    store.write("capture_order_stats", pa.table({"image_count": [3]} | flag), KIDS_DASH)
    if drift == "unreadable":
        (tmp_path / store.key("capture_order_stats", KIDS_DASH)).write_bytes(b"not parquet")
    snapshots = {"snapshot_at": pa.array([night_1, night_2], TIMESTAMP), "photos": [3, last_count]}
    store.write("gallery_snapshots", pa.table(snapshots), KIDS_DASH)
    changes = [("a", "added", night_1), ("b", "added", night_1), ("c", "added", night_1)]
    changes += [("b", "removed", night_2), ("d", "added", night_2)]
    ids, kinds, times = zip(*changes, strict=True)
    table = {"image_id": ids, "change": kinds, "detected_at": pa.array(times, TIMESTAMP)}
    store.write("image_changes", pa.table(table), KIDS_DASH)

    # The next read: "a" still first, "c" gone, "b" back.
    history = _recorded_history(store, KIDS_DASH, pa.chunked_array([["a", "b", "d"]]))
    assert history.in_capture_order is from_images
    assert history.snapshot_at == night_2
    # Either way, the same state: what was added and not removed, first seen when added.
    state = {r["image_id"]: r["first_seen_at"] for r in history.photos.to_pylist()}
    assert state == {"a": night_1, "c": night_1, "d": night_2}
    # b, removed on night 2, comes back: first seen when first added, whichever way it was read.
    night_3 = datetime(2026, 12, 3, 2, tzinfo=UTC)
    seen = first_seen_at(pa.chunked_array([["b", "a", "new"]]), history, night_3)
    assert seen.to_pylist() == [night_1, night_1, night_3]


@pytest.mark.parametrize("read", [["a", "c", "d"], ["a", "x", "d", "e"], [], ["z"]])
def test_the_history_read_beside_a_new_read_is_the_file_as_it_is(tmp_path, read):
    # Whatever the new read shares with the published images, their columns come back as the
    # file holds them: values, types, nullability and descriptions.
    from ninepic_pipeline.defs.gallery import _published_images
    from ninepic_pipeline.tables import TABLE_SCHEMAS
    from ninepic_pipeline.tables.history import IMAGE_COLUMNS

    store = Warehouse(tmp_path)
    schema = pa.schema([TABLE_SCHEMAS["images"].field(name) for name in IMAGE_COLUMNS])
    night = datetime(2026, 12, 1, 2, tzinfo=UTC)
    rows = {"image_id": ["a", "c", "d"], "capture_rank": [1, 2, 3], "first_seen_at": [night] * 3}
    store.write("images", pa.table(rows, schema=schema), KIDS_DASH)
    images = _published_images(store, KIDS_DASH)
    shared = images.read_sharing(pa.chunked_array([read], pa.string()))
    assert shared.equals(store.read("images", KIDS_DASH, IMAGE_COLUMNS), check_metadata=True)
    assert shared.schema.field("image_id").metadata == schema.field("image_id").metadata
