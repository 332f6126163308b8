"""Quality checks on the tables, as pure functions: each says whether a table can be trusted.

They run before anything is published, so a table that fails a blocking check never replaces the
previous one. Dagster shows each as an asset check (see `defs/checks.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.records import repeated_rows


@dataclass(frozen=True)
class CheckSpec:
    name: str
    table: str
    description: str
    blocking: bool = True


@dataclass(frozen=True)
class CheckOutcome:
    spec: CheckSpec
    passed: bool
    description: str
    metadata: dict[str, int | float | str] = field(default_factory=dict)
    # A warning is shown on the check but never stops the run.
    warning: bool = False

    @property
    def stops_the_run(self) -> bool:
        return self.spec.blocking and not self.passed and not self.warning


IMAGE_IDS = CheckSpec(
    "image_id_unique_and_present", "images", "Every image_id is non-empty and unique."
)
ROW_COUNT = CheckSpec(
    "row_count_matches_api_total", "images", "One row per photo the API reports in `total`."
)
RANKS = CheckSpec("capture_rank_contiguous", "images", "capture_rank runs 1..n without a gap.")
SCHEMA = CheckSpec("schema_matches_declared", "images", "The file's schema is the declared one.")
SNAPSHOT = CheckSpec(
    "snapshot_consistent",
    "images",
    "The gallery read was consistent (warns when drift was accepted by policy).",
    blocking=False,
)
SIZE_ONE_ROW = CheckSpec("one_row", "image_size_stats", "Exactly one row for the event.")
SIZE_COUNTS = CheckSpec(
    "counts_add_up",
    "image_size_stats",
    "sized + unknown = image_count = rows of images; orientation counts sum to sized_count.",
)
CAPTURE_ONE_ROW = CheckSpec("one_row", "capture_order_stats", "Exactly one row for the event.")
CAPTURE_COUNTS = CheckSpec("counts_add_up", "capture_order_stats", "image_count = rows of images.")

TIMELINE_COUNTS = CheckSpec(
    "counts_add_up",
    "capture_timeline",
    "Hourly counts and the untimestamped row sum to the API's total (empty when disabled).",
)

HISTORY_COUNTS = CheckSpec(
    "counts_follow",
    "gallery_snapshots",
    "photos = the previous snapshot's photos + added - removed, and `image_changes` holds one "
    "row per addition and removal.",
)

ALL_CHECKS = [
    IMAGE_IDS,
    ROW_COUNT,
    RANKS,
    SCHEMA,
    SNAPSHOT,
    SIZE_ONE_ROW,
    SIZE_COUNTS,
    CAPTURE_ONE_ROW,
    CAPTURE_COUNTS,
    TIMELINE_COUNTS,
    HISTORY_COUNTS,
]


def _outcome(
    spec: CheckSpec, passed: bool, failed: str, **metadata: int | float | str
) -> CheckOutcome:
    return CheckOutcome(spec, passed, "ok" if passed else failed, metadata)


def check_image_ids(images: pa.Table) -> CheckOutcome:
    ids = images.column("image_id")
    # Booleans and counts only: trimmed copies or a hash of a million ids would be the largest
    # allocations of the whole snapshot.
    empty = pc.or_(pc.utf8_is_space(ids), pc.equal(pc.binary_length(ids), 0))
    missing = ids.null_count + (pc.sum(empty).as_py() or 0)
    duplicates = int(repeated_rows(ids).sum())
    return _outcome(
        IMAGE_IDS,
        missing == 0 and duplicates == 0,
        f"{missing} empty and {duplicates} repeated image_id(s)",
        missing=missing,
        duplicates=duplicates,
    )


def check_row_count(images: pa.Table, api_total: int, drift_accepted: bool) -> CheckOutcome:
    rows = images.num_rows
    outcome = _outcome(
        ROW_COUNT,
        rows == api_total,
        f"{rows} rows where the API reports {api_total}",
        rows=rows,
        api_total=api_total,
    )
    # With drift accepted by policy the count may be off; that is the warning the user asked for.
    return replace(outcome, warning=drift_accepted and not outcome.passed)


def check_ranks(images: pa.Table) -> CheckOutcome:
    ranks = images.column("capture_rank").to_numpy()
    in_order = bool(np.array_equal(ranks, np.arange(1, len(ranks) + 1)))
    return _outcome(RANKS, in_order, "capture_rank is not 1..n in order")


def check_schema(written: pa.Schema, declared: pa.Schema) -> CheckOutcome:
    same = written.equals(declared, check_metadata=False)
    return _outcome(SCHEMA, same, f"written schema {written} differs from the declared one")


def check_snapshot(passes: int, drift_accepted: bool, anomalies: list[str]) -> CheckOutcome:
    outcome = _outcome(
        SNAPSHOT,
        not drift_accepted,
        f"no consistent read in {passes} pass(es); kept the best: {'; '.join(anomalies[:3])}",
        passes=passes,
    )
    return replace(outcome, warning=drift_accepted)


def _row(table: pa.Table) -> dict:
    return table.to_pylist()[0] if table.num_rows else {}


def check_size_stats(stats: pa.Table, image_rows: int) -> list[CheckOutcome]:
    row = _row(stats)
    orientation = sum(
        row.get(k) or 0 for k in ("portrait_count", "landscape_count", "square_count")
    )
    adds_up = bool(row) and (
        row["sized_count"] + row["unknown_size_count"] == row["image_count"] == image_rows
        and orientation == row["sized_count"]
    )
    return [
        _outcome(SIZE_ONE_ROW, stats.num_rows == 1, f"{stats.num_rows} rows", rows=stats.num_rows),
        _outcome(
            SIZE_COUNTS,
            adds_up,
            f"counts do not add up: {row.get('sized_count')} sized + "
            f"{row.get('unknown_size_count')} unknown vs {row.get('image_count')} photos and "
            f"{image_rows} rows; {orientation} oriented",
        ),
    ]


def check_capture_stats(stats: pa.Table, image_rows: int) -> list[CheckOutcome]:
    row = _row(stats)
    return [
        _outcome(
            CAPTURE_ONE_ROW, stats.num_rows == 1, f"{stats.num_rows} rows", rows=stats.num_rows
        ),
        _outcome(
            CAPTURE_COUNTS,
            bool(row) and row["image_count"] == image_rows,
            f"image_count {row.get('image_count')} vs {image_rows} rows of images",
        ),
    ]


def check_timeline(timeline: pa.Table, api_total: int, available: bool) -> CheckOutcome:
    counts = timeline.column("photo_count").to_pylist()
    if not available:
        return _outcome(TIMELINE_COUNTS, not counts, f"{len(counts)} rows for a disabled timeline")
    remainder = counts[-1] if counts else None
    return _outcome(
        TIMELINE_COUNTS,
        sum(counts) == api_total and remainder is not None and remainder >= 0,
        f"hours sum to {sum(counts)} with {remainder} untimestamped, where the API reports "
        f"{api_total}",
    )


def check_history(
    row: pa.Table | None, change_rows: int, previous_photos: int, photos: int
) -> CheckOutcome:
    """`row` and `change_rows` are what the snapshot appends; no row when it appends nothing."""
    if row is None:
        return _outcome(HISTORY_COUNTS, True, "", appended=0)
    facts = _row(row)
    follows = (
        row.num_rows == 1
        and facts["photos"] == photos == previous_photos + facts["added"] - facts["removed"]
        and change_rows == facts["added"] + facts["removed"]
    )
    return _outcome(
        HISTORY_COUNTS,
        follows,
        f"{previous_photos} photos before + {facts.get('added')} added - "
        f"{facts.get('removed')} removed is not {photos}, or {change_rows} change rows",
        appended=change_rows,
    )
