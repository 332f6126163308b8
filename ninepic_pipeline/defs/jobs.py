"""Jobs: the per-event gallery job and the organisation-wide events job."""

from __future__ import annotations

import dagster as dg

from ninepic_pipeline.defs.assets import events, gallery_snapshot_asset

EVENT_TAG = "ninepic/event"

# In-process: a run is one event's single step, so a process per step would only add start-up.
gallery_job = dg.define_asset_job(
    name="gallery_job",
    selection=dg.AssetSelection.assets(gallery_snapshot_asset),
    executor_def=dg.in_process_executor,
    description="A consistent snapshot of one event's gallery and its statistics.",
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
