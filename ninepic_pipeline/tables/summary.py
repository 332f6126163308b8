"""A one-screen summary of the warehouse: one line per event."""

from __future__ import annotations

import pandas as pd

SUMMARY_COLUMNS = [
    "event_id",
    "event_name",
    "photos",
    "pages",
    "sized",
    "portrait",
    "landscape",
    "square",
    "top_resolution",
    "megapixels_median",
    "untimestamped",
]


def gallery_summary(
    events: pd.DataFrame, size_stats: pd.DataFrame, capture_stats: pd.DataFrame
) -> pd.DataFrame:
    """Events joined with their statistics; both statistics frames carry an `event_id` column."""
    size = size_stats.rename(
        columns={
            "image_count": "photos",
            "sized_count": "sized",
            "portrait_count": "portrait",
            "landscape_count": "landscape",
            "square_count": "square",
        }
    )
    capture = capture_stats.rename(
        columns={"pages_fetched": "pages", "untimestamped_count": "untimestamped"}
    )[["event_id", "pages", "untimestamped"]]
    joined = events[["event_id", "event_name"]].merge(size, on="event_id", how="left")
    joined = joined.merge(capture, on="event_id", how="left")
    return joined[SUMMARY_COLUMNS].sort_values("event_id").reset_index(drop=True)
