"""One event's snapshot as the tables that must change together, and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from ninepic_pipeline.api.models import Gallery, Timeline
from ninepic_pipeline.tables.capture_stats import CAPTURE_COLUMNS, capture_order_stats
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
    PreviousSnapshot,
    SnapshotFacts,
    first_seen_at,
    gallery_snapshot_row,
    image_changes,
    unchanged,
)
from ninepic_pipeline.tables.images import (
    gallery_pages_table,
    images_streamed,
    images_without_urls,
)
from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS, conform, to_frame
from ninepic_pipeline.tables.size_stats import SIZE_COLUMNS, image_size_stats
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
    appended: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [outcome for outcome in self.checks if outcome.stops_the_run]


def gallery_snapshot(
    gallery: Gallery,
    timeline: Timeline,
    computed_at: datetime,
    run_id: str = "",
    previous: PreviousSnapshot | None = None,
) -> GallerySnapshot:
    """The tables of one gallery read, each in its declared schema, and every check on them.

    `previous` is the event's last published snapshot, which the history is kept against.
    """
    ids = gallery.photos.column("image_id")
    images = images_without_urls(gallery, first_seen_at(ids, previous, computed_at))
    pages = gallery_pages_table(gallery)
    # Each statistic converts only the columns it reads: the URLs never become pandas.
    size = image_size_stats(to_frame(images.select(SIZE_COLUMNS)), computed_at)
    capture = capture_order_stats(
        to_frame(images.select(CAPTURE_COLUMNS)),
        to_frame(pages),
        timeline.total,
        computed_at,
        read_passes=len(gallery.passes) or 1,
        drift_accepted=gallery.drift_accepted,
    )
    tables = {
        "images": images_streamed(gallery, images),
        "gallery_pages": pages,
        "image_size_stats": conform(size, TABLE_SCHEMAS["image_size_stats"]),
        "capture_order_stats": conform(capture, TABLE_SCHEMAS["capture_order_stats"]),
        "capture_timeline": capture_timeline_table(timeline, gallery.api_total),
    }
    appended = _history(gallery, images, computed_at, run_id, previous)
    anomalies = [a for report in gallery.passes for a in report.findings]
    checks = [
        check_image_ids(images),
        check_row_count(images, gallery.api_total, gallery.drift_accepted),
        check_ranks(images),
        check_snapshot(len(gallery.passes), gallery.drift_accepted, anomalies),
        *check_size_stats(tables["image_size_stats"], images.num_rows),
        *check_capture_stats(tables["capture_order_stats"], images.num_rows),
        check_timeline(tables["capture_timeline"], gallery.api_total, timeline.available),
        check_history(
            appended.get("gallery_snapshots"),
            appended.get("image_changes"),
            previous.images.num_rows if previous is not None else 0,
            images.num_rows,
        ),
    ]
    return GallerySnapshot(tables=tables, checks=checks, appended=appended)


def _history(
    gallery: Gallery,
    images: pa.Table,
    snapshot_at: datetime,
    run_id: str,
    previous: PreviousSnapshot | None,
) -> dict[str, pa.Table]:
    if unchanged(images.column("image_id"), previous):
        return {}
    changes = image_changes(
        images.select(["image_id", "capture_rank"]), previous, snapshot_at, run_id
    )
    facts = SnapshotFacts(
        snapshot_at=snapshot_at,
        run_id=run_id,
        photos=images.num_rows,
        api_total=gallery.api_total,
        pages=len(gallery.pages),
        read_passes=len(gallery.passes) or 1,
        drift_accepted=gallery.drift_accepted,
    )
    return {
        "image_changes": changes,
        "gallery_snapshots": gallery_snapshot_row(facts, changes, previous),
    }
