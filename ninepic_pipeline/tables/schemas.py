"""The declared Arrow schema of every table, with each column's meaning.

Every file of a table is written with exactly this schema, so each partition and each night has
the same column types whatever the data: a column that is all null is still int64, never a
null-typed column. Nullable integers stay int64; timestamps are microseconds in UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


def _field(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


IMAGES = pa.schema(
    [
        _field("image_id", pa.string(), "9pic's id of the photo (opaque string).", False),
        _field("capture_rank", pa.int64(), "1..n: position in the API's capture order.", False),
        _field("page", pa.int64(), "Page of the gallery the photo was first read on.", False),
        _field("width", pa.int64(), "Width in pixels; null when unknown."),
        _field("height", pa.int64(), "Height in pixels; null when unknown."),
        _field("megapixels", pa.float64(), "width * height / 1e6; null when a side is unknown."),
        _field("aspect_ratio", pa.float64(), "width / height; null when a side is unknown."),
        _field("orientation", pa.string(), "portrait, landscape or square; null when unknown."),
        _field("img_url", pa.string(), "URL of the large variant."),
        _field("thumbnail_url", pa.string(), "URL of the small variant."),
        _field("original_url", pa.string(), "URL of the original (always null from All Photos)."),
        _field("fetched_at", TIMESTAMP, "When the photo's page was read from the API.", False),
        _field(
            "first_seen_at",
            TIMESTAMP,
            "When the pipeline first saw the photo in this event; kept across nights.",
            False,
        ),
    ]
)

CHANGES = ("added", "removed")

IMAGE_CHANGES = pa.schema(
    [
        _field("image_id", pa.string(), "The photo that came or went.", False),
        _field("change", pa.string(), "added or removed.", False),
        _field("detected_at", TIMESTAMP, "snapshot_at of the snapshot that saw the change.", False),
        _field("run_id", pa.string(), "Dagster run that recorded the snapshot.", False),
        _field(
            "capture_rank",
            pa.int64(),
            "For an addition, its capture_rank in that snapshot (a rank far below the photo "
            "count is a late upload into the past of the event); null for a removal.",
        ),
        _field(
            "previous_capture_rank",
            pa.int64(),
            "For a removal, its capture_rank in the snapshot before; null for an addition.",
        ),
        _field(
            "late_upload",
            pa.bool_(),
            "For an addition: true when a photo seen before has a later capture_rank, i.e. it "
            "went into the part of the event already covered; null for a removal.",
        ),
    ]
)

GALLERY_SNAPSHOTS = pa.schema(
    [
        _field(
            "snapshot_at", TIMESTAMP, "When the snapshot was taken (its tables computed).", False
        ),
        _field("run_id", pa.string(), "Dagster run that took it.", False),
        _field("photos", pa.int64(), "Photos in the gallery at that snapshot.", False),
        _field(
            "added", pa.int64(), "Photos not in the previous snapshot (all, on the first).", False
        ),
        _field("removed", pa.int64(), "Photos of the previous snapshot no longer listed.", False),
        _field("api_total", pa.int64(), "The total the API reported on the last page read.", False),
        _field("pages", pa.int64(), "Pages in the kept read.", False),
        _field(
            "read_passes",
            pa.int64(),
            "Reads of the gallery it took to get a consistent one.",
            False,
        ),
        _field(
            "previous_snapshot_at",
            TIMESTAMP,
            "snapshot_at of the snapshot before; null on the first.",
        ),
    ]
)

GALLERY_PAGES = pa.schema(
    [
        _field("page", pa.int64(), "Page number asked for.", False),
        _field("current_page", pa.int64(), "currentPage the API answered.", False),
        _field("total_pages", pa.int64(), "totalPages the API reported on this page.", False),
        _field("total", pa.int64(), "total photos the API reported on this page.", False),
        _field("page_size", pa.int64(), "page_size the API applied.", False),
        _field("has_next_page", pa.bool_(), "hasNextPage the API reported.", False),
        _field("images", pa.int64(), "Photos on the page.", False),
        _field("new_images", pa.int64(), "Photos on the page not seen on an earlier page.", False),
        _field("fetched_at", TIMESTAMP, "When the page was read.", False),
    ]
)

IMAGE_SIZE_STATS = pa.schema(
    [
        _field("image_count", pa.int64(), "Photos in the gallery.", False),
        _field("sized_count", pa.int64(), "Photos with both width and height known.", False),
        _field("unknown_size_count", pa.int64(), "Photos with a side unknown.", False),
        _field("width_min", pa.int64(), "Smallest known width (px)."),
        _field("width_max", pa.int64(), "Largest known width (px)."),
        _field("width_mean", pa.float64(), "Mean of known widths (px)."),
        _field("width_median", pa.float64(), "Median of known widths (px)."),
        _field("height_min", pa.int64(), "Smallest known height (px)."),
        _field("height_max", pa.int64(), "Largest known height (px)."),
        _field("height_mean", pa.float64(), "Mean of known heights (px)."),
        _field("height_median", pa.float64(), "Median of known heights (px)."),
        _field("megapixels_min", pa.float64(), "Smallest megapixels of sized photos."),
        _field("megapixels_max", pa.float64(), "Largest megapixels of sized photos."),
        _field("megapixels_mean", pa.float64(), "Mean megapixels of sized photos."),
        _field("megapixels_median", pa.float64(), "Median megapixels of sized photos."),
        _field("megapixels_p05", pa.float64(), "5th percentile of megapixels (linear)."),
        _field("megapixels_p95", pa.float64(), "95th percentile of megapixels (linear)."),
        _field("portrait_count", pa.int64(), "Sized photos taller than wide.", False),
        _field("landscape_count", pa.int64(), "Sized photos wider than tall.", False),
        _field("square_count", pa.int64(), "Sized photos as wide as tall.", False),
        _field("distinct_resolutions", pa.int64(), "Distinct WIDTHxHEIGHT of sized photos.", False),
        _field("top_resolution", pa.string(), "Most frequent WIDTHxHEIGHT (ties: earliest)."),
        _field("computed_at", TIMESTAMP, "When the statistics were computed.", False),
    ]
)

CAPTURE_ORDER_STATS = pa.schema(
    [
        _field("image_count", pa.int64(), "Photos in the gallery after dedupe.", False),
        _field("api_total", pa.int64(), "total the last page read reported.", False),
        _field("pages_fetched", pa.int64(), "Page requests that answered.", False),
        _field("page_size", pa.int64(), "page_size the API applied.", False),
        _field("duplicates_dropped", pa.int64(), "Repeated image_ids dropped across pages.", False),
        _field("first_image_id", pa.string(), "First photo in capture order."),
        _field("last_image_id", pa.string(), "Last photo in capture order."),
        _field("resolution_runs", pa.int64(), "Maximal runs of equal (width, height).", False),
        _field("longest_resolution_run", pa.int64(), "Photos in the longest such run.", False),
        _field(
            "orientation_switches", pa.int64(), "Adjacent pairs whose orientation differs.", False
        ),
        _field(
            "untimestamped_count",
            pa.int64(),
            "api_total minus the Photo Timeline's total; null when the timeline is unavailable.",
        ),
        _field("read_passes", pa.int64(), "Reads of the gallery it took to get this one.", False),
        _field(
            "drift_accepted",
            pa.bool_(),
            "True when no read was consistent and the best one was kept by policy.",
            False,
        ),
        _field("computed_at", TIMESTAMP, "When the statistics were computed.", False),
    ]
)

EVENTS = pa.schema(
    [
        _field("event_id", pa.int64(), "9pic's id of the event.", False),
        _field("event_name", pa.string(), "Name of the event."),
        _field("event_slug", pa.string(), "URL slug of the event."),
        _field("event_date", pa.timestamp("us"), "Start, in the event's local time (no zone)."),
        _field("status", pa.string(), "active, draft, or another status."),
        _field("cover_image", pa.string(), "URL of the event's cover image."),
        _field("fetched_at", TIMESTAMP, "When the list was read.", False),
    ]
)

CAPTURE_TIMELINE = pa.schema(
    [
        _field("capture_date", pa.date32(), "UTC date of capture; null on the untimestamped row."),
        _field("capture_hour", pa.int64(), "UTC hour of capture, 0-23; null when untimestamped."),
        _field("hour_start", TIMESTAMP, "Start of that UTC hour; null when untimestamped."),
        _field(
            "photo_count", pa.int64(), "Photos captured in the hour (or without a time).", False
        ),
        _field(
            "untimestamped",
            pa.bool_(),
            "True on the one row counting photos without a capture time.",
            False,
        ),
    ]
)

EVENT_SUMMARY = pa.schema(
    [
        _field("event_id", pa.int64(), "9pic's id of the event.", False),
        _field("event_name", pa.string(), "Name of the event; null when no longer listed."),
        _field("event_date", pa.timestamp("us"), "Start, in the event's local time (no zone)."),
        _field("status", pa.string(), "active, draft, or another status."),
        _field("photos", pa.int64(), "Photos in the latest snapshot; null before the first."),
        _field("sized_count", pa.int64(), "Photos with both sides known."),
        _field("portrait_count", pa.int64(), "Sized photos taller than wide."),
        _field("landscape_count", pa.int64(), "Sized photos wider than tall."),
        _field("square_count", pa.int64(), "Sized photos as wide as tall."),
        _field("megapixels_min", pa.float64(), "Smallest megapixels of sized photos."),
        _field("megapixels_median", pa.float64(), "Median megapixels of sized photos."),
        _field("top_resolution", pa.string(), "Most frequent WIDTHxHEIGHT."),
        _field("distinct_resolutions", pa.int64(), "Distinct WIDTHxHEIGHT of sized photos."),
        _field("pages_fetched", pa.int64(), "Pages of the latest read."),
        _field("untimestamped_count", pa.int64(), "Photos without a capture time; null unknown."),
        _field("read_passes", pa.int64(), "Reads the latest snapshot took."),
        _field("drift_accepted", pa.bool_(), "True when the latest snapshot kept a best read."),
        _field("snapshots", pa.int64(), "Recorded snapshots (rows of gallery_snapshots).", False),
        _field("first_snapshot_at", TIMESTAMP, "The first recorded snapshot."),
        _field("last_snapshot_at", TIMESTAMP, "The latest recorded snapshot."),
        _field(
            "added_1d",
            pa.int64(),
            "Photos added by the snapshots of the summary's UTC date.",
            False,
        ),
        _field("removed_1d", pa.int64(), "Photos removed by the snapshots of that date.", False),
        _field("net_growth_1d", pa.int64(), "added_1d - removed_1d.", False),
        _field("added_7d", pa.int64(), "Photos added over the 7 UTC dates ending on it.", False),
        _field("removed_7d", pa.int64(), "Photos removed over those 7 dates.", False),
        _field("net_growth_7d", pa.int64(), "added_7d - removed_7d.", False),
        _field("stats_computed_at", TIMESTAMP, "When the event's statistics were computed."),
        _field("computed_at", TIMESTAMP, "When this summary was built.", False),
    ]
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "images": IMAGES,
    "gallery_pages": GALLERY_PAGES,
    "image_size_stats": IMAGE_SIZE_STATS,
    "capture_order_stats": CAPTURE_ORDER_STATS,
    "capture_timeline": CAPTURE_TIMELINE,
    "events": EVENTS,
    "image_changes": IMAGE_CHANGES,
    "gallery_snapshots": GALLERY_SNAPSHOTS,
    "event_summary": EVENT_SUMMARY,
}

# pandas' nullable dtypes, so that an int64 column with nulls comes back as Int64, not float64.
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}


def arrow_columns(images: pa.Table | pd.DataFrame, columns: list[str]) -> pa.Table:
    """`columns` of a table as Arrow: selected as they are (no copy) from an Arrow table, and
    converted from a pandas frame (the statistics take either)."""
    if isinstance(images, pd.DataFrame):
        table = pa.Table.from_pandas(images[columns], preserve_index=False)
        # A frame's dtypes are its own (categorical labels, all-None objects): cast to the
        # declared types, which the statistics are written for.
        declared = pa.schema([IMAGES.field(name).with_nullable(True) for name in columns])
        return table.cast(declared)
    return images.select(columns)


def in_capture_order(images: pa.Table) -> pa.Table:
    """`images` sorted by capture_rank; as it comes (no copy) when it already is."""
    ranks = images.column("capture_rank").to_numpy()
    if np.all(ranks[1:] >= ranks[:-1]):
        return images
    return images.sort_by("capture_rank")


def to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def conform(frame: pd.DataFrame | pa.Table, schema: pa.Schema) -> pa.Table:
    """`frame` as an Arrow table of exactly `schema`: columns in order, types cast, no extras.

    Raises ValueError naming the column when one is missing or cannot be cast.
    """
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"table is missing column(s) {missing} of its declared schema")
    columns = []
    for target in schema:
        column = table.column(target.name)
        try:
            columns.append(column.cast(target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValueError(
                f"column {target.name!r} of type {column.type} cannot be stored as {target.type}"
            ) from error
        if not target.nullable and columns[-1].null_count:
            raise ValueError(f"column {target.name!r} has nulls but is declared not null")
    return pa.Table.from_arrays(columns, schema=schema)
