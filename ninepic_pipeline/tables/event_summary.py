"""`event_summary`: one row per event, the table a dashboard reads first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa

from ninepic_pipeline.tables.schemas import EVENT_SUMMARY, conform

# Growth over the snapshots of the last N nights: UTC dates, the summary's own date the last,
# so that runs a few minutes earlier or later from one night to the next never count twice.
GROWTH_WINDOWS = {"1d": 1, "7d": 7}

_FROM_EVENTS = ["event_id", "event_name", "event_date", "status"]
_FROM_SIZE = {
    "image_count": "photos",
    "sized_count": "sized_count",
    "portrait_count": "portrait_count",
    "landscape_count": "landscape_count",
    "square_count": "square_count",
    "megapixels_min": "megapixels_min",
    "megapixels_median": "megapixels_median",
    "top_resolution": "top_resolution",
    "distinct_resolutions": "distinct_resolutions",
    "computed_at": "stats_computed_at",
}
_FROM_CAPTURE = ["pages_fetched", "untimestamped_count", "read_passes", "drift_accepted"]


def _snapshot_counts(snapshots: pd.DataFrame, computed_at: datetime) -> pd.DataFrame:
    """Per event: how many snapshots, the first and last, and the growth in each window."""
    by_event = snapshots.groupby("event_id")["snapshot_at"]
    history = pd.DataFrame(
        {
            "snapshots": by_event.size(),
            "first_snapshot_at": by_event.min(),
            "last_snapshot_at": by_event.max(),
        }
    )
    nights = snapshots["snapshot_at"].dt.tz_convert("UTC").dt.date
    today = computed_at.astimezone(UTC).date()
    for label, count in GROWTH_WINDOWS.items():
        first = today - timedelta(days=count - 1)
        taken = snapshots["snapshot_at"]
        recent = snapshots[(nights >= first) & (nights <= today) & (taken <= computed_at)]
        sums = recent.groupby("event_id")[["added", "removed"]].sum()
        history[f"added_{label}"] = sums["added"]
        history[f"removed_{label}"] = sums["removed"]
    return history.reset_index()


def event_summary(
    events: pd.DataFrame,
    size_stats: pd.DataFrame,
    capture_stats: pd.DataFrame,
    snapshots: pd.DataFrame,
    computed_at: datetime,
) -> pa.Table:
    """Every event listed or with tables, joined with its latest statistics and its growth.

    The statistics and snapshots frames carry an `event_id` column (the Hive path's).
    """
    ids = pd.concat([frame["event_id"] for frame in (events, size_stats, capture_stats, snapshots)])
    summary = pd.DataFrame({"event_id": sorted(set(ids.astype("int64")))}, dtype="Int64")
    summary = summary.merge(events[_FROM_EVENTS], on="event_id", how="left")
    size = size_stats[["event_id", *_FROM_SIZE]].rename(columns=_FROM_SIZE)
    summary = summary.merge(size, on="event_id", how="left")
    summary = summary.merge(capture_stats[["event_id", *_FROM_CAPTURE]], on="event_id", how="left")
    summary = summary.merge(_snapshot_counts(snapshots, computed_at), on="event_id", how="left")
    counts = ["snapshots", *(f"{c}_{w}" for w in GROWTH_WINDOWS for c in ("added", "removed"))]
    summary[counts] = summary[counts].fillna(0).astype("int64")
    for label in GROWTH_WINDOWS:
        summary[f"net_growth_{label}"] = summary[f"added_{label}"] - summary[f"removed_{label}"]
    summary["computed_at"] = computed_at
    return conform(summary, EVENT_SUMMARY)
