"""`capture_timeline` from Photo Timeline days, worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ninepic_pipeline.api.models import Timeline, TimelineDay, TimelineHour
from ninepic_pipeline.tables.timeline import capture_timeline_table


def test_one_row_per_hour_with_photos_then_the_untimestamped_remainder():
    timeline = Timeline(
        available=True,
        days=(
            TimelineDay("2026-03-14", 7, (TimelineHour(23, 5), TimelineHour(22, 2))),
            TimelineDay("2026-03-15", 3, (TimelineHour(0, 3), TimelineHour(1, 0))),
        ),
    )
    rows = capture_timeline_table(timeline, api_total=14).to_pylist()
    assert [(r["capture_date"], r["capture_hour"], r["photo_count"]) for r in rows] == [
        (date(2026, 3, 14), 22, 2),
        (date(2026, 3, 14), 23, 5),
        (date(2026, 3, 15), 0, 3),
        (None, None, 4),  # 14 photos, 10 with a time
    ]
    assert rows[1]["hour_start"] == datetime(2026, 3, 14, 23, tzinfo=UTC)
    assert [r["untimestamped"] for r in rows] == [False, False, False, True]


def test_a_disabled_timeline_is_an_empty_table_not_zero_hours():
    table = capture_timeline_table(Timeline(available=False), api_total=250)
    assert table.num_rows == 0
    assert table.schema.field("photo_count").type == "int64"
