"""Every table read back by the readers BI tools use: DuckDB, Polars, pyarrow.dataset, pandas.

Each reader must see one integer `event_id`, microsecond timestamps (no nanoseconds, no int96),
no unsigned or null-typed columns, strings as strings, the same schema in every partition, and
files compressed with zstd whose columns carry statistics for skipping row groups.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.tables.contract import TABLE_DOCS
from tests.fixtures_pipeline import EVENTS, TwoNights

# The documented way to get an integer event_id from pandas (its default is a categorical).
HIVE_EVENT_ID = ds.partitioning(pa.schema([("event_id", pa.int64())]), flavor="hive")


@pytest.fixture
def tables(two_nights: TwoNights) -> Path:
    return two_nights.warehouse


def _glob(warehouse: Path, table: str) -> str:
    partitioned = TABLE_DOCS[table].partitioned
    return str(warehouse / table / ("*/*.parquet" if partitioned else "*.parquet"))


def _files(warehouse: Path, table: str) -> list[Path]:
    return sorted(Path("/").glob(_glob(warehouse, table).lstrip("/")))


ALL = sorted(TABLE_SCHEMAS)


def test_every_table_has_files(tables):
    assert all(_files(tables, t) for t in ALL)
    assert len(_files(tables, "gallery_snapshots")) == len(EVENTS) + 1


@pytest.mark.parametrize("table", ALL)
def test_pyarrow_dataset(tables, table):
    schema = ds.dataset(tables / table, format="parquet", partitioning="hive").schema
    declared = TABLE_SCHEMAS[table]
    if TABLE_DOCS[table].partitioned:
        assert pa.types.is_integer(schema.field("event_id").type)
        schema = schema.remove(schema.get_field_index("event_id"))
    assert [f.name for f in schema] == declared.names
    for field in schema:
        assert field.type == declared.field(field.name).type
        assert not pa.types.is_null(field.type) and not pa.types.is_unsigned_integer(field.type)
        assert not pa.types.is_large_string(field.type) and not pa.types.is_binary(field.type)
        if pa.types.is_timestamp(field.type):
            assert field.type.unit == "us"


@pytest.mark.parametrize("table", ALL)
def test_duckdb(tables, table):
    with duckdb.connect() as db:
        source = f"read_parquet('{_glob(tables, table)}', hive_partitioning = true)"
        described = db.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        rows = db.execute(f"SELECT count(*) FROM read_parquet('{_glob(tables, table)}')").fetchone()
    types = {name: kind for name, kind, *_ in described}
    if TABLE_DOCS[table].partitioned:
        assert types.pop("event_id") == "BIGINT"
    assert list(types) == TABLE_SCHEMAS[table].names
    for name, kind in types.items():
        arrow = TABLE_SCHEMAS[table].field(name).type
        expected = {
            pa.int64(): "BIGINT",
            pa.float64(): "DOUBLE",
            pa.string(): "VARCHAR",
            pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE",
            pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
            pa.timestamp("us"): "TIMESTAMP",
        }[arrow]
        assert kind == expected, name
    assert rows[0] == sum(pq.read_metadata(p).num_rows for p in _files(tables, table))


@pytest.mark.parametrize("table", ALL)
def test_polars(tables, table):
    frame = pl.scan_parquet(_glob(tables, table), hive_partitioning=True)
    schema = dict(frame.collect_schema())
    if TABLE_DOCS[table].partitioned:
        assert schema.pop("event_id") == pl.Int64
    assert list(schema) == TABLE_SCHEMAS[table].names
    for name, dtype in schema.items():
        arrow = TABLE_SCHEMAS[table].field(name).type
        if pa.types.is_timestamp(arrow):
            assert dtype == pl.Datetime("us", "UTC" if arrow.tz else None), name
        elif arrow == pa.string():
            assert dtype == pl.String, name
        elif arrow == pa.int64():
            assert dtype == pl.Int64, name
        elif arrow == pa.float64():
            assert dtype == pl.Float64, name
    assert frame.select(pl.len()).collect().item() == sum(
        pq.read_metadata(p).num_rows for p in _files(tables, table)
    )


@pytest.mark.parametrize("table", [t for t in ALL if TABLE_DOCS[t].partitioned])
def test_pandas(tables, table):
    frame = pd.read_parquet(tables / table, partitioning=HIVE_EVENT_ID)
    assert frame["event_id"].dtype == "int64"
    assert set(frame["event_id"]) <= set(EVENTS)
    for name in TABLE_SCHEMAS[table].names:
        arrow = TABLE_SCHEMAS[table].field(name).type
        if pa.types.is_timestamp(arrow) and arrow.tz:
            assert str(frame[name].dtype) == "datetime64[us, UTC]", name
        if arrow == pa.string():
            assert pd.api.types.is_string_dtype(frame[name].dtype), name
    # pandas' own default for a Hive folder: a categorical whose categories are integers.
    default = pd.read_parquet(tables / table)["event_id"].dtype
    assert isinstance(default, pd.CategoricalDtype)
    assert pd.api.types.is_integer_dtype(default.categories.dtype)


@pytest.mark.parametrize("table", ALL)
def test_files_are_zstd_with_statistics_and_one_schema(tables, table):
    files = _files(tables, table)
    schemas = {pq.read_schema(f).remove_metadata() for f in files}
    assert schemas == {TABLE_SCHEMAS[table].remove_metadata()}
    for file in files:
        metadata = pq.read_metadata(file)
        for group in range(metadata.num_row_groups):
            if metadata.row_group(group).num_rows == 0:
                continue  # an empty table's file: no values, so nothing to skip by
            for index in range(metadata.num_columns):
                column = metadata.row_group(group).column(index)
                assert column.compression == "ZSTD"
                assert column.statistics is not None and column.statistics.has_null_count
                if column.statistics.null_count < metadata.row_group(group).num_rows:
                    assert column.statistics.has_min_max, column.path_in_schema
        for index in range(metadata.num_columns):
            column = metadata.schema.column(index)
            assert column.physical_type != "INT96"
            if "Timestamp" in str(column.logical_type):
                assert "timeUnit=microseconds" in str(column.logical_type)
                assert column.physical_type == "INT64"
