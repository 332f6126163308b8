"""The BI entry points: ninepic.duckdb opened as a BI tool opens it, and the SQL files."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ninepic_pipeline.catalog import DUCKDB_FILE, HIVE_SQL, TRINO_SQL, VIEWS_SQL, refresh_catalog
from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.tables.contract import TABLE_DOCS
from ninepic_pipeline.warehouse import Warehouse
from tests.conftest import KIDS_DASH, MARATHON
from tests.defs.conftest import QUIET, run_gallery


@pytest.fixture
def materialized(defs, instance, warehouse) -> Path:
    assert (
        defs.resolve_job_def("events_job")
        .execute_in_process(instance=instance, run_config=QUIET)
        .success
    )
    for event in (KIDS_DASH, MARATHON):
        assert run_gallery(defs, instance, str(event)).success
    return warehouse


def _rows(warehouse: Path, table: str, event: int) -> int:
    return pq.read_metadata(warehouse / table / f"event_id={event}" / "part-0.parquet").num_rows


def test_the_database_opens_anywhere_read_only_with_every_table(
    materialized, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # a BI tool's working directory is not the warehouse
    with duckdb.connect(str(materialized / DUCKDB_FILE), read_only=True) as db:
        views = {row[0] for row in db.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        assert set(TABLE_SCHEMAS) <= views
        counts = dict(db.execute("SELECT event_id, count(*) FROM images GROUP BY 1").fetchall())
        assert counts == {e: _rows(materialized, "images", e) for e in (KIDS_DASH, MARATHON)}
        columns = db.execute("DESCRIBE images").fetchall()
        assert (columns[0][0], columns[0][1]) == ("event_id", "BIGINT")
        assert [c[0] for c in columns[1:]] == TABLE_SCHEMAS["images"].names
        assert dict((c[0], c[1]) for c in columns)["first_seen_at"] == "TIMESTAMP WITH TIME ZONE"
        # Not materialized yet: an empty view with the declared columns, not an error.
        summary = db.execute("DESCRIBE event_summary").fetchall()
        assert [c[0] for c in summary] == TABLE_SCHEMAS["event_summary"].names
        assert db.execute("SELECT count(*) FROM event_summary").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM events").fetchone() == (5,)


def test_the_views_script_builds_the_same_views_in_a_fresh_database(materialized):
    script = (materialized / VIEWS_SQL).read_text()
    with duckdb.connect() as db:
        db.execute(script)
        rows = db.execute("SELECT sum(photos) FROM gallery_snapshots").fetchone()[0]
    expected = sum(_rows(materialized, "images", e) for e in (KIDS_DASH, MARATHON))
    assert rows == expected


def test_a_refresh_sees_a_table_s_first_file(tmp_path):
    store = Warehouse(tmp_path)
    refresh_catalog(store)
    with duckdb.connect(str(tmp_path / DUCKDB_FILE), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)
    store.write("events", TABLE_SCHEMAS["events"].empty_table())
    refresh_catalog(store)
    with duckdb.connect(str(tmp_path / DUCKDB_FILE), read_only=True) as db:
        definition = db.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'events'"
        ).fetchone()[0]
    assert "read_parquet" in definition
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def _statements(sql: str) -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, type)] of each CREATE ... TABLE statement."""
    tables = {}
    for name, body in re.findall(
        r"CREATE (?:EXTERNAL )?TABLE IF NOT EXISTS (\w+) \((.*?)\n\)", sql, re.S
    ):
        tables[name] = [
            tuple(line.strip().rstrip(",").split(" ", 1)) for line in body.strip().splitlines()
        ]
    return tables


@pytest.mark.parametrize(
    ("file", "string", "timestamp"),
    [(HIVE_SQL, "STRING", "TIMESTAMP"), (TRINO_SQL, "VARCHAR", "TIMESTAMP")],
)
def test_external_tables_declare_every_column_with_its_type(tmp_path, file, string, timestamp):
    refresh_catalog(Warehouse(tmp_path))
    sql = (tmp_path / file).read_text()
    tables = _statements(sql)
    assert set(tables) == set(TABLE_SCHEMAS)
    for name, columns in tables.items():
        declared = [f.name for f in TABLE_SCHEMAS[name]]
        names = [c for c, _ in columns]
        if file == TRINO_SQL and TABLE_DOCS[name].partitioned:
            assert names[-1] == "event_id"
            names = names[:-1]
        assert names == declared
        types = dict(columns)
        assert types.get("image_id", string) == string
        if name == "images":
            assert types["first_seen_at"] == timestamp
            assert types["capture_rank"] == "BIGINT"
        location = str(tmp_path / name)
        assert location in sql
    assert sql.count(
        "PARTITIONED BY (event_id BIGINT)" if file == HIVE_SQL else "partitioned_by"
    ) == sum(doc.partitioned for doc in TABLE_DOCS.values())


def test_views_read_files_written_before_a_column_existed(tmp_path):
    store = Warehouse(tmp_path)
    schema = TABLE_SCHEMAS["images"]
    new = schema.empty_table()
    old = new.drop_columns(["first_seen_at"])  # an images file from before the history
    # event_id=10 sorts before event_id=2: DuckDB would take the old file's schema first.
    store.write("images", old, 10)
    store.write("images", new, 2)
    refresh_catalog(store)
    with duckdb.connect(str(tmp_path / DUCKDB_FILE), read_only=True) as db:
        assert [c[0] for c in db.execute("DESCRIBE images").fetchall()][1:] == schema.names
        assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)


def test_a_column_no_file_has_yet_reads_as_null(tmp_path):
    store = Warehouse(tmp_path)
    schema = TABLE_SCHEMAS["image_changes"]
    old = schema.empty_table().drop_columns(["late_upload"])  # every file from before it
    store.write("image_changes", old, 3)
    refresh_catalog(store)
    with duckdb.connect(str(tmp_path / DUCKDB_FILE), read_only=True) as db:
        columns = db.execute("DESCRIBE image_changes").fetchall()
        assert [c[0] for c in columns] == ["event_id", *schema.names]
        assert dict((c[0], c[1]) for c in columns)["late_upload"] == "BOOLEAN"


def test_a_warehouse_path_engines_would_read_as_a_pattern_is_refused(tmp_path):
    odd = tmp_path / "night[1]"
    odd.mkdir()
    with pytest.raises(ValueError, match=r"file pattern: move the warehouse"):
        refresh_catalog(Warehouse(odd))
