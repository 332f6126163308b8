"""IO manager that stores each asset as Parquet in the warehouse, with its declared schema."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from pydantic import Field

from ninepic_pipeline.defs.metadata import table_metadata
from ninepic_pipeline.defs.partitions import event_id_from_key
from ninepic_pipeline.tables import TABLE_SCHEMAS, conform, to_frame
from ninepic_pipeline.warehouse import Warehouse


class ParquetWarehouseIOManager(dg.ConfigurableIOManager):
    """Asset `x` partition `456` lives at `{root}/x/event_id=456/part-0.parquet`.

    An input may name the columns it needs in its `AssetIn` metadata (`{"columns": [...]}`), so
    statistics read only what they use.
    """

    root: str = Field(description="Warehouse root folder (NINEPIC_WAREHOUSE)")

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.root)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        name = context.asset_key.path[-1]
        event_id = _event_id(context)
        try:
            table = conform(obj, TABLE_SCHEMAS[name])
        except ValueError as error:
            raise dg.Failure(
                description=f"{name}: {error}; the table was not written", allow_retries=False
            ) from None
        path = self.warehouse.write(name, table, event_id)
        context.add_output_metadata(table_metadata(table, path))

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        name = context.asset_key.path[-1]
        columns = (context.definition_metadata or {}).get("columns")
        try:
            table = self.warehouse.read(name, _event_id(context), columns)
        except FileNotFoundError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        return to_frame(table)


def _event_id(context: dg.OutputContext | dg.InputContext) -> int | None:
    return event_id_from_key(context.asset_partition_key) if context.has_asset_partitions else None
