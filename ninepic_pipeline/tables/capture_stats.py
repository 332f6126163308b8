"""`capture_order_stats`: how the gallery was read and how photos run through capture order."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ninepic_pipeline.tables.schemas import CAPTURE_ORDER_STATS, in_capture_order, to_frame

CAPTURE_COLUMNS = ["capture_rank", "image_id", "width", "height", "orientation"]

# Real sides are positive (the client turns anything else into null), so -1 can stand for
# "unknown" and be compared like any other value.
_UNKNOWN_SIDE = -1


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """Row numbers where a run of equal values (over all `columns`) begins; 0 always does."""
    changed = np.zeros(len(columns[0]) - 1, dtype=bool)
    for values in columns:
        changed |= values[1:] != values[:-1]
    return np.flatnonzero(np.concatenate([[True], changed]))


def resolution_runs(images: pd.DataFrame) -> tuple[int, int]:
    """(maximal runs of equal (width, height), length of the longest); unknown is a value."""
    if images.empty:
        return 0, 0
    sides = [images[side].fillna(_UNKNOWN_SIDE).to_numpy("int64") for side in ("width", "height")]
    starts = _run_starts(*sides)
    return len(starts), int(np.diff(np.append(starts, len(images))).max())


def orientation_switches(images: pd.DataFrame) -> int:
    """Adjacent pairs whose orientation differs; unknown counts as an orientation of its own."""
    if len(images) < 2:
        return 0
    codes, _ = pd.factorize(images["orientation"])  # unknown (null) gets a code of its own: -1
    return len(_run_starts(codes)) - 1


def capture_order_stats(
    images: pd.DataFrame,
    pages: pd.DataFrame,
    timeline_total: int | None,
    computed_at: datetime,
    read_passes: int = 1,
    drift_accepted: bool = False,
) -> pd.DataFrame:
    """One row over an event's `images` and the `gallery_pages` of the read that produced them."""
    images = in_capture_order(images)
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
