"""Dagster metadata for tables: their schema for the UI, and what each materialization wrote."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa

from ninepic_pipeline.tables.contract import TABLE_DOCS
from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS
from ninepic_pipeline.tables.streamed import StreamedTable

GROUP = "ninepic"
PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """The declared Arrow schema as Dagster's column schema, descriptions included."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.type),
                description=(field.metadata or {}).get(b"description", b"").decode() or None,
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


def definition_metadata(schema: pa.Schema) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(schema)}


def table_asset(name: str) -> dict[str, Any]:
    """What a table's asset says of itself in the UI, from the table contract."""
    return {
        "group_name": GROUP,
        "kinds": {"parquet"},
        "description": TABLE_DOCS[name].description,
        "metadata": definition_metadata(TABLE_SCHEMAS[name]),
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if len(text) > PREVIEW_CELL_CHARS:
        text = text[: PREVIEW_CELL_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    head = table.slice(0, rows).to_pylist()
    lines = [
        "| " + " | ".join(table.column_names) + " |",
        "|" + "---|" * table.num_columns,
        *(
            "| " + " | ".join(_cell(row[name]) for name in table.column_names) + " |"
            for row in head
        ),
    ]
    return "\n".join(lines)


def table_metadata(table: pa.Table | StreamedTable, path: str) -> dict[str, Any]:
    head = _head(table)
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(table.schema),
        "path": dg.MetadataValue.path(str(path)),
        "preview": dg.MetadataValue.md(markdown_preview(head)),
    }


def appended_metadata(
    appended: pa.Table | StreamedTable | None, schema: pa.Schema, rows: int, folder: str
) -> dict[str, Any]:
    """An appended table's materialization: what this snapshot added, and the rows in all."""
    added = appended if appended is not None else schema.empty_table()
    return {
        "dagster/row_count": rows,
        "appended_rows": added.num_rows,
        "dagster/column_schema": column_schema(schema),
        "path": dg.MetadataValue.path(folder),
        "preview": dg.MetadataValue.md(markdown_preview(_head(added))),
    }


def _head(table: pa.Table | StreamedTable) -> pa.Table:
    return table.head(PREVIEW_ROWS) if isinstance(table, StreamedTable) else table
