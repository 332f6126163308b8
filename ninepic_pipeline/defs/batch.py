"""One run that materializes every event partition in turn: the cheap way to run many events.

A run per event costs a process start and Dagster's bookkeeping, about 5.9 s here
(benchmarks/many_events.py), for galleries that often take a tenth of that to read. This job's
single run executes `gallery_job` in-process for each known partition, one after another: each
event still gets a run of its own in the instance, so per-partition status, materializations
and checks show in the UI as they do for a scheduled run, without the process start.
"""

from collections.abc import Callable

import dagster as dg

from ninepic_pipeline.defs.jobs import EVENT_TAG
from ninepic_pipeline.defs.partitions import event_partitions

BATCH_TAG = "ninepic/batch_run"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def build_nightly_batch_job(gallery_job_def: Callable[[], dg.JobDefinition]) -> dg.JobDefinition:
    """The batch job over `gallery_job_def()`, the resolved gallery job of the code location.

    Passed in rather than looked up: a run executed in-process has no repository to ask.
    """

    @dg.op(description="Run gallery_job for every event partition, in this process, one by one.")
    def materialize_every_event(context: dg.OpExecutionContext) -> None:
        keys = context.instance.get_dynamic_partitions(event_partitions.name)
        job = gallery_job_def()
        failed: list[str] = []
        for key in keys:
            result = job.execute_in_process(
                instance=context.instance,
                partition_key=key,
                run_config=QUIET,
                tags={EVENT_TAG: key, BATCH_TAG: context.run_id},
                raise_on_error=False,
            )
            if not result.success:
                failed.append(key)
                context.log.error(f"event {key}: run {result.run_id} failed; see that run's logs")
        context.log.info(f"{len(keys) - len(failed)} of {len(keys)} event(s) materialized")
        if failed:
            # The other events' tables are published already; the night still shows red.
            names = ", ".join(failed)
            raise dg.Failure(
                description=f"{len(failed)} of {len(keys)} event run(s) failed: {names}",
                allow_retries=False,
            )

    @dg.job(
        name="nightly_batch_job",
        description="Every event partition in one run (see ninepic_pipeline/defs/batch.py).",
        executor_def=dg.in_process_executor,
    )
    def nightly_batch_job() -> None:
        materialize_every_event()

    return nightly_batch_job
