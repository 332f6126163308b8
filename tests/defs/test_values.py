"""The tables' numbers against an independent computation from the API's own pages.

The reference here reads the gallery with plain `requests` and computes every statistic in plain
Python (statistics, sorted, zip), sharing no code with the pipeline.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from itertools import pairwise

import pyarrow.parquet as pq
import pytest
import requests

from tests.conftest import KIDS_DASH, MARATHON, NIGHT_RUN, ORG
from tests.defs.conftest import run_gallery


def _get(server, path: str, **params) -> dict:
    response = requests.get(
        f"{server.url}/api/v1/ext/{ORG}{path}",
        params=params,
        headers={"X-API-Key": server.keys[ORG]},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["data"]


def _reference_photos(server, event_id: int) -> tuple[list[dict], list[dict]]:
    photos, paginations, page = [], [], 1
    while True:
        data = _get(server, f"/event/{event_id}/images", page=page, page_size=100)
        photos += data["images"]
        paginations.append(data["pagination"])
        if page >= data["pagination"]["totalPages"]:
            return photos, paginations
        page += 1


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), written out."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _orientation(photo: dict) -> str | None:
    w, h = photo.get("width"), photo.get("height")
    if not w or not h:
        return None
    return "portrait" if h > w else "landscape" if w > h else "square"


def _runs(values: list) -> list[int]:
    lengths: list[int] = []
    for i, value in enumerate(values):
        if i and value == values[i - 1]:
            lengths[-1] += 1
        else:
            lengths.append(1)
    return lengths


@pytest.mark.parametrize("event_id", [KIDS_DASH, NIGHT_RUN, MARATHON])
def test_tables_match_an_independent_computation(defs, instance, warehouse, server, event_id):
    assert run_gallery(defs, instance, str(event_id)).success
    photos, paginations = _reference_photos(server, event_id)
    folder = f"event_id={event_id}"

    images = pq.read_table(warehouse / "images" / folder / "part-0.parquet").to_pylist()
    assert [r["image_id"] for r in images] == [p["image_id"] for p in photos]
    assert [r["capture_rank"] for r in images] == list(range(1, len(photos) + 1))
    assert [r["width"] for r in images] == [p["width"] for p in photos]
    assert [r["orientation"] for r in images] == [_orientation(p) for p in photos]
    for row, photo in zip(images, photos, strict=True):
        if photo["width"] and photo["height"]:
            assert row["megapixels"] == pytest.approx(photo["width"] * photo["height"] / 1e6)
            assert row["aspect_ratio"] == pytest.approx(photo["width"] / photo["height"])
        else:
            assert row["megapixels"] is None and row["aspect_ratio"] is None
        assert row["img_url"] == photo["img_url"]

    sized = [p for p in photos if p["width"] and p["height"]]
    widths = [p["width"] for p in photos if p["width"]]
    heights = [p["height"] for p in photos if p["height"]]
    mps = [p["width"] * p["height"] / 1e6 for p in sized]
    resolutions = [(p["width"], p["height"]) for p in sized]
    counts = Counter(resolutions)
    top = max(counts.values())
    first_top = next(r for r in resolutions if counts[r] == top)
    size = pq.read_table(warehouse / "image_size_stats" / folder / "part-0.parquet").to_pylist()
    assert len(size) == 1
    s = size[0]
    assert s["image_count"] == len(photos)
    assert s["sized_count"] == len(sized)
    assert s["unknown_size_count"] == len(photos) - len(sized)
    assert (s["width_min"], s["width_max"]) == (min(widths), max(widths))
    assert s["width_mean"] == pytest.approx(statistics.fmean(widths))
    assert s["width_median"] == pytest.approx(statistics.median(widths))
    assert (s["height_min"], s["height_max"]) == (min(heights), max(heights))
    assert s["height_median"] == pytest.approx(statistics.median(heights))
    assert s["megapixels_mean"] == pytest.approx(statistics.fmean(mps))
    assert s["megapixels_median"] == pytest.approx(statistics.median(mps))
    assert s["megapixels_p05"] == pytest.approx(_percentile(mps, 0.05))
    assert s["megapixels_p95"] == pytest.approx(_percentile(mps, 0.95))
    orientations = Counter(_orientation(p) for p in sized)
    assert s["portrait_count"] == orientations["portrait"]
    assert s["landscape_count"] == orientations["landscape"]
    assert s["square_count"] == orientations["square"]
    assert s["distinct_resolutions"] == len(counts)
    assert s["top_resolution"] == f"{first_top[0]}x{first_top[1]}"

    timeline = _get(server, f"/event/{event_id}/timeline/days")["days"]
    runs = _runs([(p["width"], p["height"]) for p in photos])
    labels = [_orientation(p) for p in photos]
    capture = pq.read_table(
        warehouse / "capture_order_stats" / folder / "part-0.parquet"
    ).to_pylist()[0]
    assert capture["image_count"] == len(photos)
    assert capture["api_total"] == paginations[-1]["total"]
    assert capture["pages_fetched"] == len(paginations)
    assert capture["page_size"] == 100
    assert capture["duplicates_dropped"] == 0
    assert capture["first_image_id"] == photos[0]["image_id"]
    assert capture["last_image_id"] == photos[-1]["image_id"]
    assert capture["resolution_runs"] == len(runs)
    assert capture["longest_resolution_run"] == max(runs)
    assert capture["orientation_switches"] == sum(a != b for a, b in pairwise(labels))
    assert capture["untimestamped_count"] == len(photos) - sum(d["total"] for d in timeline)


def test_marathon_starts_with_the_docs_photos(defs, instance, warehouse):
    assert run_gallery(defs, instance, str(MARATHON)).success
    rows = (
        pq.read_table(warehouse / "images" / f"event_id={MARATHON}" / "part-0.parquet")
        .slice(0, 2)
        .to_pylist()
    )
    assert [r["image_id"] for r in rows] == [
        "a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244",
        "b5513429-1d05-5f2f-c9f9-bd9f9g3gd355",
    ]
    assert [(r["width"], r["height"], r["orientation"]) for r in rows] == [
        (3240, 4860, "portrait")
    ] * 2
    assert rows[0]["megapixels"] == pytest.approx(15.7464)
