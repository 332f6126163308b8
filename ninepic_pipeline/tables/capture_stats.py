"""`capture_order_stats`: how the gallery was read and how photos run through capture order."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.tables.schemas import (
    CAPTURE_ORDER_STATS,
    arrow_columns,
    in_capture_order,
    to_frame,
)

CAPTURE_COLUMNS = ["capture_rank", "image_id", "width", "height", "orientation"]

# Real sides are positive (the client turns anything else into null), so -1 can stand for
# "unknown" and be compared like any other value.
_UNKNOWN_SIDE = -1
RUN_WINDOW_ROWS = 65_536


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """Row numbers where a run of equal values (over all `columns`) begins; 0 always does."""
    changed = np.zeros(len(columns[0]) - 1, dtype=bool)
    for values in columns:
        changed |= values[1:] != values[:-1]
    return np.flatnonzero(np.concatenate([[True], changed]))


def resolution_runs(images: pa.Table) -> tuple[int, int]:
    """(maximal runs of equal (width, height), length of the longest); unknown is a value.

    Compared a window of rows at a time: the sides filled and copied whole were 32 MB at a
    million photos, at the height of a second night.
    """
    rows = images.num_rows
    if not rows:
        return 0, 0
    runs, longest, run_start = 1, 0, 0
    for start in range(0, rows - 1, RUN_WINDOW_ROWS):
        # One row more than the window, so that a run starting at its edge is seen.
        window = images.slice(start, RUN_WINDOW_ROWS + 1)
        sides = [
            pc.fill_null(window.column(side), _UNKNOWN_SIDE).to_numpy()
            for side in ("width", "height")
        ]
        starts = _run_starts(*sides)[1:] + start
        if starts.size:
            lengths = np.diff(starts, prepend=run_start)
            runs, longest = runs + starts.size, max(longest, int(lengths.max()))
            run_start = int(starts[-1])
    return runs, max(longest, rows - run_start)


def orientation_switches(images: pa.Table) -> int:
    """Adjacent pairs whose orientation differs; unknown counts as an orientation of its own."""
    if images.num_rows < 2:
        return 0
    orientation = images.column("orientation")
    # Each row's position among the distinct values (null is one of them, matched like any).
    codes = pc.index_in(orientation, value_set=pc.unique(orientation), skip_nulls=False)
    return len(_run_starts(codes.to_numpy())) - 1


def capture_order_stats(
    images: pa.Table | pd.DataFrame,
    pages: pd.DataFrame,
    timeline_total: int | None,
    computed_at: datetime,
    read_passes: int = 1,
    drift_accepted: bool = False,
) -> pd.DataFrame:
    """One row over an event's `images` and the `gallery_pages` of the read that produced them."""
    images = in_capture_order(arrow_columns(images, CAPTURE_COLUMNS))
    ids = images.column("image_id")
    pages = pages.sort_values("page")
    api_total = int(pages["total"].iloc[-1]) if len(pages) else 0
    runs, longest = resolution_runs(images)
    row = {
        "image_count": images.num_rows,
        "api_total": api_total,
        "pages_fetched": len(pages),
        "page_size": int(pages["page_size"].iloc[-1]) if len(pages) else 0,
        "duplicates_dropped": int(pages["images"].sum() - pages["new_images"].sum()),
        "first_image_id": ids[0].as_py() if len(ids) else None,
        "last_image_id": ids[-1].as_py() if len(ids) else None,
        "resolution_runs": runs,
        "longest_resolution_run": longest,
        "orientation_switches": orientation_switches(images),
        "untimestamped_count": None if timeline_total is None else api_total - timeline_total,
        "read_passes": read_passes,
        "drift_accepted": drift_accepted,
        "computed_at": computed_at,
    }
    return to_frame(pa.Table.from_pylist([row], schema=CAPTURE_ORDER_STATS))
