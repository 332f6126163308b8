"""One event's snapshot as the tables that must change together, and their checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from ninepic_pipeline.api.models import Gallery, Timeline
from ninepic_pipeline.tables.capture_stats import CAPTURE_COLUMNS, capture_order_stats
from ninepic_pipeline.tables.checks import (
    CheckOutcome,
    check_capture_stats,
    check_image_ids,
    check_ranks,
    check_row_count,
    check_size_stats,
    check_snapshot,
    check_timeline,
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


@dataclass(frozen=True)
class GallerySnapshot:
    """The tables, `images` streamed (its URLs are read back only while it is written)."""

    tables: dict[str, pa.Table | StreamedTable]
    checks: list[CheckOutcome]

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [outcome for outcome in self.checks if outcome.stops_the_run]


def gallery_snapshot(
    gallery: Gallery, timeline: Timeline, computed_at: datetime
) -> GallerySnapshot:
    """The tables of one gallery read, each in its declared schema, and every check on them."""
    images = images_without_urls(gallery)
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
    anomalies = [a for report in gallery.passes for a in report.findings]
    checks = [
        check_image_ids(images),
        check_row_count(images, gallery.api_total, gallery.drift_accepted),
        check_ranks(images),
        check_snapshot(len(gallery.passes), gallery.drift_accepted, anomalies),
        *check_size_stats(tables["image_size_stats"], images.num_rows),
        *check_capture_stats(tables["capture_order_stats"], images.num_rows),
        check_timeline(tables["capture_timeline"], gallery.api_total, timeline.available),
    ]
    return GallerySnapshot(tables=tables, checks=checks)
