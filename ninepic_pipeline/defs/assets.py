"""The assets: thin Dagster wiring over `api` (reading) and `tables` (shaping and checking)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from ninepic_pipeline.defs.bi_catalog import refresh_bi_catalog
from ninepic_pipeline.defs.checks import check_result, check_specs
from ninepic_pipeline.defs.gallery import PUBLISHED, BlockingChecksFailed, publish_gallery
from ninepic_pipeline.defs.metadata import table_asset, table_metadata
from ninepic_pipeline.defs.partitions import event_id_from_key, event_partitions
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.defs.retries import retried_only_if_transient
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource
from ninepic_pipeline.tables import TABLE_SCHEMAS, conform, events_frame

# Every step that calls the API claims a slot of this pool, so a nightly burst of runs cannot
# multiply the load on the organisation's share of the gateway (limit in dagster.yaml).
API_POOL = "ninepic_api"

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
    with retried_only_if_transient(context):
        event_id = event_id_from_key(context.partition_key)
        try:
            with ninepic.open() as client:
                published = publish_gallery(context, client, warehouse, event_id)
        except BlockingChecksFailed as failed:
            yield from (check_result(outcome) for outcome in failed.outcomes)
            raise failed.failure from None
    refresh_bi_catalog(context, warehouse.open())
    for table in published:
        yield dg.MaterializeResult(
            asset_key=table.name,
            metadata=table.metadata,
            check_results=[check_result(outcome) for outcome in table.checks],
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
