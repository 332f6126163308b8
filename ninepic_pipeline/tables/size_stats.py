"""`image_size_stats`: how large the photos of an event are and how they are oriented."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from ninepic_pipeline.tables.schemas import IMAGE_SIZE_STATS, to_frame

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


def top_resolution(sized: pd.DataFrame) -> str | None:
    """The most frequent WIDTHxHEIGHT; a tie goes to the one seen first in capture order."""
    if sized.empty:
        return None
    groups = sized.groupby(["width", "height"], sort=False)["capture_rank"].agg(["size", "min"])
    best = groups.sort_values(["size", "min"], ascending=[False, True]).index[0]
    return f"{int(best[0])}x{int(best[1])}"


def image_size_stats(images: pd.DataFrame, computed_at: datetime) -> pd.DataFrame:
    """One row of size and orientation statistics over an event's `images` table."""
    images = images.sort_values("capture_rank")
    sized = images[images["width"].notna() & images["height"].notna()]
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
        "distinct_resolutions": len(sized[["width", "height"]].drop_duplicates()),
        "top_resolution": top_resolution(sized),
        "computed_at": computed_at,
    }
    table = pa.Table.from_pylist([row], schema=IMAGE_SIZE_STATS)
    return to_frame(table)
