"""`event_summary`, rebuilt by Declarative Automation whenever an event's tables change."""

from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa

from ninepic_pipeline.defs.bi_catalog import refresh_bi_catalog
from ninepic_pipeline.defs.metadata import table_asset, table_metadata
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource
from ninepic_pipeline.tables import TABLE_SCHEMAS, to_frame
from ninepic_pipeline.tables.contract import TABLE_DOCS
from ninepic_pipeline.tables.event_summary import event_summary as summary_table
from ninepic_pipeline.warehouse import Warehouse

SOURCES = ["events", "image_size_stats", "capture_order_stats", "gallery_snapshots"]

# Eager: requested once any source partition updates and nothing upstream is still running.
# Events never materialized are the normal case for a new organisation, so missing upstream
# partitions do not hold the summary back (the default eager condition would wait for them).
REBUILD_ON_ANY_CHANGE = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_allow_missing")
)


@dg.asset(deps=SOURCES, automation_condition=REBUILD_ON_ANY_CHANGE, **table_asset("event_summary"))
def event_summary(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    store = warehouse.open()
    sources = (to_frame(_read(store, name)) for name in SOURCES)
    table = summary_table(*sources, computed_at=datetime.now(UTC))
    path = store.write("event_summary", table)
    refresh_bi_catalog(context, store)
    return dg.MaterializeResult(metadata=table_metadata(table, path))


def _read(store: Warehouse, name: str) -> pa.Table:
    """The whole table, every event partition included; empty before its first file."""
    schema = TABLE_SCHEMAS[name]
    if TABLE_DOCS[name].partitioned:
        return store.read_all(name, schema)
    return store.read(name) if store.exists(name) else schema.empty_table()
