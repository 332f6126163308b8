"""`image_size_stats`: how large the photos of an event are and how they are oriented."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.models import MAX_SIDE_PX
from ninepic_pipeline.tables.images import ORIENTATIONS
from ninepic_pipeline.tables.schemas import (
    IMAGE_SIZE_STATS,
    arrow_columns,
    in_capture_order,
    to_frame,
)

SIZE_COLUMNS = ["capture_rank", "width", "height", "megapixels", "orientation"]
RESOLUTION_WINDOW_ROWS = 65_536


def _summary(values: pa.ChunkedArray, name: str, as_int: bool) -> dict[str, object]:
    """min/max/mean/median of the known values: nulls are left out, as SQL's aggregates do."""
    if not pc.count(values).as_py():
        return {f"{name}_{stat}": None for stat in ("min", "max", "mean", "median")}
    extremes = pc.min_max(values)
    extreme = int if as_int else float
    return {
        f"{name}_min": extreme(extremes["min"].as_py()),
        f"{name}_max": extreme(extremes["max"].as_py()),
        f"{name}_mean": float(pc.mean(values).as_py()),
        # Linear interpolation between the middle two, as numpy's and SQL's median.
        f"{name}_median": float(pc.quantile(values, 0.5, interpolation="linear")[0].as_py()),
    }


def _percentiles(values: pa.ChunkedArray, *quantiles: float) -> list[float | None]:
    if not pc.count(values).as_py():
        return [None] * len(quantiles)
    found = pc.quantile(values, list(quantiles), interpolation="linear")
    return [float(q) for q in found.to_pylist()]


def _resolutions(width: pa.ChunkedArray, height: pa.ChunkedArray) -> tuple[int, str | None]:
    """(distinct WIDTHxHEIGHT of the sized photos, the most frequent one); a tie goes to the
    one seen first in capture order.

    A hash aggregate over one integer per size, a window of rows at a time and then over the
    windows' groups: its memory grows with the distinct sizes, a few dozen in a real gallery,
    where sorting the sizes would copy them twice and one aggregate over all the rows held
    four 8 MB columns at a million photos.
    """
    windows = [
        _resolution_groups(width, height, start)
        for start in range(0, len(width), RESOLUTION_WINDOW_ROWS)
    ]
    if not windows:
        return 0, None
    groups = _grouped(pa.concat_tables(windows), [("row_min", "min"), ("row_count", "sum")])
    groups = groups.filter(pc.is_valid(groups.column("size")))
    if not groups.num_rows:
        return 0, None
    first, counts = (
        groups.column("row_min_min").to_numpy(),
        groups.column("row_count_sum").to_numpy(),
    )
    best = np.lexsort((first, -counts))[0]  # rows are in capture order: the earliest wins a tie
    top_width, top_height = divmod(int(groups.column("size")[best].as_py()), MAX_SIDE_PX + 1)
    return groups.num_rows, f"{top_width}x{top_height}"


def _resolution_groups(width: pa.ChunkedArray, height: pa.ChunkedArray, start: int) -> pa.Table:
    """size, first row and count of each size among the rows from `start`, one window."""
    # In 64 bits: a read holds its sides in 32 (`api.models.PHOTO_SCHEMA`), where this wraps.
    side = width.slice(start, RESOLUTION_WINDOW_ROWS).cast(pa.int64())
    sizes = pc.add(pc.multiply(side, MAX_SIDE_PX + 1), height.slice(start, len(side)))
    rows = pa.table({"size": sizes, "row": np.arange(start, start + len(side), dtype=np.int64)})
    return _grouped(rows, [("row", "min"), ("row", "count")])


def _grouped(table: pa.Table, aggregates: list[tuple[str, str]]) -> pa.Table:
    # One thread: Acero's worker threads each left a malloc arena behind, 26 MB more at the
    # run's peak, for an aggregate that takes milliseconds.
    return table.group_by("size", use_threads=False).aggregate(aggregates)


def image_size_stats(images: pa.Table | pd.DataFrame, computed_at: datetime) -> pd.DataFrame:
    """One row of size and orientation statistics over an event's `images` table.

    Computed in Arrow over the columns it reads, none copied whole: at a million photos a
    pandas frame of them was the run's high-water mark.
    """
    table = in_capture_order(arrow_columns(images, SIZE_COLUMNS))
    width, height = table.column("width"), table.column("height")
    known = pc.and_(pc.is_valid(width), pc.is_valid(height))
    sized = pc.sum(known).as_py() or 0
    megapixels = pc.filter(table.column("megapixels"), known)
    orientation = table.column("orientation")

    def count(value: str) -> int:
        return pc.sum(pc.and_(pc.equal(orientation, value), known)).as_py() or 0

    distinct, top = _resolutions(width, height)
    p05, p95 = _percentiles(megapixels, 0.05, 0.95)
    row: dict[str, object] = {
        "image_count": table.num_rows,
        "sized_count": sized,
        "unknown_size_count": table.num_rows - sized,
        **_summary(width, "width", as_int=True),
        **_summary(height, "height", as_int=True),
        **_summary(megapixels, "megapixels", as_int=False),
        "megapixels_p05": p05,
        "megapixels_p95": p95,
        **{f"{value}_count": count(value) for value in ORIENTATIONS.to_pylist()},
        "distinct_resolutions": distinct,
        "top_resolution": top,
        "computed_at": computed_at,
    }
    return to_frame(pa.Table.from_pylist([row], schema=IMAGE_SIZE_STATS))
