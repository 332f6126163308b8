"""The UI's asset descriptions and column schemas come from the table contract."""

from __future__ import annotations

import dagster as dg

from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.tables.contract import TABLE_DOCS


def test_the_ui_shows_the_same_descriptions(defs):
    graph = defs.resolve_asset_graph()
    for name, doc in TABLE_DOCS.items():
        node = graph.get(dg.AssetKey(name))
        assert node.description == doc.description
        columns = node.metadata["dagster/column_schema"].columns
        assert [c.name for c in columns] == TABLE_SCHEMAS[name].names
