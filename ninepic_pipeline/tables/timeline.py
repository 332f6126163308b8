"""`capture_timeline`: how the photos of an event spread over its UTC hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from ninepic_pipeline.api.models import Timeline
from ninepic_pipeline.tables.schemas import CAPTURE_TIMELINE


def capture_timeline_table(timeline: Timeline, api_total: int) -> pa.Table:
    """One row per UTC date and hour with photos, then one for the photos without a time.

    A disabled timeline gives an empty table: the hours are unknown, not zero.
    """
    if not timeline.available:
        return CAPTURE_TIMELINE.empty_table()
    rows = [
        {
            "capture_date": day_date,
            "capture_hour": hour.hour,
            "hour_start": datetime.combine(day_date, datetime.min.time(), UTC)
            + timedelta(hours=hour.hour),
            "photo_count": hour.count,
            "untimestamped": False,
        }
        for day in timeline.days
        for day_date in [date.fromisoformat(day.date)]
        for hour in sorted(day.hours, key=lambda h: h.hour)
        if hour.count
    ]
    rows.append(
        {
            "capture_date": None,
            "capture_hour": None,
            "hour_start": None,
            "photo_count": api_total - (timeline.total or 0),
            "untimestamped": True,
        }
    )
    return pa.Table.from_pylist(rows, schema=CAPTURE_TIMELINE)
