"""The nightly schedule: one gallery run per known event partition.

Written by hand because Dagster's partitioned-schedule builder refuses dynamic partitions.
"""

import dagster as dg

from ninepic_pipeline.defs.jobs import gallery_job, gallery_run_request
from ninepic_pipeline.defs.partitions import event_partitions

NIGHTLY_CRON = "0 2 * * *"


def build_nightly_schedule(cron_schedule: str = NIGHTLY_CRON) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_galleries",
        job=gallery_job,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        description="Re-read every known event's gallery once a night.",
    )
    def nightly_galleries(
        context: dg.ScheduleEvaluationContext,
    ) -> list[dg.RunRequest] | dg.SkipReason:
        keys = context.instance.get_dynamic_partitions(event_partitions.name)
        if not keys:
            return dg.SkipReason(
                "no event partitions yet: turn on event_discovery_sensor, or add events"
            )
        tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
        return [gallery_run_request(key, run_key=f"nightly:{tick}:{key}") for key in keys]

    return nightly_galleries


def build_nightly_batch_schedule(
    batch_job: dg.JobDefinition, cron_schedule: str = NIGHTLY_CRON
) -> dg.ScheduleDefinition:
    """The same night in one run of `batch_job`: turn on this one or the one above."""
    return dg.ScheduleDefinition(
        name="nightly_galleries_batched",
        job=batch_job,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        description="Every known event's gallery in one run of nightly_batch_job.",
    )
