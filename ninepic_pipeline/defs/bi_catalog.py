"""Refreshing the BI catalog after an asset has published its tables."""

import dagster as dg

from ninepic_pipeline.catalog import CatalogError, refresh_catalog
from ninepic_pipeline.warehouse import Warehouse


def refresh_bi_catalog(
    context: dg.AssetExecutionContext | dg.OpExecutionContext, store: Warehouse
) -> None:
    """The tables are published by now: a catalog that cannot be rebuilt is a warning, not a
    failed run (the next materialization rebuilds it)."""
    try:
        refresh_catalog(store)
    except (OSError, ValueError, CatalogError) as error:
        context.log.warning(
            f"the BI catalog (ninepic.duckdb and its SQL) was not refreshed: {error}"
        )
