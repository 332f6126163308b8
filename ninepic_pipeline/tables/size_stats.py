"""`image_size_stats`: how large the photos of an event are and how they are oriented."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ninepic_pipeline.api.models import MAX_SIDE_PX
from ninepic_pipeline.tables.schemas import IMAGE_SIZE_STATS, in_capture_order, to_frame

SIZE_COLUMNS = ["capture_rank", "width", "height", "megapixels", "orientation"]


def _summary(values: pd.Series, name: str, as_int: bool) -> dict[str, object]:
    """min/max/mean/median of the known values: nulls are left out, as SQL's aggregates do."""
    known = values.dropna().to_numpy(dtype="float64")
    if known.size == 0:
        return {f"{name}_{stat}": None for stat in ("min", "max", "mean", "median")}
    extreme = int if as_int else float
    return {
        f"{name}_min": extreme(known.min()),
        f"{name}_max": extreme(known.max()),
        f"{name}_mean": float(known.mean()),
        f"{name}_median": float(np.median(known)),
    }


def _resolutions(sized: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct WIDTHxHEIGHT as one int each, first row of each, how many rows have it)."""
    width, height = (sized[side].to_numpy("int64") for side in ("width", "height"))
    return np.unique(width * (MAX_SIDE_PX + 1) + height, return_index=True, return_counts=True)


def top_resolution(sized: pd.DataFrame) -> str | None:
    """The most frequent WIDTHxHEIGHT; a tie goes to the one seen first in capture order."""
    if sized.empty:
        return None
    _, first, counts = _resolutions(sized)
    # Rows are in capture order, so the earliest first row breaks a tie.
    best = first[np.lexsort((first, -counts))[0]]
    return f"{int(sized['width'].iloc[best])}x{int(sized['height'].iloc[best])}"


def image_size_stats(images: pd.DataFrame, computed_at: datetime) -> pd.DataFrame:
    """One row of size and orientation statistics over an event's `images` table."""
    images = in_capture_order(images)
    known = (images["width"].notna() & images["height"].notna()).to_numpy(dtype=bool)
    # A boolean index copies every column, a gallery's worth when every photo has its size.
    sized = images if known.all() else images[known]
    megapixels = sized["megapixels"].to_numpy(dtype="float64")
    orientation = sized["orientation"]
    row: dict[str, object] = {
        "image_count": len(images),
        "sized_count": len(sized),
        "unknown_size_count": len(images) - len(sized),
        **_summary(images["width"], "width", as_int=True),
        **_summary(images["height"], "height", as_int=True),
        **_summary(sized["megapixels"], "megapixels", as_int=False),
        "megapixels_p05": float(np.percentile(megapixels, 5)) if megapixels.size else None,
        "megapixels_p95": float(np.percentile(megapixels, 95)) if megapixels.size else None,
        "portrait_count": int((orientation == "portrait").sum()),
        "landscape_count": int((orientation == "landscape").sum()),
        "square_count": int((orientation == "square").sum()),
        "distinct_resolutions": len(_resolutions(sized)[0]),
        "top_resolution": top_resolution(sized),
        "computed_at": computed_at,
    }
    table = pa.Table.from_pylist([row], schema=IMAGE_SIZE_STATS)
    return to_frame(table)
