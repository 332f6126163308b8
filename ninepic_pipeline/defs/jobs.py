"""Jobs: the per-event gallery job and the organisation-wide events job."""

from __future__ import annotations

import dagster as dg

from ninepic_pipeline.defs.assets import capture_order_stats_asset, events, fetch_gallery
from ninepic_pipeline.defs.assets import image_size_stats_asset as image_size_stats

EVENT_TAG = "ninepic/event"

# In-process: a run is one event's three small steps, so a process per step would cost more
# than the work itself.
gallery_job = dg.define_asset_job(
    name="gallery_job",
    selection=dg.AssetSelection.assets(fetch_gallery, image_size_stats, capture_order_stats_asset),
    executor_def=dg.in_process_executor,
    description="Every gallery table for one event partition.",
)

events_job = dg.define_asset_job(
    name="events_job",
    selection=dg.AssetSelection.assets(events),
    executor_def=dg.in_process_executor,
    description="The organisation's list of events.",
)


def gallery_run_request(partition_key: str, run_key: str) -> dg.RunRequest:
    """A gallery run for one event, tagged so run queues can limit runs per event."""
    return dg.RunRequest(
        run_key=run_key,
        partition_key=partition_key,
        job_name=gallery_job.name,
        tags={EVENT_TAG: partition_key},
    )
