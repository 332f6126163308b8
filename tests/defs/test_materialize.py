"""Full materializations through the real definitions, read back from Parquet."""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ninepic_pipeline.catalog import DUCKDB_FILE, HIVE_SQL, TRINO_SQL, VIEWS_SQL
from ninepic_pipeline.tables import TABLE_SCHEMAS
from tests.conftest import EMPTY, KIDS_DASH, MARATHON, NO_TIMELINE
from tests.defs.conftest import QUIET, run_gallery

PARTITIONED = [
    "images",
    "gallery_pages",
    "image_size_stats",
    "capture_order_stats",
    "capture_timeline",
]
HISTORY = ["image_changes", "gallery_snapshots"]


def _part(warehouse, table, event_id):
    return warehouse / table / f"event_id={event_id}" / "part-0.parquet"


def test_every_asset_materializes_for_one_partition(defs, instance, warehouse):
    events = defs.resolve_job_def("events_job").execute_in_process(
        instance=instance, run_config=QUIET
    )
    assert events.success
    result = run_gallery(defs, instance, str(KIDS_DASH))
    assert result.success
    for table in PARTITIONED:
        path = _part(warehouse, table, KIDS_DASH)
        assert pq.read_schema(path).remove_metadata() == TABLE_SCHEMAS[table].remove_metadata()
    assert pq.read_table(warehouse / "events" / "part-0.parquet").num_rows == 5
    assert pq.read_table(_part(warehouse, "images", KIDS_DASH)).num_rows == 37
    for table in HISTORY:
        (part,) = (warehouse / table / f"event_id={KIDS_DASH}").glob("part-*.parquet")
        assert pq.read_schema(part).remove_metadata() == TABLE_SCHEMAS[table].remove_metadata()
    # `_locks` holds the per-event lock files; Hive readers skip names starting with "_".
    tables = sorted(p.name for p in warehouse.iterdir() if p.is_dir() and p.name != "_locks")
    assert tables == sorted([*PARTITIONED, *HISTORY, "events"])


def test_materializations_carry_row_count_schema_preview_and_numbers(defs, instance):
    run_gallery(defs, instance, str(KIDS_DASH))
    record = instance.fetch_materializations(dg.AssetKey("images"), limit=1).records[0]
    metadata = record.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 37
    assert [c.name for c in metadata["dagster/column_schema"].schema.columns] == TABLE_SCHEMAS[
        "images"
    ].names
    assert "| image_id |" in metadata["preview"].value
    assert metadata["photos"].value == 37
    assert metadata["pages"].value == 1
    assert metadata["duplicates_dropped"].value == 0
    assert metadata["retries"].value == 0
    assert record.asset_materialization.partition == str(KIDS_DASH)


def test_empty_event_gives_empty_tables_and_zero_stats(defs, instance, warehouse):
    assert run_gallery(defs, instance, str(EMPTY)).success
    assert pq.read_table(_part(warehouse, "images", EMPTY)).num_rows == 0
    size = pq.read_table(_part(warehouse, "image_size_stats", EMPTY)).to_pylist()[0]
    assert size["image_count"] == 0 and size["width_mean"] is None
    capture = pq.read_table(_part(warehouse, "capture_order_stats", EMPTY)).to_pylist()[0]
    assert capture["api_total"] == 0 and capture["pages_fetched"] == 1
    assert capture["untimestamped_count"] == 0


def test_disabled_timeline_gives_null_untimestamped_count(defs, instance, warehouse):
    assert run_gallery(defs, instance, str(NO_TIMELINE)).success
    row = pq.read_table(_part(warehouse, "capture_order_stats", NO_TIMELINE)).to_pylist()[0]
    assert row["untimestamped_count"] is None
    assert row["image_count"] == row["api_total"] > 0


def test_duckdb_reads_the_tables_through_hive_partitioning(defs, instance, warehouse):
    for key in (MARATHON, KIDS_DASH):
        assert run_gallery(defs, instance, str(key)).success
    con = duckdb.connect()
    glob = f"{warehouse}/images/*/*.parquet"
    types = dict(
        con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"read_parquet('{glob}', hive_partitioning = true))"
        ).fetchall()
    )
    assert types["event_id"] == "BIGINT"
    assert types["width"] == types["height"] == types["capture_rank"] == "BIGINT"
    assert types["fetched_at"] == "TIMESTAMP WITH TIME ZONE"
    counts = con.execute(
        f"SELECT event_id, count(*) FROM read_parquet('{glob}', hive_partitioning = true) "
        "GROUP BY event_id ORDER BY event_id"
    ).fetchall()
    assert counts == [(MARATHON, 1280), (KIDS_DASH, 37)]


def test_pyarrow_dataset_sees_one_integer_event_id(defs, instance, warehouse):
    for key in (MARATHON, KIDS_DASH):
        run_gallery(defs, instance, str(key))
    table = ds.dataset(
        warehouse / "image_size_stats", format="parquet", partitioning="hive"
    ).to_table()
    assert table.schema.field("event_id").type.bit_width >= 32
    assert sorted(table.column("event_id").to_pylist()) == [MARATHON, KIDS_DASH]


def test_no_temporary_file_is_left_in_the_warehouse(defs, instance, warehouse):
    run_gallery(defs, instance, str(KIDS_DASH))
    run_gallery(defs, instance, str(KIDS_DASH))
    catalog = {warehouse / name for name in (DUCKDB_FILE, VIEWS_SQL, HIVE_SQL, TRINO_SQL)}
    leftovers = [
        p
        for p in warehouse.rglob("*")
        if p.is_file()
        and p not in catalog
        and p.parent.name != "_locks"
        and not re.fullmatch(r"part-(0|\d{8}T\d{12}Z-[0-9a-f]{8})\.parquet", p.name)
    ]
    assert leftovers == []


def test_api_key_is_nowhere_in_dagster_home_or_warehouse(
    defs, instance, warehouse, ninepic_env, tmp_path
):
    run_gallery(defs, instance, str(KIDS_DASH))
    key = ninepic_env["NINEPIC_API_KEY"].encode()
    hits = [p for p in tmp_path.rglob("*") if p.is_file() and key in p.read_bytes()]
    assert hits == []


def test_capture_timeline_counts_every_photo_once(defs, instance, warehouse, server):
    import requests

    assert run_gallery(defs, instance, str(MARATHON)).success
    days = requests.get(
        f"{server.url}/api/v1/ext/903/event/{MARATHON}/timeline/days",
        headers={"X-API-Key": server.keys[903]},
        timeout=10,
    ).json()["data"]["days"]
    rows = pq.read_table(_part(warehouse, "capture_timeline", MARATHON)).to_pylist()
    hours = [(d["date"], h["hour"], h["count"]) for d in days for h in d["hours"] if h["count"]]
    assert [(str(r["capture_date"]), r["capture_hour"], r["photo_count"]) for r in rows[:-1]] == (
        hours
    )
    assert rows[-1]["untimestamped"] and sum(r["photo_count"] for r in rows) == 1280


def test_disabled_timeline_gives_an_empty_table_and_a_note(defs, instance, warehouse):
    assert run_gallery(defs, instance, str(NO_TIMELINE)).success
    assert pq.read_table(_part(warehouse, "capture_timeline", NO_TIMELINE)).num_rows == 0
    record = instance.fetch_materializations(dg.AssetKey("capture_timeline"), limit=1).records[0]
    metadata = record.asset_materialization.metadata
    assert metadata["timeline_available"].value is False
    assert "disabled" in metadata["note"].value
