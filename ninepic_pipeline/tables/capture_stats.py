"""`capture_order_stats`: how the gallery was read and how photos run through capture order."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pyarrow as pa

from ninepic_pipeline.tables.schemas import CAPTURE_ORDER_STATS, to_frame

CAPTURE_COLUMNS = ["capture_rank", "image_id", "width", "height", "orientation"]

# Real sides are positive (the client turns anything else into null), so -1 can stand for
# "unknown" and be compared like any other value.
_UNKNOWN_SIDE = -1


def _run_starts(keys: pd.DataFrame) -> pd.Series:
    """True where a row differs from the one before it in any column (and on the first row)."""
    return (keys != keys.shift()).any(axis=1)


def resolution_runs(images: pd.DataFrame) -> tuple[int, int]:
    """(maximal runs of equal (width, height), length of the longest); unknown is a value."""
    if images.empty:
        return 0, 0
    sides = images[["width", "height"]].fillna(_UNKNOWN_SIDE).astype("int64")
    run_id = _run_starts(sides).cumsum()
    return int(run_id.iloc[-1]), int(run_id.value_counts().max())


def orientation_switches(images: pd.DataFrame) -> int:
    """Adjacent pairs whose orientation differs; unknown counts as an orientation of its own."""
    if len(images) < 2:
        return 0
    orientation = images[["orientation"]].astype("object").fillna("unknown")
    return int(_run_starts(orientation).iloc[1:].sum())


def capture_order_stats(
    images: pd.DataFrame,
    pages: pd.DataFrame,
    timeline_total: int | None,
    computed_at: datetime,
    read_passes: int = 1,
    drift_accepted: bool = False,
) -> pd.DataFrame:
    """One row over an event's `images` and the `gallery_pages` of the read that produced them."""
    images = images.sort_values("capture_rank")
    pages = pages.sort_values("page")
    api_total = int(pages["total"].iloc[-1]) if len(pages) else 0
    runs, longest = resolution_runs(images)
    row = {
        "image_count": len(images),
        "api_total": api_total,
        "pages_fetched": len(pages),
        "page_size": int(pages["page_size"].iloc[-1]) if len(pages) else 0,
        "duplicates_dropped": int(pages["images"].sum() - pages["new_images"].sum()),
        "first_image_id": images["image_id"].iloc[0] if len(images) else None,
        "last_image_id": images["image_id"].iloc[-1] if len(images) else None,
        "resolution_runs": runs,
        "longest_resolution_run": longest,
        "orientation_switches": orientation_switches(images),
        "untimestamped_count": None if timeline_total is None else api_total - timeline_total,
        "read_passes": read_passes,
        "drift_accepted": drift_accepted,
        "computed_at": computed_at,
    }
    return to_frame(pa.Table.from_pylist([row], schema=CAPTURE_ORDER_STATS))
