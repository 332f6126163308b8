"""SQL over the warehouse's Parquet: DuckDB views, and external tables for Athena, Spark and Trino.

All of it is generated from the declared schemas and the contract, for a warehouse `location`
(a local folder or an object-store URL), so that every engine sees the same tables with the
same types. Partitioned tables put `event_id` first, as an integer read from the Hive path.
"""

from __future__ import annotations

import pyarrow as pa

from ninepic_pipeline.tables.contract import TABLE_DOCS
from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS

PARTITION_COLUMN = "event_id"
GLOB_CHARACTERS = "*?[]{}"

_DUCKDB_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.timestamp("us"): "TIMESTAMP",
}
# Hive DDL (Athena, Spark): a timestamp carries no zone; the files' are UTC instants.
_HIVE_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.string(): "STRING",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
    pa.timestamp("us"): "TIMESTAMP",
}
_TRINO_TYPES = {**_HIVE_TYPES, pa.string(): "VARCHAR"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _folder(location: str, table: str) -> str:
    if any(c in location for c in GLOB_CHARACTERS):
        raise ValueError(
            f"the warehouse location {location!r} holds one of {GLOB_CHARACTERS}, which "
            "engines read as a file pattern: move the warehouse to a plainer path"
        )
    return f"{location.rstrip('/')}/{table}"


def _external(location: str) -> str:
    """A location engines that run elsewhere accept: a local folder as a file:// URL."""
    return location if "://" in location else f"file://{location}"


def duckdb_view(table: str, location: str, has_files: bool) -> str:
    """`CREATE OR REPLACE VIEW` for one table: the declared columns, in order and typed, then
    the files' rows matched to them by name.

    The typed empty relation comes first, so every declared column is there even when no file
    has it yet (a column added since the files were written reads as null), and a table with
    no file yet is an empty view (DuckDB refuses a glob that matches nothing).
    """
    schema, partitioned = TABLE_SCHEMAS[table], TABLE_DOCS[table].partitioned
    typed = ([f"CAST(NULL AS BIGINT) AS {PARTITION_COLUMN}"] if partitioned else []) + [
        f"CAST(NULL AS {_DUCKDB_TYPES[f.type]}) AS {f.name}" for f in schema
    ]
    declared = f"SELECT {', '.join(typed)} WHERE false"
    if not has_files:
        return f"CREATE OR REPLACE VIEW {table} AS {declared};"
    glob = f"{_folder(location, table)}/{'*/' if partitioned else ''}*.parquet"
    options = ", union_by_name = true"
    if partitioned:
        options += ", hive_partitioning = true, hive_types = {'event_id': BIGINT}"
    source = f"SELECT * FROM read_parquet({_quote(glob)}{options})"
    return f"CREATE OR REPLACE VIEW {table} AS {declared} UNION ALL BY NAME {source};"


def duckdb_views(location: str, tables_with_files: set[str]) -> str:
    """Every table's view, as one script that DuckDB runs as it is."""
    header = "-- ninepic-pipeline: one view per table of the warehouse (DuckDB).\n"
    return (
        header
        + "\n".join(
            duckdb_view(table, location, table in tables_with_files) for table in TABLE_SCHEMAS
        )
        + "\n"
    )


def _columns(schema: pa.Schema, types: dict[pa.DataType, str]) -> str:
    return ",\n".join(f"  {f.name} {types[f.type]}" for f in schema)


def hive_tables(location: str) -> str:
    """External tables in Hive DDL, for Athena and Spark SQL (with Hive support)."""
    statements = ["-- ninepic-pipeline: external tables over the warehouse (Athena, Spark SQL)."]
    location = _external(location)
    for table, schema in TABLE_SCHEMAS.items():
        partitioned = TABLE_DOCS[table].partitioned
        statements.append(
            f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{_columns(schema, _HIVE_TYPES)}\n)"
            + (f"\nPARTITIONED BY ({PARTITION_COLUMN} BIGINT)" if partitioned else "")
            + f"\nSTORED AS PARQUET\nLOCATION {_quote(_folder(location, table) + '/')};"
        )
        if partitioned:
            # New event folders become visible to the engine only once their partitions are added.
            statements.append(f"MSCK REPAIR TABLE {table};")
    return "\n\n".join(statements) + "\n"


def trino_tables(location: str, schema_name: str = "ninepic") -> str:
    """External tables for Trino's Hive connector, in the schema `schema_name`."""
    statements = [
        "-- ninepic-pipeline: external tables over the warehouse (Trino, Hive connector).\n"
        f"-- Run in the schema they belong to, e.g. USE hive.{schema_name};"
    ]
    location = _external(location)
    for table, schema in TABLE_SCHEMAS.items():
        partitioned = TABLE_DOCS[table].partitioned
        columns = _columns(schema, _TRINO_TYPES) + (
            f",\n  {PARTITION_COLUMN} BIGINT" if partitioned else ""
        )
        properties = [
            f"external_location = {_quote(_folder(location, table))}",
            "format = 'PARQUET'",
            *([f"partitioned_by = ARRAY['{PARTITION_COLUMN}']"] if partitioned else []),
        ]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table} (\n{columns}\n)\nWITH ({', '.join(properties)});"
        )
        if partitioned:
            statements.append(
                f"CALL system.sync_partition_metadata('{schema_name}', '{table}', 'ADD');"
            )
    return "\n\n".join(statements) + "\n"
