"""One event's snapshot as the tables that must change together, and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from ninepic_pipeline.api.models import Gallery, Timeline
from ninepic_pipeline.tables.capture_stats import capture_order_stats
from ninepic_pipeline.tables.checks import (
    CheckOutcome,
    check_capture_stats,
    check_history,
    check_image_ids,
    check_ranks,
    check_row_count,
    check_size_stats,
    check_snapshot,
    check_timeline,
)
from ninepic_pipeline.tables.history import (
    History,
    SnapshotFacts,
    added_and_removed,
    first_seen_at,
    gallery_snapshot_row,
    image_changes,
    rows_in_history,
)
from ninepic_pipeline.tables.images import (
    gallery_pages_table,
    images_held,
    images_streamed,
    with_size_columns,
)
from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS, conform, to_frame
from ninepic_pipeline.tables.size_stats import image_size_stats
from ninepic_pipeline.tables.streamed import StreamedTable
from ninepic_pipeline.tables.timeline import capture_timeline_table

GALLERY_TABLES = (
    "images",
    "gallery_pages",
    "image_size_stats",
    "capture_order_stats",
    "capture_timeline",
)
# Appended to, one file per snapshot, never rewritten.
HISTORY_TABLES = ("image_changes", "gallery_snapshots")


@dataclass(frozen=True)
class GallerySnapshot:
    """The tables that replace the event's previous ones (`images` streamed: its URLs are read
    back only while it is written), the rows appended to its history (none when the gallery
    is as the last snapshot left it), and every check on them."""

    tables: dict[str, pa.Table | StreamedTable]
    checks: list[CheckOutcome]
    appended: dict[str, pa.Table | StreamedTable] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [outcome for outcome in self.checks if outcome.stops_the_run]


def gallery_snapshot(
    gallery: Gallery,
    timeline: Timeline,
    computed_at: datetime,
    run_id: str = "",
    history: History | None = None,
) -> GallerySnapshot:
    """The tables of one gallery read, each in its declared schema, and every check on them.

    `history` is the event's recorded state (`tables.history`), which the snapshot is kept
    against; None before the event's first snapshot.
    """
    images, appended, recorded = _against_history(gallery, history, computed_at, run_id)
    del history  # a million ids at a million photos, let go before the statistics' columns
    tables = {
        "images": images_streamed(gallery, images),
        **_statistics(gallery, timeline, images, computed_at),
    }
    return GallerySnapshot(
        tables, _checks(gallery, timeline, images, tables, appended, recorded), appended
    )


def _against_history(
    gallery: Gallery, history: History | None, computed_at: datetime, run_id: str
) -> tuple[pa.Table, dict[str, pa.Table | StreamedTable], int]:
    """The held `images`, the rows appended to the history, and the photos it recorded before:
    all that is needed of the history past here."""
    ids = gallery.photos.column("image_id")
    rows = rows_in_history(ids, history)
    images = images_held(gallery, first_seen_at(ids, history, computed_at, rows))
    appended = _appended_history(gallery, images, computed_at, run_id, history, rows)
    recorded = history.photos.num_rows if history is not None and history.recorded else 0
    return images, appended, recorded


def _statistics(
    gallery: Gallery, timeline: Timeline, images: pa.Table, computed_at: datetime
) -> dict[str, pa.Table]:
    pages = gallery_pages_table(gallery)
    # The statistics run in Arrow over the columns they read, so no photo column becomes
    # pandas; the derived size columns they read exist only while they run.
    sized = with_size_columns(images, ("megapixels", "orientation"))
    size = image_size_stats(sized, computed_at)
    capture = capture_order_stats(
        sized,
        to_frame(pages),
        timeline.total,
        computed_at,
        read_passes=len(gallery.passes) or 1,
        drift_accepted=gallery.drift_accepted,
    )
    return {
        "gallery_pages": pages,
        "image_size_stats": conform(size, TABLE_SCHEMAS["image_size_stats"]),
        "capture_order_stats": conform(capture, TABLE_SCHEMAS["capture_order_stats"]),
        "capture_timeline": capture_timeline_table(timeline, gallery.api_total),
    }


def _checks(
    gallery: Gallery,
    timeline: Timeline,
    images: pa.Table,
    tables: dict[str, pa.Table | StreamedTable],
    appended: dict[str, pa.Table | StreamedTable],
    recorded: int,
) -> list[CheckOutcome]:
    anomalies = [a for report in gallery.passes for a in report.findings]
    return [
        check_image_ids(images),
        check_row_count(images, gallery.api_total, gallery.drift_accepted),
        check_ranks(images),
        check_snapshot(len(gallery.passes), gallery.drift_accepted, anomalies),
        *check_size_stats(tables["image_size_stats"], images.num_rows),
        *check_capture_stats(tables["capture_order_stats"], images.num_rows),
        check_timeline(tables["capture_timeline"], gallery.api_total, timeline.available),
        check_history(
            appended.get("gallery_snapshots"),
            appended["image_changes"].num_rows if appended else 0,
            recorded,
            images.num_rows,
        ),
    ]


def _appended_history(
    gallery: Gallery,
    images: pa.Table,
    snapshot_at: datetime,
    run_id: str,
    history: History | None,
    rows: pa.Array | pa.ChunkedArray | None,
) -> dict[str, pa.Table | StreamedTable]:
    """The snapshot's rows of `image_changes` and `gallery_snapshots`; none when it changed
    nothing, or when its read is a best effort kept under drift (it may lack photos). `rows`
    are the photos' rows in the history (`rows_in_history`)."""
    if gallery.drift_accepted:
        return {}
    current = images.select(["image_id", "capture_rank"])
    added, removed = added_and_removed(current, history, rows)
    if history is not None and history.recorded and not added.num_rows and not removed.num_rows:
        return {}
    facts = SnapshotFacts(
        snapshot_at=snapshot_at,
        run_id=run_id,
        photos=images.num_rows,
        api_total=gallery.api_total,
        pages=len(gallery.pages),
        read_passes=len(gallery.passes) or 1,
    )
    return {
        "image_changes": image_changes(current, added, removed, snapshot_at, run_id),
        "gallery_snapshots": gallery_snapshot_row(facts, added.num_rows, removed.num_rows, history),
    }
