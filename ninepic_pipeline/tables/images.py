"""The `images` and `gallery_pages` tables from a gallery read."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.models import Gallery
from ninepic_pipeline.tables.schemas import GALLERY_PAGES, IMAGES, TIMESTAMP
from ninepic_pipeline.tables.streamed import StreamedTable


def orientation(width: pa.Array, height: pa.Array) -> pa.Array:
    """portrait / landscape / square per photo; null where a side is unknown."""
    return pc.if_else(
        pc.greater(height, width),
        "portrait",
        pc.if_else(pc.greater(width, height), "landscape", "square"),
    )


URL_COLUMNS = ("img_url", "thumbnail_url", "original_url")
# Everything in `images` but the URLs: what the statistics and checks read, held in memory.
IMAGES_WITHOUT_URLS = pa.schema([f for f in IMAGES if f.name not in URL_COLUMNS])


def images_without_urls(gallery: Gallery, first_seen_at: pa.Array | None = None) -> pa.Table:
    """One row per photo, in the API's capture order, with its derived size columns.

    `first_seen_at` comes from the history (`tables.history.first_seen_at`); without it every
    photo counts as first seen when its page was read.
    """
    photos = gallery.photos
    width, height = photos.column("width"), photos.column("height")
    width_f, height_f = width.cast(pa.float64()), height.cast(pa.float64())
    page = photos.column("page")
    read_pages = pa.array([read.page for read in gallery.pages], pa.int64())
    read_times = pa.array([read.fetched_at for read in gallery.pages], TIMESTAMP)
    columns = {
        "image_id": photos.column("image_id"),
        "capture_rank": pa.chunked_array(
            [np.arange(1, photos.num_rows + 1, dtype=np.int64)], pa.int64()
        ),
        "page": page,
        "width": width,
        "height": height,
        "megapixels": pc.divide(pc.multiply(width_f, height_f), 1e6),
        "aspect_ratio": pc.divide(width_f, height_f),
        "orientation": orientation(width, height),
        "fetched_at": pc.take(read_times, pc.index_in(page, read_pages)),
    }
    columns["first_seen_at"] = columns["fetched_at"] if first_seen_at is None else first_seen_at
    return pa.table(columns, schema=IMAGES_WITHOUT_URLS)


def images_streamed(gallery: Gallery, without_urls: pa.Table) -> StreamedTable:
    """The whole `images` table, its URL columns read back from the gallery batch by batch."""

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for urls in gallery.url_batches():
            rows = without_urls.slice(offset, urls.num_rows)
            offset += urls.num_rows
            columns = [
                urls.column(name) if name in URL_COLUMNS else rows.column(name)
                for name in IMAGES.names
            ]
            yield from pa.Table.from_arrays(columns, schema=IMAGES).to_batches()
        if offset != without_urls.num_rows:
            raise ValueError(f"{offset} URL rows for {without_urls.num_rows} photos")

    return StreamedTable(IMAGES, without_urls.num_rows, batches)


def images_table(gallery: Gallery) -> pa.Table:
    """`images` whole in memory: for small galleries and tests; the pipeline streams it."""
    return images_streamed(gallery, images_without_urls(gallery)).read_all()


def gallery_pages_table(gallery: Gallery) -> pa.Table:
    """One row per page request of the kept read, as the API answered it: its audit trail."""
    reads = gallery.pages
    return pa.table(
        {
            "page": [r.page for r in reads],
            "current_page": [r.pagination.current_page for r in reads],
            "total_pages": [r.pagination.total_pages for r in reads],
            "total": [r.pagination.total for r in reads],
            "page_size": [r.pagination.page_size for r in reads],
            "has_next_page": [r.pagination.has_next_page for r in reads],
            "images": [r.images for r in reads],
            "new_images": [r.new_images for r in reads],
            "fetched_at": pa.array([r.fetched_at for r in reads], TIMESTAMP),
        },
        schema=GALLERY_PAGES,
    )
