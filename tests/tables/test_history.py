"""The history's pure parts: first sightings carried over, changes, and their check."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from ninepic_pipeline.tables.checks import check_history
from ninepic_pipeline.tables.history import (
    PreviousSnapshot,
    SnapshotFacts,
    first_seen_at,
    gallery_snapshot_row,
    image_changes,
    unchanged,
)
from ninepic_pipeline.tables.schemas import TIMESTAMP

NIGHT_1 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NIGHT_2 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _old_images() -> pa.Table:
    """A published `images` file from before `first_seen_at` existed."""
    return pa.table(
        {
            "image_id": ["a", "b", "c"],
            "capture_rank": [1, 2, 3],
            "fetched_at": pa.array([NIGHT_1] * 3, TIMESTAMP),
        }
    )


def test_a_file_without_first_seen_at_gives_fetched_at_and_new_photos_get_now():
    previous = PreviousSnapshot.from_images(_old_images(), None)
    ids = pa.chunked_array([["x", "c", "a"]])
    assert first_seen_at(ids, previous, NIGHT_2).to_pylist() == [NIGHT_2, NIGHT_1, NIGHT_1]
    assert first_seen_at(ids, None, NIGHT_2).to_pylist() == [NIGHT_2] * 3


def test_changes_and_their_row_add_up():
    previous = PreviousSnapshot.from_images(_old_images(), NIGHT_1)
    current = pa.table({"image_id": ["x", "a", "c"], "capture_rank": [1, 2, 3]})
    changes = image_changes(current, previous, NIGHT_2, "run-2")
    assert [
        (r["image_id"], r["change"], r["capture_rank"], r["previous_capture_rank"])
        for r in changes.to_pylist()
    ] == [("x", "added", 1, None), ("b", "removed", None, 2)]
    facts = SnapshotFacts(NIGHT_2, "run-2", 3, 3, 1, 2, False)
    row = gallery_snapshot_row(facts, changes, previous)
    assert row.to_pylist()[0] == {
        "snapshot_at": NIGHT_2,
        "run_id": "run-2",
        "photos": 3,
        "added": 1,
        "removed": 1,
        "api_total": 3,
        "pages": 1,
        "read_passes": 2,
        "drift_accepted": False,
        "previous_snapshot_at": NIGHT_1,
    }
    assert check_history(row, changes, previous_photos=3, photos=3).passed
    # Counts that do not follow from the previous snapshot stop the run.
    assert not check_history(row, changes, previous_photos=5, photos=3).passed
    assert not check_history(row, changes.slice(0, 1), previous_photos=3, photos=3).passed


def test_the_same_photos_in_another_order_are_a_new_state():
    previous = PreviousSnapshot.from_images(_old_images(), NIGHT_1)
    assert unchanged(pa.chunked_array([["a"], ["b", "c"]]), previous)
    assert not unchanged(pa.chunked_array([["b", "a", "c"]]), previous)
    assert not unchanged(pa.chunked_array([["a", "b", "c"]]), None)
