"""The history's pure parts: the recorded state, first sightings, changes, and their check."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from ninepic_pipeline.tables.checks import check_history
from ninepic_pipeline.tables.history import (
    History,
    SnapshotFacts,
    added_and_removed,
    first_seen_at,
    gallery_snapshot_row,
    image_changes,
    published_history,
    recorded_history,
    rows_in_history,
)
from ninepic_pipeline.tables.schemas import TIMESTAMP

NIGHT_1 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NIGHT_2 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
NIGHT_3 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _changes(rows: list[tuple[str, str, datetime]]) -> pa.Table:
    ids, changes, times = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table(
        {
            "image_id": pa.array(ids, pa.string()),
            "change": pa.array(changes, pa.string()),
            "detected_at": pa.array(times, TIMESTAMP),
        }
    )


def _images(ids: list[str], when: datetime, with_first_seen: bool = True) -> pa.Table:
    columns = {
        "image_id": ids,
        "capture_rank": list(range(1, len(ids) + 1)),
        "fetched_at": pa.array([when] * len(ids), TIMESTAMP),
    }
    if with_first_seen:
        columns["first_seen_at"] = pa.array([when] * len(ids), TIMESTAMP)
    return pa.table(columns)


def test_the_recorded_state_is_what_was_added_and_not_removed_since():
    changes = _changes(
        [
            ("a", "added", NIGHT_1),
            ("b", "added", NIGHT_1),
            ("b", "removed", NIGHT_2),
            ("c", "added", NIGHT_2),
            ("b", "added", NIGHT_3),  # back again: first seen on its first addition
        ]
    )
    # The last published images may say otherwise (a best-effort read): the history wins.
    history = recorded_history(changes, NIGHT_3, _images(["a", "c"], NIGHT_3))
    state = {r["image_id"]: r for r in history.photos.to_pylist()}
    assert set(state) == {"a", "b", "c"}
    assert {i: r["first_seen_at"] for i, r in state.items()} == {
        "a": NIGHT_1,
        "b": NIGHT_1,
        "c": NIGHT_2,
    }
    # A removed photo's last rank comes from the published images; b is not in them.
    ranks = history.published_ranks(pa.array(["c", "b", "a", "c"]))
    assert ranks.to_pylist() == [2, None, 1, 2]
    assert history.recorded


def test_images_without_a_history_give_first_sightings_but_no_recorded_state():
    history = recorded_history(None, None, _images(["a", "b"], NIGHT_1, with_first_seen=False))
    assert not history.recorded
    ids = pa.chunked_array([["x", "b"]])
    assert first_seen_at(ids, history, NIGHT_2).to_pylist() == [NIGHT_2, NIGHT_1]
    # Nothing recorded yet: the snapshot is a baseline, every photo an addition.
    current = pa.table({"image_id": ["x", "b"], "capture_rank": [1, 2]})
    added, removed = added_and_removed(current, history)
    assert (added.num_rows, removed.num_rows) == (2, 0)
    assert recorded_history(None, None, None) is None


def test_changes_their_late_uploads_and_their_row_add_up():
    history = recorded_history(
        _changes([(i, "added", NIGHT_1) for i in "abc"]), NIGHT_1, _images(["a", "b", "c"], NIGHT_1)
    )
    # x is uploaded before a (late), y after c (at the end), b is gone.
    current = pa.table({"image_id": ["x", "a", "c", "y"], "capture_rank": [1, 2, 3, 4]})
    added, removed = added_and_removed(current, history)
    changes = image_changes(current, added, removed, NIGHT_2, "run-2")
    rows = [
        (
            r["image_id"],
            r["change"],
            r["capture_rank"],
            r["previous_capture_rank"],
            r["late_upload"],
        )
        for r in changes.read_all().to_pylist()
    ]
    assert rows == [
        ("x", "added", 1, None, True),
        ("y", "added", 4, None, False),
        ("b", "removed", None, 2, None),
    ]
    facts = SnapshotFacts(NIGHT_2, "run-2", 4, 4, 1, 2)
    row = gallery_snapshot_row(facts, added.num_rows, removed.num_rows, history)
    assert row.to_pylist()[0] == {
        "snapshot_at": NIGHT_2,
        "run_id": "run-2",
        "photos": 4,
        "added": 2,
        "removed": 1,
        "api_total": 4,
        "pages": 1,
        "read_passes": 2,
        "previous_snapshot_at": NIGHT_1,
    }
    assert check_history(row, changes.num_rows, previous_photos=3, photos=4).passed
    # Counts that do not follow from the recorded state stop the run.
    assert not check_history(row, changes.num_rows, previous_photos=5, photos=4).passed
    assert not check_history(row, 1, previous_photos=3, photos=4).passed


def test_one_lookup_of_the_ids_serves_first_sightings_and_changes():
    history = recorded_history(
        _changes([(i, "added", NIGHT_1) for i in "abcd"]), NIGHT_1, _images(list("abcd"), NIGHT_1)
    )
    current = pa.table({"image_id": ["d", "x", "b"], "capture_rank": [1, 2, 3]})
    rows = rows_in_history(current["image_id"], history)
    assert rows.to_pylist() == [3, None, 1]  # d and b are rows 3 and 1 of the state
    seen = first_seen_at(current["image_id"], history, NIGHT_2, rows)
    assert seen.to_pylist() == [NIGHT_1, NIGHT_2, NIGHT_1]
    added, removed = added_and_removed(current, history, rows)
    assert added.column("image_id").to_pylist() == ["x"]
    assert sorted(removed.column("image_id").to_pylist()) == ["a", "c"]


def test_a_photo_the_history_holds_twice_is_not_removed_while_it_is_there():
    # Two additions of c without a removal (a history written by racing runs): c is present
    # once in the state's count, and still in the gallery, so only e is gone.
    state = pa.table(
        {"image_id": ["c", "c", "e"], "first_seen_at": pa.array([NIGHT_1] * 3, TIMESTAMP)}
    )
    published = pa.table({"image_id": ["e", "c", "e"], "capture_rank": [1, 2, 3]})
    history = History(state, NIGHT_1, published)
    current = pa.table({"image_id": ["c"], "capture_rank": [1]})
    added, removed = added_and_removed(current, history)
    assert added.num_rows == 0
    # e's last rank is its first row in the published images, as a lookup by id finds it.
    assert removed.to_pylist() == [{"image_id": "e", "capture_rank": 1}]


def test_published_images_give_removed_photos_their_last_rank_in_row_order_or_not():
    for ranks in ([1, 2, 3, 4], [2, 1, 3, 4]):  # a read's order, and ranks that are not it
        images = _images(list("abcd"), NIGHT_1).set_column(1, "capture_rank", pa.array(ranks))
        history = published_history(images, NIGHT_1)
        assert ("capture_rank" in history.published.column_names) == (ranks != [1, 2, 3, 4])
        current = pa.table({"image_id": ["a", "c"], "capture_rank": [1, 2]})
        _, removed = added_and_removed(current, history)
        rank = dict(zip(list("abcd"), ranks, strict=True))
        assert removed.to_pylist() == [{"image_id": i, "capture_rank": rank[i]} for i in ("b", "d")]
