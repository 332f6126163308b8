"""`capture_order_stats` on small frames whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from ninepic_pipeline.tables import capture_order_stats
from ninepic_pipeline.tables.capture_stats import RUN_WINDOW_ROWS
from tests.tables.frames import orientation_of

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _images(sizes):
    return pd.DataFrame(
        {
            "capture_rank": range(1, len(sizes) + 1),
            "image_id": [f"p{i}" for i in range(1, len(sizes) + 1)],
            "width": pd.array([w for w, _ in sizes], dtype="Int64"),
            "height": pd.array([h for _, h in sizes], dtype="Int64"),
            "orientation": pd.array(
                [orientation_of(w, h) for w, h in sizes],
                dtype="str",
            ),
        }
    )


def _pages(rows):
    return pd.DataFrame(rows, columns=["page", "total", "page_size", "images", "new_images"])


def test_runs_switches_and_read_counts():
    # runs: [A A] [unknown unknown] [B] [A] [(4000, unknown)] -> 5 runs, longest 2
    a, b = (4000, 6000), (6000, 4000)
    sizes = [a, a, (None, None), (None, None), b, a, (4000, None)]
    # orientations: P P ? ? L P ? -> switches at 2-3, 4-5, 5-6, 6-7 = 4
    pages = _pages([(1, 9, 4, 4, 4), (2, 8, 4, 4, 3)])
    stats = capture_order_stats(_images(sizes), pages, timeline_total=5, computed_at=NOW).iloc[0]
    assert stats["image_count"] == 7
    assert stats["api_total"] == 8
    assert stats["pages_fetched"] == 2
    assert stats["page_size"] == 4
    assert stats["duplicates_dropped"] == 1
    assert (stats["first_image_id"], stats["last_image_id"]) == ("p1", "p7")
    assert stats["resolution_runs"] == 5
    assert stats["longest_resolution_run"] == 2
    assert stats["orientation_switches"] == 4
    assert stats["untimestamped_count"] == 3


def test_unavailable_timeline_leaves_untimestamped_null():
    stats = capture_order_stats(_images([(1, 1)]), _pages([(1, 1, 100, 1, 1)]), None, NOW)
    assert pd.isna(stats.iloc[0]["untimestamped_count"])
    assert stats.iloc[0]["resolution_runs"] == 1 and stats.iloc[0]["orientation_switches"] == 0


def test_empty_gallery():
    stats = capture_order_stats(_images([]), _pages([(1, 0, 32, 0, 0)]), 0, NOW).iloc[0]
    assert (stats["image_count"], stats["resolution_runs"], stats["longest_resolution_run"]) == (
        0,
        0,
        0,
    )
    assert pd.isna(stats["first_image_id"])
    assert stats["untimestamped_count"] == 0


def test_a_frame_with_its_own_dtypes_gives_the_same_answers():
    # Orientation as a categorical, sides as objects that are all unknown: the frame a user
    # might build by hand, not one of the pipeline's.
    frame = _images([(None, None), (None, None), (None, None)])
    frame["width"] = pd.Series([None, None, None], dtype=object)
    frame["height"] = pd.Series([None, None, None], dtype=object)
    frame["orientation"] = pd.Categorical([None, None, None], categories=["portrait"])
    stats = capture_order_stats(frame, _pages([(1, 3, 3, 3, 3)]), 3, NOW).iloc[0]
    # One run of unknown sizes, unknown orientation all along: no switch.
    assert (stats["resolution_runs"], stats["longest_resolution_run"]) == (1, 3)
    assert stats["orientation_switches"] == 0
    labelled = _images([(1, 2), (2, 1), (1, 2)])
    labelled["orientation"] = pd.Categorical(["portrait", "landscape", "portrait"])
    assert (
        capture_order_stats(labelled, _pages([(1, 3, 3, 3, 3)]), 3, NOW).iloc[0][
            "orientation_switches"
        ]
        == 2
    )


def test_runs_across_the_windows_they_are_counted_in():
    # Runs of 1 photo to over a window of rows, one ending at a window's edge, sizes
    # cycling through two known ones and an unknown: counted here with itertools.groupby.
    import itertools
    import random

    rng = random.Random(7)
    cycle = [(4000, 6000), (None, None), (6000, 4000), (4000, None)]
    # The first window's last row ends a run, the second's first row starts one.
    sizes = [cycle[0]] * RUN_WINDOW_ROWS + [cycle[2]] * 3
    while len(sizes) < 300_000:
        sizes += [cycle[len(sizes) % 4 if rng.random() < 0.5 else 0]] * rng.choice(
            [1, 2, 3, RUN_WINDOW_ROWS - 1, RUN_WINDOW_ROWS, RUN_WINDOW_ROWS + 4_464]
        )
    lengths = [len(list(run)) for _, run in itertools.groupby(sizes)]
    frame = pd.DataFrame(
        {
            "capture_rank": range(1, len(sizes) + 1),
            "image_id": [f"p{i}" for i in range(len(sizes))],
            "width": pd.array([w for w, _ in sizes], dtype="Int64"),
            "height": pd.array([h for _, h in sizes], dtype="Int64"),
            "orientation": pd.array([None] * len(sizes), dtype="str"),
        }
    )
    pages = _pages([(1, len(sizes), 100, len(sizes), len(sizes))])
    stats = capture_order_stats(frame, pages, None, NOW).iloc[0]
    assert (stats["resolution_runs"], stats["longest_resolution_run"]) == (
        len(lengths),
        max(lengths),
    )


@pytest.mark.parametrize("rows", [1, 2, RUN_WINDOW_ROWS, RUN_WINDOW_ROWS + 1, RUN_WINDOW_ROWS + 2])
def test_runs_of_32_bit_sides_at_a_window_and_either_side(rows):
    # As a read holds its sides (32 bits, Arrow), the last row a size of its own: the run that
    # starts on a window's first row or ends on its last is counted once.
    import itertools

    import pyarrow as pa

    from ninepic_pipeline.tables.capture_stats import resolution_runs

    sizes = [((i // 3) % 2 * 1000 + 3000, None if i % 9 == 8 else 2000) for i in range(rows - 1)]
    sizes.append((1, 1))
    lengths = [len(list(run)) for _, run in itertools.groupby(sizes)]
    table = pa.table(
        {
            "width": pa.array([w for w, _ in sizes], pa.int32()),
            "height": pa.array([h for _, h in sizes], pa.int32()),
        }
    )
    assert resolution_runs(table) == (len(lengths), max(lengths))
