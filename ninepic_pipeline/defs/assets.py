"""The gallery assets: thin Dagster wiring over `api` (reading) and `tables` (shaping)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from ninepic_pipeline.defs.metadata import definition_metadata
from ninepic_pipeline.defs.partitions import event_id_from_key, event_partitions
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.tables import (
    CAPTURE_COLUMNS,
    SIZE_COLUMNS,
    TABLE_SCHEMAS,
    capture_order_stats,
    events_frame,
    gallery_pages_frame,
    image_size_stats,
    images_frame,
)

GROUP = "ninepic"


def _out(name: str, description: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=name,
        group_name=GROUP,
        description=description,
        metadata=definition_metadata(TABLE_SCHEMAS[name]),
        kinds={"parquet"},
    )


@dg.multi_asset(
    name="fetch_gallery",
    outs={
        "images": _out("images", "One row per photo of the event, in the API's capture order."),
        "gallery_pages": _out(
            "gallery_pages", "One row per page request of the gallery read that made `images`."
        ),
    },
    partitions_def=event_partitions,
)
def fetch_gallery(context: dg.AssetExecutionContext, ninepic: NinepicApi) -> Iterator[dg.Output]:
    """Read every page of the event's gallery and store its photos and its page log."""
    event_id = event_id_from_key(context.partition_key)
    with ninepic.open() as client:
        gallery = client.fetch_gallery(event_id)
    numbers = {
        "photos": len(gallery),
        "api_total": gallery.api_total,
        "pages": len(gallery.pages),
        "duplicates_dropped": gallery.duplicates_dropped,
        "retries": gallery.retries,
    }
    context.log.info(
        f"event {event_id}: {len(gallery)} photos from {len(gallery.pages)} page(s), "
        f"{gallery.duplicates_dropped} duplicate(s) dropped, {gallery.retries} retr(ies)"
    )
    yield dg.Output(images_frame(gallery), output_name="images", metadata=numbers)
    yield dg.Output(gallery_pages_frame(gallery), output_name="gallery_pages", metadata=numbers)


@dg.asset(
    name="image_size_stats",
    group_name=GROUP,
    partitions_def=event_partitions,
    kinds={"parquet"},
    metadata=definition_metadata(TABLE_SCHEMAS["image_size_stats"]),
    ins={"images": dg.AssetIn(metadata={"columns": SIZE_COLUMNS})},
)
def image_size_stats_asset(context: dg.AssetExecutionContext, images: pd.DataFrame) -> pd.DataFrame:
    """One row per event: how large its photos are and how they are oriented."""
    event_id_from_key(context.partition_key)
    stats = image_size_stats(images, computed_at=datetime.now(UTC))
    context.add_output_metadata(
        {
            "photos": int(stats["image_count"].iloc[0]),
            "sized": int(stats["sized_count"].iloc[0]),
            "distinct_resolutions": int(stats["distinct_resolutions"].iloc[0]),
        }
    )
    return stats


@dg.asset(
    name="capture_order_stats",
    group_name=GROUP,
    partitions_def=event_partitions,
    kinds={"parquet"},
    metadata=definition_metadata(TABLE_SCHEMAS["capture_order_stats"]),
    ins={
        "images": dg.AssetIn(metadata={"columns": CAPTURE_COLUMNS}),
        "gallery_pages": dg.AssetIn(),
    },
)
def capture_order_stats_asset(
    context: dg.AssetExecutionContext,
    ninepic: NinepicApi,
    images: pd.DataFrame,
    gallery_pages: pd.DataFrame,
) -> pd.DataFrame:
    """One row per event: how the gallery was read and how photos run through capture order."""
    event_id = event_id_from_key(context.partition_key)
    with ninepic.open() as client:
        timeline = client.timeline_days(event_id)
    if not timeline.available:
        context.log.warning(
            f"event {event_id}: Photo Timeline is disabled; untimestamped_count is null"
        )
    stats = capture_order_stats(images, gallery_pages, timeline.total, datetime.now(UTC))
    context.add_output_metadata(
        {
            "photos": int(stats["image_count"].iloc[0]),
            "resolution_runs": int(stats["resolution_runs"].iloc[0]),
            "timeline_available": timeline.available,
        }
    )
    return stats


@dg.asset(
    group_name=GROUP,
    kinds={"parquet"},
    metadata=definition_metadata(TABLE_SCHEMAS["events"]),
)
def events(context: dg.AssetExecutionContext, ninepic: NinepicApi) -> pd.DataFrame:
    """One row per event of the organisation, from every page of List Events."""
    with ninepic.open() as client:
        listed = client.list_events()
    context.add_output_metadata({"events": len(listed)})
    return events_frame(listed, fetched_at=datetime.now(UTC))
