"""One run that materializes every event partition: the cheap way to run many events.

A run per event costs Dagster's bookkeeping (a run record, its event-log database, each
asset's planned, output and materialization events, each check's three), about 1.2-1.8 s in
SQLite here (benchmarks/many_events.py) for galleries that often take a tenth of that to
read, and a process start on top when the run is launched. This job reads and publishes every
known event in its one step, with the asset's own code and one client, and logs each event's
materializations and check evaluations under the event's partition: per-partition status,
metadata and check history show in the UI as runs of the gallery asset leave them. What the
UI cannot show is which partitions are still to come: the step logs no planned events.

An event that fails here is then run on its own, as `gallery_job`, in this process: a
transient failure gets a second try, and a lasting one shows on its partition as a failed run
with its logs, as it would under the per-event schedule.

Which events are done is read from the instance, never passed between the steps: an event is
done once its last table's materialization is newer than the start of the night's first run.
A retry of the run (the production instance retries from the failed step, each attempt
possibly in a pod of its own) so picks up where the night stopped, and publishes no event twice.
"""

from collections.abc import Callable, Sequence

import dagster as dg

from ninepic_pipeline.defs.assets import API_POOL
from ninepic_pipeline.defs.bi_catalog import refresh_bi_catalog
from ninepic_pipeline.defs.checks import check_evaluation
from ninepic_pipeline.defs.gallery import PUBLISHED, PublishedTable, publish_gallery
from ninepic_pipeline.defs.jobs import EVENT_TAG
from ninepic_pipeline.defs.partitions import event_id_from_key, event_partitions
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.defs.retries import RETRY_ON_FAILURE_TAG, retried_only_if_transient
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource

BATCH_TAG = "ninepic/batch_run"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _night_started(context: dg.OpExecutionContext) -> float:
    """When the night's first attempt started: a retried run's root run, else this run."""
    record = context.instance.get_run_record_by_id(context.run.root_run_id or context.run_id)
    if record is None:  # the root run was deleted meanwhile: this attempt's start, then
        record = context.instance.get_run_record_by_id(context.run_id)
    assert record is not None, "a running step's own run has a record"
    return record.start_time or record.create_timestamp.timestamp()


def _not_done(context: dg.OpExecutionContext, keys: Sequence[str]) -> list[str]:
    """The keys whose tables were not all published tonight, in their order."""
    if not keys:
        return []
    # The batch logs an event's tables in PUBLISHED order: the last one says all were.
    done = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(PUBLISHED[-1]),
            asset_partitions=list(keys),
            after_timestamp=_night_started(context),
        ),
        limit=len(keys),
    ).records
    published = {record.partition_key for record in done}
    return [key for key in keys if key not in published]


def _one_line(error: Exception) -> str:
    if isinstance(error, dg.Failure) and error.description:
        text = error.description
    else:
        text = f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _report(context: dg.OpExecutionContext, key: str, published: list[PublishedTable]) -> None:
    for table in published:
        context.log_event(
            dg.AssetMaterialization(asset_key=table.name, partition=key, metadata=table.metadata)
        )
    for table in published:
        for outcome in table.checks:
            context.log_event(check_evaluation(outcome, key))


@dg.op(
    pool=API_POOL,
    description="Read and publish every event partition's gallery, one after another.",
)
def materialize_every_event(
    context: dg.OpExecutionContext, ninepic: NinepicApi, warehouse: WarehouseResource
) -> None:
    known = context.instance.get_dynamic_partitions(event_partitions.name)
    keys = _not_done(context, known)
    if len(keys) < len(known):
        context.log.info(f"{len(known) - len(keys)} event(s) already published tonight")
    failed: list[str] = []
    with retried_only_if_transient(context), ninepic.open() as client:
        if keys:
            # A key or organisation the API refuses would fail every event alike: one request
            # says so, where a read and a run of its own per event would say it N times.
            client.list_events()
        for key in keys:
            try:
                published = publish_gallery(context, client, warehouse, event_id_from_key(key))
                _report(context, key, published)
            # Any failure, expected or not: the event's own run below reports it in full.
            except Exception as error:
                context.log.warning(f"event {key}: {_one_line(error)}; it gets a run of its own")
                failed.append(key)
    if len(failed) < len(keys):
        refresh_bi_catalog(context, warehouse.open())
    context.log.info(f"{len(keys) - len(failed)} of {len(keys)} event(s) materialized")


def build_nightly_batch_job(gallery_job_def: Callable[[], dg.JobDefinition]) -> dg.JobDefinition:
    """The batch job; `gallery_job_def()` is the resolved gallery job of the code location.

    Passed in rather than looked up: a run executed in-process has no repository to ask.
    """

    @dg.op(
        ins={"after": dg.In(dg.Nothing)},
        description="Run gallery_job on its own for each event the batch could not publish.",
    )
    def run_failed_events_alone(context: dg.OpExecutionContext) -> None:
        known = context.instance.get_dynamic_partitions(event_partitions.name)
        failed = _not_done(context, known)
        if not failed:
            return
        job = gallery_job_def()
        still_failed: list[str] = []
        worth_a_retry = False
        for key in failed:
            result = job.execute_in_process(
                instance=context.instance,
                partition_key=key,
                run_config=QUIET,
                tags={EVENT_TAG: key, BATCH_TAG: context.run_id},
                raise_on_error=False,
            )
            if not result.success:
                still_failed.append(key)
                context.log.error(f"event {key}: run {result.run_id} failed; see that run's logs")
                run = context.instance.get_run_by_id(result.run_id)
                worth_a_retry |= run is None or run.tags.get(RETRY_ON_FAILURE_TAG) != "false"
        if still_failed:
            # The other events' tables are published already; the night still shows red, and
            # a retry of this run (which re-runs only this step) is worth it only if one of
            # the failures was transient.
            with retried_only_if_transient(context):
                raise dg.Failure(
                    description=f"{len(still_failed)} of {len(known)} event run(s) failed: "
                    + ", ".join(still_failed),
                    allow_retries=worth_a_retry,
                )

    @dg.job(
        name="nightly_batch_job",
        description="Every event partition in one run (see ninepic_pipeline/defs/batch.py).",
        executor_def=dg.in_process_executor,
    )
    def nightly_batch_job() -> None:
        run_failed_events_alone(after=materialize_every_event())

    return nightly_batch_job
