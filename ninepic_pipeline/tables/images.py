"""The `images` and `gallery_pages` tables from a gallery read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.models import PHOTO_SCHEMA, Gallery
from ninepic_pipeline.tables.schemas import GALLERY_PAGES, IMAGES, TIMESTAMP
from ninepic_pipeline.tables.streamed import StreamedTable

ORIENTATIONS = pa.array(["portrait", "landscape", "square"], pa.string())
_CODES = [pa.scalar(code, pa.int8()) for code in range(len(ORIENTATIONS))]


def orientation(width: pa.Array, height: pa.Array) -> pa.Array:
    """portrait / landscape / square per photo; null where a side is unknown."""
    # Chosen as one-byte codes, then spelled out once: choosing among the words themselves
    # makes a column of words per choice (40 MB, not 14, at a million photos).
    codes = pc.if_else(
        pc.greater(height, width),
        _CODES[0],
        pc.if_else(pc.greater(width, height), _CODES[1], _CODES[2]),
    )
    return pc.take(ORIENTATIONS, codes)


URL_COLUMNS = ("img_url", "thumbnail_url", "original_url")
# Functions of a photo's sides, made when they are needed rather than held.
DERIVED_SIZE_COLUMNS = ("megapixels", "aspect_ratio", "orientation")
# The `images` columns a snapshot holds in memory: the id, rank and sides its checks,
# statistics and history read, the page for fetched_at, and first_seen_at from the history. The
# URLs, the derived size columns and fetched_at are made batch by batch as the file is written.
HELD_COLUMNS = ("image_id", "capture_rank", "page", "width", "height", "first_seen_at")
# As the read holds them: page and sides in 32 bits (`api.models.PHOTO_SCHEMA`), widened to
# the declared 64 as each batch is written.
_NARROW = {name: PHOTO_SCHEMA.field(name).type for name in ("page", "width", "height")}
IMAGES_HELD = pa.schema(
    [
        IMAGES.field(name).with_type(_NARROW.get(name, IMAGES.field(name).type))
        for name in HELD_COLUMNS
    ]
)

DERIVE_WINDOW_ROWS = 65_536
_RATIOS: dict[str, Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.ChunkedArray]] = {
    "megapixels": lambda width, height: pc.divide(pc.multiply(width, height), 1e6),
    "aspect_ratio": lambda width, height: pc.divide(width, height),
}


def images_held(
    gallery: Gallery, first_seen_at: pa.Array | pa.ChunkedArray | None = None
) -> pa.Table:
    """One row per photo, in the API's capture order: the `images` columns held in memory.

    `first_seen_at` comes from the history (`tables.history.first_seen_at`); without it every
    photo counts as first seen when its page was read.
    """
    photos = gallery.photos
    columns = {
        "image_id": photos.column("image_id"),
        "capture_rank": pa.chunked_array(
            [np.arange(1, photos.num_rows + 1, dtype=np.int64)], pa.int64()
        ),
        "page": photos.column("page"),
        "width": photos.column("width"),
        "height": photos.column("height"),
        "first_seen_at": fetch_times(gallery)(photos.column("page"))
        if first_seen_at is None
        else first_seen_at,
    }
    return pa.table(columns, schema=IMAGES_HELD)


def with_size_columns(images: pa.Table, names: tuple[str, ...] = DERIVED_SIZE_COLUMNS) -> pa.Table:
    """`images` with the derived size columns `names` appended, computed from its sides a
    window of rows at a time: the sides as floats and their product, made whole, were 32 MB
    more at a million photos."""
    chunks: dict[str, list[pa.Array]] = {name: [] for name in names}
    for start in range(0, images.num_rows, DERIVE_WINDOW_ROWS):
        rows = images.slice(start, DERIVE_WINDOW_ROWS)
        for name in names:
            chunks[name] += _size_column(name, rows.column("width"), rows.column("height")).chunks
    for name in names:
        field = IMAGES.field(name)
        images = images.append_column(field, pa.chunked_array(chunks[name], field.type))
    return images


def _size_column(name: str, width: pa.ChunkedArray, height: pa.ChunkedArray) -> pa.ChunkedArray:
    if name == "orientation":
        return orientation(width, height)
    return _RATIOS[name](width.cast(pa.float64()), height.cast(pa.float64()))


def fetch_times(gallery: Gallery) -> Callable[[pa.ChunkedArray], pa.ChunkedArray]:
    """Each row's fetched_at from its page: a list of times indexed by page number, built once
    per gallery (pages are numbered from 1, at most `SnapshotPolicy.max_pages`)."""
    by_page: list[datetime | None] = [None] * (max((r.page for r in gallery.pages), default=0) + 1)
    for read in gallery.pages:
        by_page[read.page] = read.fetched_at
    times = pa.array(by_page, TIMESTAMP)
    return lambda page: pc.take(times, page)


def images_streamed(gallery: Gallery, held: pa.Table) -> StreamedTable:
    """The whole `images` table, from the held columns (`images_held`) and the URL columns read
    back from the gallery, batch by batch."""

    fetched_at = fetch_times(gallery)

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for urls in gallery.url_batches():
            rows = with_size_columns(held.slice(offset, urls.num_rows))
            rows = rows.append_column(IMAGES.field("fetched_at"), fetched_at(rows.column("page")))
            offset += urls.num_rows
            columns = [
                urls.column(name) if name in URL_COLUMNS else rows.column(name).cast(field.type)
                for name, field in zip(IMAGES.names, IMAGES, strict=True)
            ]
            yield from pa.Table.from_arrays(columns, schema=IMAGES).to_batches()
        if offset != held.num_rows:
            raise ValueError(f"{offset} URL rows for {held.num_rows} photos")

    return StreamedTable(IMAGES, held.num_rows, batches)


def images_table(gallery: Gallery) -> pa.Table:
    """`images` whole in memory: for small galleries and tests; the pipeline streams it."""
    return images_streamed(gallery, images_held(gallery)).read_all()


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
