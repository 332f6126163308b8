"""The `images` and `gallery_pages` tables from a gallery read."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.models import Gallery
from ninepic_pipeline.tables.schemas import GALLERY_PAGES, IMAGES, TIMESTAMP


def orientation(width: pa.Array, height: pa.Array) -> pa.Array:
    """portrait / landscape / square per photo; null where a side is unknown."""
    return pc.if_else(
        pc.greater(height, width),
        "portrait",
        pc.if_else(pc.greater(width, height), "landscape", "square"),
    )


def images_table(gallery: Gallery) -> pa.Table:
    """One row per photo, in the API's capture order, with its derived size columns."""
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
        "img_url": photos.column("img_url"),
        "thumbnail_url": photos.column("thumbnail_url"),
        "original_url": photos.column("original_url"),
        "fetched_at": pc.take(read_times, pc.index_in(page, read_pages)),
    }
    return pa.table(columns, schema=IMAGES)


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
