"""`event_summary`: events joined with their statistics and their growth windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa

from ninepic_pipeline.tables.event_summary import event_summary
from ninepic_pipeline.tables.schemas import EVENT_SUMMARY, TABLE_SCHEMAS, to_frame

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """Rows of a partitioned table, with the `event_id` its Hive path would give."""
    schema = pa.schema([pa.field("event_id", pa.int64()), *TABLE_SCHEMAS[table]])
    full = [{name: row.get(name) for name in schema.names} for row in rows]
    return to_frame(pa.Table.from_pylist(full, schema=schema))


def _snapshot(event: int, hours_ago: float, added: int, removed: int) -> dict:
    return {
        "event_id": event,
        "snapshot_at": NOW - timedelta(hours=hours_ago),
        "run_id": "r",
        "photos": 0,
        "added": added,
        "removed": removed,
        "api_total": 0,
        "pages": 0,
        "read_passes": 1,
        "drift_accepted": False,
    }


def test_growth_windows_and_joins():
    events = to_frame(
        pa.Table.from_pylist(
            [
                {"event_id": 1, "event_name": "Marathon", "fetched_at": NOW},
                {"event_id": 2, "event_name": "Never read", "fetched_at": NOW},
            ],
            schema=TABLE_SCHEMAS["events"],
        )
    )
    size = _frame(
        "image_size_stats",
        [
            {
                "event_id": 1,
                "image_count": 120,
                "sized_count": 100,
                "megapixels_median": 8.5,
                "computed_at": NOW,
            },
            # Listed no more, but its tables are still in the warehouse.
            {"event_id": 3, "image_count": 7, "sized_count": 7, "computed_at": NOW},
        ],
    )
    capture = _frame("capture_order_stats", [{"event_id": 1, "pages_fetched": 2, "read_passes": 2}])
    snapshots = _frame(
        "gallery_snapshots",
        [
            _snapshot(1, hours_ago=24 * 10, added=100, removed=0),  # outside both windows
            _snapshot(1, hours_ago=24 * 3, added=15, removed=5),  # in the 7-day window
            _snapshot(1, hours_ago=2, added=12, removed=2),  # in both
            _snapshot(3, hours_ago=24 * 8, added=7, removed=0),
        ],
    )
    table = event_summary(events, size, capture, snapshots, NOW)
    assert table.schema == EVENT_SUMMARY
    rows = {row["event_id"]: row for row in table.to_pylist()}
    assert sorted(rows) == [1, 2, 3]
    one = rows[1]
    assert (one["event_name"], one["photos"], one["megapixels_median"]) == ("Marathon", 120, 8.5)
    assert (one["pages_fetched"], one["read_passes"], one["snapshots"]) == (2, 2, 3)
    assert (one["added_1d"], one["removed_1d"], one["net_growth_1d"]) == (12, 2, 10)
    assert (one["added_7d"], one["removed_7d"], one["net_growth_7d"]) == (27, 7, 20)
    assert one["first_snapshot_at"] == NOW - timedelta(days=10)
    assert one["last_snapshot_at"] == NOW - timedelta(hours=2)
    never = rows[2]
    assert never["photos"] is None and never["snapshots"] == 0 and never["net_growth_7d"] == 0
    assert rows[3]["event_name"] is None and rows[3]["photos"] == 7
    assert {row["computed_at"] for row in rows.values()} == {NOW}


def test_an_empty_warehouse_gives_an_empty_summary():
    empty = {
        name: _frame(name, [])
        for name in ("image_size_stats", "capture_order_stats", "gallery_snapshots")
    }
    events = to_frame(TABLE_SCHEMAS["events"].empty_table())
    table = event_summary(events, *empty.values(), NOW)
    assert table.num_rows == 0
    assert table.schema == EVENT_SUMMARY


def test_a_night_is_a_utc_date_so_runs_minutes_apart_never_count_twice():
    computed = datetime(2026, 12, 3, 2, 41, tzinfo=UTC)
    rows = [
        {
            **_snapshot(1, 0, added=5, removed=0),
            "snapshot_at": datetime(2026, 12, 2, 2, 45, tzinfo=UTC),
        },
        {
            **_snapshot(1, 0, added=3, removed=1),
            "snapshot_at": datetime(2026, 12, 3, 2, 40, tzinfo=UTC),
        },
    ]
    empty = {n: _frame(n, []) for n in ("image_size_stats", "capture_order_stats")}
    events = to_frame(TABLE_SCHEMAS["events"].empty_table())
    table = event_summary(events, *empty.values(), _frame("gallery_snapshots", rows), computed)
    (row,) = table.to_pylist()
    assert (row["added_1d"], row["removed_1d"], row["net_growth_1d"]) == (3, 1, 2)
    assert (row["added_7d"], row["net_growth_7d"]) == (8, 7)
