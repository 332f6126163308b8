"""`WarehouseResource`: where the Parquet tables live, as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from ninepic_pipeline.warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The Parquet warehouse root (NINEPIC_WAREHOUSE).

    Assets write through it rather than through an IO manager because one event's tables
    must be published together or not at all, which a per-output IO manager cannot promise.
    """

    root: str = Field(description="Warehouse root folder (NINEPIC_WAREHOUSE)")

    def open(self) -> Warehouse:
        return Warehouse(self.root)
