"""History across nights: two runs with uploads and deletions in between, then a repeated run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ninepic_pipeline.defs.gallery import _recorded_history
from ninepic_pipeline.sandbox import SandboxServer
from ninepic_pipeline.warehouse import Warehouse
from tests.conftest import KIDS_DASH, NIGHT_RUN, ORG
from tests.defs.conftest import load_defs, run_gallery, with_api_config
from tests.fixtures_pipeline import pipeline_env


@pytest.fixture
def own_server(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """A sandbox of its own: this test uploads and deletes photos."""
    with SandboxServer() as server:
        for name, value in pipeline_env(server, warehouse).items():
            monkeypatch.setenv(name, value)
        yield server


def _history(warehouse: Path, table: str) -> list[dict]:
    folder = warehouse / table / f"event_id={KIDS_DASH}"
    return pq.read_table(folder).to_pylist()


def _images(warehouse: Path) -> dict[str, dict]:
    path = warehouse / "images" / f"event_id={KIDS_DASH}" / "part-0.parquet"
    return {row["image_id"]: row for row in pq.read_table(path).to_pylist()}


def _next_reads(warehouse: Path) -> list[pa.ChunkedArray]:
    """A next night's read of the gallery as it is (the images' own ids), and one that differs
    from its first photo on (a deletion there), for `_recorded_history`: the state it gives
    must not depend on how much of the read repeats the images."""
    ids = list(_images(warehouse))
    return [pa.chunked_array([ids]), pa.chunked_array([ids[1:]])]


def _state(rows: list[dict]) -> dict[str, object]:
    return {row["image_id"]: row["first_seen_at"] for row in rows}


def _replayed(changes: list[dict]) -> dict[str, object]:
    """image_id -> first addition, of the photos added more often than removed."""
    count: dict[str, int] = {}
    first: dict[str, object] = {}
    for change in changes:
        image_id = change["image_id"]
        count[image_id] = count.get(image_id, 0) + (1 if change["change"] == "added" else -1)
        first.setdefault(image_id, change["detected_at"])
    return {image_id: first[image_id] for image_id, n in count.items() if n > 0}


def test_two_nights_record_exactly_the_uploads_and_deletions(own_server, warehouse, instance):
    world = own_server.world
    defs = load_defs()
    before = world.photo_ids(ORG, KIDS_DASH)
    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    (first,) = _history(warehouse, "gallery_snapshots")
    night_one = first["snapshot_at"]
    assert (first["photos"], first["added"], first["removed"]) == (len(before), len(before), 0)
    assert first["previous_snapshot_at"] is None
    changes = _history(warehouse, "image_changes")
    assert [(c["image_id"], c["change"], c["capture_rank"]) for c in changes] == [
        (image_id, "added", rank) for rank, image_id in enumerate(before, start=1)
    ]

    # Between the nights: late uploads into the past of the event and at its end, two deletions.
    uploads = [world.insert_photo(ORG, KIDS_DASH, i).image_id for i in (0, 10, len(before) + 1)]
    deleted = [world.delete_photo(ORG, KIDS_DASH, i).image_id for i in (5, 20)]
    after = world.photo_ids(ORG, KIDS_DASH)
    assert set(after) == (set(before) | set(uploads)) - set(deleted)

    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    snapshots = _history(warehouse, "gallery_snapshots")
    assert len(snapshots) == 2
    second = snapshots[1]
    assert (second["photos"], second["added"], second["removed"]) == (len(after), 3, 2)
    assert second["previous_snapshot_at"] == night_one < second["snapshot_at"]
    new = [c for c in _history(warehouse, "image_changes") if c["detected_at"] != night_one]
    added = {c["image_id"]: c["capture_rank"] for c in new if c["change"] == "added"}
    removed = {c["image_id"]: c["previous_capture_rank"] for c in new if c["change"] == "removed"}
    assert added == {image_id: after.index(image_id) + 1 for image_id in uploads}
    assert removed == {image_id: before.index(image_id) + 1 for image_id in deleted}
    assert {c["detected_at"] for c in new} == {second["snapshot_at"]}

    images = _images(warehouse)
    assert {i for i, row in images.items() if row["first_seen_at"] == night_one} == set(
        before
    ) - set(deleted)
    assert {i for i, row in images.items() if row["first_seen_at"] == second["snapshot_at"]} == (
        set(uploads)
    )

    # The history the next night reads is the published images (a trusted read), in capture
    # order; it is the state the changes record, replayed here one by one.
    for read in _next_reads(warehouse):
        history = _recorded_history(Warehouse(warehouse), KIDS_DASH, read)
        assert history.in_capture_order
        replayed = _replayed(_history(warehouse, "image_changes"))
        assert _state(history.photos.to_pylist()) == replayed

    # The same night again (a retry, a re-run from the UI): nothing is added to the history.
    files = sorted(p.name for p in warehouse.rglob("part-*.parquet"))
    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    assert len(_history(warehouse, "gallery_snapshots")) == 2
    assert len(_history(warehouse, "image_changes")) == len(before) + 5
    assert sorted(p.name for p in warehouse.rglob("part-*.parquet")) == files
    record = instance.fetch_materializations(dg.AssetKey("image_changes"), limit=1).records[0]
    assert record.asset_materialization.metadata["appended_rows"].value == 0
    assert record.asset_materialization.metadata["dagster/row_count"].value == len(before) + 5
    seen_again = {i: row["first_seen_at"] for i, row in _images(warehouse).items()}
    assert seen_again == {i: row["first_seen_at"] for i, row in images.items()}


def _table(warehouse: Path, table: str, event: int) -> list[dict]:
    return pq.read_table(warehouse / table / f"event_id={event}").to_pylist()


def _image_requests(server: SandboxServer) -> int:
    return sum(e.path.endswith("/images") for e in server.request_log)


def test_a_night_without_change_reads_the_gallery_once(own_server, warehouse, instance):
    # NINEPIC_TRUST_RECORDED=1: a first read that matches the record needs no second read.
    world, event = own_server.world, NIGHT_RUN
    defs = with_api_config(load_defs(), trust_recorded=True)
    pages = -(-world.photo_count(ORG, event) // 100)
    assert pages > 1

    def night() -> tuple[int, int, bool]:
        own_server.clear_log()
        assert run_gallery(defs, instance, str(event)).success
        (capture,) = _table(warehouse, "capture_order_stats", event)
        record = instance.fetch_materializations(dg.AssetKey("images"), limit=1).records[0]
        matched = record.asset_materialization.metadata["matches_recorded"].value
        return capture["read_passes"], _image_requests(own_server), matched

    assert night() == (2, 2 * pages, False)
    night_one = _table(warehouse, "images", event)

    # Nothing changed since: the first read matches the recorded snapshot and, page 1 asked
    # again answering alike (the last page, of 33, is not full), is trusted.
    assert night() == (1, pages + 1, True)
    night_two = _table(warehouse, "images", event)
    assert [r["image_id"] for r in night_two] == [r["image_id"] for r in night_one]
    assert [r["capture_rank"] for r in night_two] == list(range(1, len(night_one) + 1))
    assert len(_table(warehouse, "gallery_snapshots", event)) == 1

    # A photo uploaded since: the read differs from the record, so it is confirmed.
    upload = world.insert_photo(ORG, event, 3).image_id
    assert night() == (2, 2 * pages, False)
    changes = _table(warehouse, "image_changes", event)
    added = [c["image_id"] for c in changes if c["change"] == "added"]
    assert added.count(upload) == 1 and len(added) == len(night_one) + 1


def test_a_photo_that_comes_back_was_first_seen_when_first_added(own_server, warehouse, instance):
    world, defs = own_server.world, load_defs()

    def night() -> dict:
        assert run_gallery(defs, instance, str(KIDS_DASH)).success
        return _history(warehouse, "gallery_snapshots")[-1]

    first = night()["snapshot_at"]
    gone = world.delete_photo(ORG, KIDS_DASH, 5)
    night()
    world.insert_photo(ORG, KIDS_DASH, 5, image_id=gone.image_id, captured_at=gone.captured_at)
    back = night()
    assert (back["added"], back["removed"]) == (1, 0)
    changes = [
        c["change"] for c in _history(warehouse, "image_changes") if c["image_id"] == gone.image_id
    ]
    assert changes == ["added", "removed", "added"]
    # On the night it is back, and every night after (the history then read from the images).
    assert _images(warehouse)[gone.image_id]["first_seen_at"] == first
    night()
    assert _images(warehouse)[gone.image_id]["first_seen_at"] == first
    for read in _next_reads(warehouse):
        history = _recorded_history(Warehouse(warehouse), KIDS_DASH, read)
        assert history.in_capture_order
        replayed = _replayed(_history(warehouse, "image_changes"))
        assert _state(history.photos.to_pylist()) == replayed
