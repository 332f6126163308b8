"""`image_size_stats`: how large the photos of an event are and how they are oriented."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ninepic_pipeline.api.models import MAX_SIDE_PX
from ninepic_pipeline.tables.schemas import IMAGE_SIZE_STATS, in_capture_order, to_frame

SIZE_COLUMNS = ["capture_rank", "width", "height", "megapixels", "orientation"]
SIDES = ("width", "height")


def _summary(values: np.ndarray, name: str, as_int: bool) -> dict[str, object]:
    """min/max/mean/median of the known values: NaN (unknown) is left out, as SQL's aggregates
    leave out nulls."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return {f"{name}_{stat}": None for stat in ("min", "max", "mean", "median")}
    extreme = int if as_int else float
    return {
        f"{name}_min": extreme(known.min()),
        f"{name}_max": extreme(known.max()),
        f"{name}_mean": float(known.mean()),
        f"{name}_median": float(np.median(known)),
    }


def _resolutions(width: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct WIDTHxHEIGHT, how many rows have it), one int per size."""
    _, first, counts = np.unique(
        width * (MAX_SIDE_PX + 1) + height, return_index=True, return_counts=True
    )
    return first, counts


def _top_resolution(
    width: np.ndarray, height: np.ndarray, first: np.ndarray, counts: np.ndarray
) -> str | None:
    """The most frequent WIDTHxHEIGHT; a tie goes to the one seen first in capture order."""
    if width.size == 0:
        return None
    # Rows are in capture order, so the earliest first row breaks a tie.
    best = first[np.lexsort((first, -counts))[0]]
    return f"{int(width[best])}x{int(height[best])}"


def image_size_stats(images: pd.DataFrame, computed_at: datetime) -> pd.DataFrame:
    """One row of size and orientation statistics over an event's `images` table."""
    images = in_capture_order(images)
    # Arrays of the sized rows, not a filtered frame: a boolean index copies every column.
    sides = {side: images[side].to_numpy("float64", na_value=np.nan) for side in SIDES}
    known = ~(np.isnan(sides["width"]) | np.isnan(sides["height"]))
    width, height = (sides[side][known].astype("int64") for side in SIDES)
    megapixels = images["megapixels"].to_numpy("float64", na_value=np.nan)[known]
    orientation = images["orientation"]

    def count(value: str) -> int:
        return int(((orientation == value).to_numpy(bool, na_value=False) & known).sum())

    first, counts = _resolutions(width, height)
    row: dict[str, object] = {
        "image_count": len(images),
        "sized_count": int(known.sum()),
        "unknown_size_count": int((~known).sum()),
        **_summary(sides["width"], "width", as_int=True),
        **_summary(sides["height"], "height", as_int=True),
        **_summary(megapixels, "megapixels", as_int=False),
        "megapixels_p05": float(np.percentile(megapixels, 5)) if megapixels.size else None,
        "megapixels_p95": float(np.percentile(megapixels, 95)) if megapixels.size else None,
        "portrait_count": count("portrait"),
        "landscape_count": count("landscape"),
        "square_count": count("square"),
        "distinct_resolutions": len(first),
        "top_resolution": _top_resolution(width, height, first, counts),
        "computed_at": computed_at,
    }
    table = pa.Table.from_pylist([row], schema=IMAGE_SIZE_STATS)
    return to_frame(table)
