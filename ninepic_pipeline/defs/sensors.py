"""Event discovery: new events of the organisation become partitions and get a first run."""

import hashlib
import json

import dagster as dg

from ninepic_pipeline.defs.jobs import events_job, gallery_job, gallery_run_request
from ninepic_pipeline.defs.partitions import event_partitions
from ninepic_pipeline.defs.resources import NinepicApi

DISCOVERY_INTERVAL_S = 15 * 60


@dg.sensor(
    name="event_discovery_sensor",
    jobs=[gallery_job, events_job],
    minimum_interval_seconds=DISCOVERY_INTERVAL_S,
    description="Reads List Events; adds new events as partitions and requests their first run.",
)
def event_discovery_sensor(
    context: dg.SensorEvaluationContext, ninepic: NinepicApi
) -> dg.SensorResult:
    with ninepic.open() as client:
        listed = client.list_events()
    known = set(context.instance.get_dynamic_partitions(event_partitions.name))
    new_keys = [str(event.event_id) for event in listed if str(event.event_id) not in known]
    run_requests = [gallery_run_request(key, run_key=f"first:{key}") for key in new_keys]
    # The cursor is a digest of the list: the events table is refreshed only when it changed.
    digest = hashlib.sha256(
        json.dumps(sorted(repr(event) for event in listed)).encode()
    ).hexdigest()[:16]
    if digest != context.cursor:
        run_requests.append(dg.RunRequest(run_key=f"events:{digest}", job_name=events_job.name))
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=(
            [event_partitions.build_add_request(new_keys)] if new_keys else []
        ),
        cursor=digest,
    )
