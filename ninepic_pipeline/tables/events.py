"""The `events` table from List Events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import pyarrow as pa

from ninepic_pipeline.api.models import Event
from ninepic_pipeline.tables.schemas import EVENTS, to_frame


def parse_local_datetime(text: str | None) -> datetime | None:
    """An ISO 8601 local time without zone; None when absent or not a date.

    A zone, if the API ever sends one, is dropped: the column is the event's local wall time.
    """
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def events_frame(events: Sequence[Event], fetched_at: datetime) -> pd.DataFrame:
    table = pa.table(
        {
            "event_id": [e.event_id for e in events],
            "event_name": [e.event_name for e in events],
            "event_slug": [e.event_slug for e in events],
            "event_date": pa.array(
                [parse_local_datetime(e.event_date) for e in events], pa.timestamp("us")
            ),
            "status": [e.status for e in events],
            "cover_image": [e.cover_image for e in events],
            "fetched_at": pa.array([fetched_at] * len(events), EVENTS.field("fetched_at").type),
        },
        schema=EVENTS,
    )
    return to_frame(table)
