"""The assets: thin Dagster wiring over `api` (reading) and `tables` (shaping and checking)."""

import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api import Gallery, Timeline
from ninepic_pipeline.defs.bi_catalog import refresh_bi_catalog
from ninepic_pipeline.defs.checks import check_result, check_specs
from ninepic_pipeline.defs.metadata import appended_metadata, table_asset, table_metadata
from ninepic_pipeline.defs.partitions import event_id_from_key, event_partitions
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.defs.retries import retried_only_if_transient
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource
from ninepic_pipeline.tables import TABLE_SCHEMAS, conform, events_frame
from ninepic_pipeline.tables.checks import CheckOutcome, check_schema
from ninepic_pipeline.tables.history import (
    CHANGE_COLUMNS,
    IMAGE_COLUMNS,
    History,
    recorded_history,
)
from ninepic_pipeline.tables.snapshot import (
    GALLERY_TABLES,
    HISTORY_TABLES,
    GallerySnapshot,
    gallery_snapshot,
)
from ninepic_pipeline.warehouse import Warehouse, appended_part

# Every step that calls the API claims a slot of this pool, so a nightly burst of runs cannot
# multiply the load on the organisation's share of the gateway (limit in dagster.yaml).
API_POOL = "ninepic_api"

# The tables one gallery step publishes: replaced whole, then appended to.
PUBLISHED = (*GALLERY_TABLES, *HISTORY_TABLES)

DEPS = {
    "image_size_stats": ["images"],
    "capture_order_stats": ["images", "gallery_pages"],
    "image_changes": ["images"],
    "gallery_snapshots": ["images", "image_changes"],
}


def _spec(name: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        name, deps=DEPS.get(name, []), partitions_def=event_partitions, **table_asset(name)
    )


def _prefer_system_allocator() -> None:
    """Let freed Arrow memory go back to the system, unless the deployment chose otherwise.

    pyarrow's default allocator (mimalloc) keeps freed pages for reuse: after reading a
    million photos a run held 667 MB for a 223 MB table, 390 MB with the system allocator.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


def _read_numbers(gallery: Gallery) -> dict[str, Any]:
    """What the UI plots across runs."""
    return {
        "photos": len(gallery),
        "api_total": gallery.api_total,
        "pages": len(gallery.pages),
        "duplicates_dropped": gallery.duplicates_dropped,
        "retries": gallery.retries,
        "read_passes": len(gallery.passes),
    }


def _raise_failed_checks(
    snapshot: GallerySnapshot, failed: list[str]
) -> Iterator[dg.AssetCheckResult]:
    yield from (check_result(outcome) for outcome in snapshot.checks)
    raise dg.Failure(
        description=f"blocking check(s) failed: {', '.join(failed)}; no table was changed",
        allow_retries=False,
    )


@dg.multi_asset(
    name="gallery_snapshot",
    specs=[_spec(name) for name in PUBLISHED],
    check_specs=[spec for spec in check_specs if spec.asset_key.path[-1] in PUBLISHED],
    partitions_def=event_partitions,
    pool=API_POOL,
)
def gallery_snapshot_asset(
    context: dg.AssetExecutionContext, ninepic: NinepicApi, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Read a consistent snapshot of the event's gallery; publish its tables together."""
    with ExitStack() as cleanup, retried_only_if_transient(context):
        event_id = event_id_from_key(context.partition_key)
        _prefer_system_allocator()
        with ninepic.open() as client:
            gallery = cleanup.enter_context(client.fetch_gallery(event_id))
            timeline = client.timeline_days(event_id)
        if not timeline.available:
            context.log.warning(
                f"event {event_id}: Photo Timeline is disabled; untimestamped_count is null"
            )
        if gallery.drift_accepted:
            context.log.warning(
                f"event {event_id}: no consistent read; the best one was kept, and recorded in "
                "no history (it may lack photos)"
            )
        yield from _publish_snapshot(context, gallery, timeline, warehouse, event_id)


def _recorded_history(store: Warehouse, event_id: int) -> History | None:
    """The event's history as the warehouse holds it (see `tables.history`)."""
    images = None
    if store.exists("images", event_id):
        names = store.read_schema(store.key("images", event_id)).names
        columns = [c for c in (*IMAGE_COLUMNS, "fetched_at") if c in names]
        images = store.read("images", event_id, columns)
    changes = snapshot_at = None
    if store.exists("gallery_snapshots", event_id) and store.exists("image_changes", event_id):
        times = store.read("gallery_snapshots", event_id, ["snapshot_at"]).column("snapshot_at")
        snapshot_at = pc.max(times).as_py()
        changes = store.read("image_changes", event_id, CHANGE_COLUMNS)
    return recorded_history(changes, snapshot_at, images)


def _publish_snapshot(
    context: dg.AssetExecutionContext,
    gallery: Gallery,
    timeline: Timeline,
    warehouse: WarehouseResource,
    event_id: int,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    store = warehouse.open()
    # One run of an event at a time from here to the commit: each reads the history the one
    # before it left. A crashed commit is finished first, so the history read is complete.
    with store.event_lock(event_id):
        store.recover()
        last_recorded = store.latest_part("gallery_snapshots", event_id)
        snapshot_at = datetime.now(UTC)
        snapshot = gallery_snapshot(
            gallery, timeline, snapshot_at, context.run.run_id, _recorded_history(store, event_id)
        )
        failed = [f"{o.spec.table}.{o.spec.name}" for o in snapshot.blocking_failures]
        if failed:
            yield from _raise_failed_checks(snapshot, failed)
        schema = yield from _commit(
            store, snapshot, event_id, snapshot_at, context.run.run_id, last_recorded
        )
    refresh_bi_catalog(context, store)
    context.log.info(
        f"event {event_id}: {len(gallery)} photos in {len(gallery.pages)} page(s), "
        f"{len(gallery.passes)} read(s), {gallery.retries} retr(ies)"
    )
    yield from _results(snapshot, [*snapshot.checks, schema], gallery, timeline, store, event_id)


def _commit(
    store: Warehouse,
    snapshot: GallerySnapshot,
    event_id: int,
    snapshot_at: datetime,
    run_id: str,
    last_recorded: str | None,
) -> Iterator[dg.AssetCheckResult]:
    """Stage every table and the history's new files, then publish them together."""
    part = appended_part(snapshot_at, run_id)
    with store.transaction() as transaction:
        staged = {
            name: transaction.stage(name, table, event_id)
            for name, table in snapshot.tables.items()
        }
        for name, table in snapshot.appended.items():
            transaction.stage(name, table, event_id, part)
        schema = check_schema(store.read_schema(staged["images"]), TABLE_SCHEMAS["images"])
        if schema.stops_the_run:
            yield from _raise_failed_checks(
                GallerySnapshot(snapshot.tables, [*snapshot.checks, schema]),
                ["images.schema_matches_declared"],
            )
        if store.latest_part("gallery_snapshots", event_id) != last_recorded:
            # Another run of the event (where no lock reaches, an object store) recorded a
            # snapshot meanwhile: this one's changes were computed against an older state.
            raise dg.Failure(
                description=f"event {event_id}: another run published a snapshot meanwhile; "
                "nothing was changed by this one, re-run it",
                allow_retries=True,
            )
    return schema


def _results(
    snapshot: GallerySnapshot,
    outcomes: list[CheckOutcome],
    gallery: Gallery,
    timeline: Timeline,
    store: Warehouse,
    event_id: int,
) -> Iterator[dg.MaterializeResult]:
    for name in PUBLISHED:
        if name in snapshot.tables:
            metadata = table_metadata(snapshot.tables[name], store.path(name, event_id))
        else:
            metadata = appended_metadata(
                snapshot.appended.get(name),
                TABLE_SCHEMAS[name],
                store.row_count(name, event_id),
                store.folder(name, event_id),
            )
        if name == "images":
            metadata.update(_read_numbers(gallery))
        if name == "capture_timeline":
            metadata["timeline_available"] = timeline.available
            if not timeline.available:
                metadata["note"] = "The event's Photo Timeline is disabled: no hours to show."
        yield dg.MaterializeResult(
            asset_key=name,
            metadata=metadata,
            check_results=[check_result(o) for o in outcomes if o.spec.table == name],
        )


@dg.asset(pool=API_POOL, **table_asset("events"))
def events(
    context: dg.AssetExecutionContext, ninepic: NinepicApi, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with retried_only_if_transient(context), ninepic.open() as client:
        listed = client.list_events()
    table = conform(events_frame(listed, fetched_at=datetime.now(UTC)), TABLE_SCHEMAS["events"])
    store = warehouse.open()
    path = store.write("events", table)
    refresh_bi_catalog(context, store)
    return dg.MaterializeResult(metadata={**table_metadata(table, path), "events": len(listed)})
