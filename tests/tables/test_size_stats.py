"""`image_size_stats` on small frames whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from ninepic_pipeline.tables import image_size_stats
from tests.tables.frames import orientation_of

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _images(sizes: list[tuple[int | None, int | None]]) -> pd.DataFrame:
    width = pd.array([w for w, _ in sizes], dtype="Int64")
    height = pd.array([h for _, h in sizes], dtype="Int64")
    frame = pd.DataFrame(
        {"capture_rank": range(1, len(sizes) + 1), "width": width, "height": height}
    )
    frame["megapixels"] = frame["width"].astype("Float64") * frame["height"] / 1e6
    frame["orientation"] = [orientation_of(w, h) for w, h in sizes]
    return frame


def test_counts_extremes_and_percentiles():
    stats = image_size_stats(
        _images([(2000, 1000), (4000, 2000), (3000, 3000), (5000, None), (None, 7000)]), NOW
    ).iloc[0]
    assert (stats["image_count"], stats["sized_count"], stats["unknown_size_count"]) == (5, 3, 2)
    # Widths known: 2000, 4000, 3000, 5000 -> each side's stats leave out only its own nulls.
    assert (stats["width_min"], stats["width_max"]) == (2000, 5000)
    assert stats["width_mean"] == 3500.0 and stats["width_median"] == 3500.0
    assert (stats["height_min"], stats["height_max"]) == (1000, 7000)
    assert stats["height_median"] == 2500.0
    # Megapixels of sized photos: 2, 8, 9. p05 = 2 + 0.1 * (8 - 2); p95 = 8 + 0.9 * (9 - 8).
    assert stats["megapixels_median"] == 8.0
    assert stats["megapixels_p05"] == pytest.approx(2.6)
    assert stats["megapixels_p95"] == pytest.approx(8.9)
    assert (stats["portrait_count"], stats["landscape_count"], stats["square_count"]) == (0, 2, 1)
    assert stats["distinct_resolutions"] == 3
    assert stats["computed_at"] == pd.Timestamp(NOW)


def test_top_resolution_tie_goes_to_the_earliest_in_capture_order():
    sizes = [(10, 20), (30, 40), (30, 40), (10, 20), (50, 50)]
    assert image_size_stats(_images(sizes), NOW).iloc[0]["top_resolution"] == "10x20"
    shuffled = _images(sizes).iloc[::-1]  # row order is not capture order: rank decides
    assert image_size_stats(shuffled, NOW).iloc[0]["top_resolution"] == "10x20"
    assert image_size_stats(_images([*sizes, (30, 40)]), NOW).iloc[0]["top_resolution"] == "30x40"


def test_no_sized_photo_gives_null_statistics_not_zeros():
    stats = image_size_stats(_images([(None, None), (100, None)]), NOW).iloc[0]
    assert stats["sized_count"] == 0 and stats["unknown_size_count"] == 2
    assert stats["width_min"] == 100
    assert pd.isna(stats["height_min"]) and pd.isna(stats["megapixels_p95"])
    assert pd.isna(stats["top_resolution"])
    assert stats["distinct_resolutions"] == 0


def test_sizes_over_many_windows_of_rows_as_the_pipeline_holds_them():
    # Four windows of rows, held as a read holds them (32-bit sides, megapixels made by
    # `with_size_columns`). B and C tie for the most photos: B first seen in window 1 and C in
    # window 2, so B wins; but B's photos are split between windows 1 and 3, and A fills most
    # of window 0, so a count or a first row taken per window, not over all, picks another.
    import numpy as np
    import pyarrow as pa

    from ninepic_pipeline.tables.images import with_size_columns
    from ninepic_pipeline.tables.size_stats import RESOLUTION_WINDOW_ROWS

    w, half = RESOLUTION_WINDOW_ROWS, RESOLUTION_WINDOW_ROWS // 2
    a, b, c, unknown = (4000, 6000), (3000, 2000), (2000, 3000), (None, 3000)
    sizes = [a] * (w - 10) + [unknown] * 10
    sizes += [unknown] * 5 + [b] * half + [unknown] * (half - 5)
    sizes += [c] * w
    sizes += [b] * half
    table = pa.table(
        {
            "capture_rank": pa.array(range(1, len(sizes) + 1), pa.int64()),
            "width": pa.array([s[0] for s in sizes], pa.int32()),
            "height": pa.array([s[1] for s in sizes], pa.int32()),
        }
    )
    stats = image_size_stats(with_size_columns(table, ("megapixels", "orientation")), NOW).iloc[0]
    assert stats["top_resolution"] == "3000x2000"
    assert stats["distinct_resolutions"] == 3
    known = np.array([x * y / 1e6 for x, y in sizes if x is not None])
    assert stats["sized_count"] == len(known) == (w - 10) + w + w
    assert stats["megapixels_median"] == pytest.approx(float(np.median(known)))
    assert stats["megapixels_p05"] == pytest.approx(float(np.percentile(known, 5)))
    assert stats["megapixels_mean"] == pytest.approx(float(known.mean()))
    assert (stats["portrait_count"], stats["landscape_count"]) == ((w - 10) + w, w)
