"""The warehouse on an object store: moto's S3 server on 127.0.0.1, read back with pyarrow."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from ninepic_pipeline.catalog import HIVE_SQL, VIEWS_SQL
from ninepic_pipeline.storage import LocalStorage, ObjectStorage, open_storage
from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.warehouse import Warehouse
from tests.conftest import KIDS_DASH, MARATHON, ORG
from tests.fixtures_pipeline import load_defs, materialize_every_asset, pipeline_env
from tests.services import s3_bucket, s3_endpoint  # noqa: F401  (fixtures)


def _objects(bucket: str) -> list[str]:
    filesystem, _ = pafs.FileSystem.from_uri(f"s3://{bucket}")
    selector = pafs.FileSelector(bucket, recursive=True)
    return sorted(
        info.path.removeprefix(f"{bucket}/")
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    )


def test_roots_pick_their_storage(tmp_path, s3_bucket):  # noqa: F811
    assert isinstance(open_storage(tmp_path), LocalStorage)
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)
    assert isinstance(open_storage(f"s3://{s3_bucket}/prefix"), ObjectStorage)
    with pytest.raises(ValueError, match=r"NINEPIC_WAREHOUSE 'nosuch://x'.*local folder"):
        open_storage("nosuch://x")


def test_failed_transaction_leaves_the_objects_as_they_were(s3_bucket):  # noqa: F811
    store = Warehouse(f"s3://{s3_bucket}/wh")
    old = pa.table({"n": [1, 2]})
    store.write("t", old, 7)
    before = store.read("t", 7)
    with pytest.raises(RuntimeError), store.transaction() as transaction:
        transaction.stage("t", pa.table({"n": [3]}), 7)
        raise RuntimeError("the run died before committing")
    assert store.read("t", 7).equals(before)
    assert _objects(s3_bucket) == ["wh/t/event_id=7/part-0.parquet"]
    with store.transaction() as transaction:
        transaction.stage("t", pa.table({"n": [3]}), 7)
    assert store.read("t", 7).column("n").to_pylist() == [3]
    assert _objects(s3_bucket) == ["wh/t/event_id=7/part-0.parquet"]


def test_every_asset_materializes_into_s3(s3_bucket, server, tmp_path, monkeypatch):  # noqa: F811
    url = f"s3://{s3_bucket}/warehouse"
    for name, value in pipeline_env(server, url).items():
        monkeypatch.setenv(name, value)
    defs = load_defs()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:  # SQLite
        # Kids Dash twice: the second run appends nothing.
        materialize_every_asset(defs, instance, (KIDS_DASH, MARATHON, KIDS_DASH))

    filesystem, root = pafs.FileSystem.from_uri(url)
    images = ds.dataset(
        f"{root}/images", filesystem=filesystem, format="parquet", partitioning="hive"
    ).to_table()
    counts = {e: images.filter(ds.field("event_id") == e).num_rows for e in (KIDS_DASH, MARATHON)}
    assert counts == {e: server.world.photo_count(ORG, e) for e in (KIDS_DASH, MARATHON)}
    assert images.schema.remove(images.schema.get_field_index("event_id")).equals(
        TABLE_SCHEMAS["images"], check_metadata=False
    )
    objects = _objects(s3_bucket)
    # Whole objects only: nothing staged or temporary is left; the history has one file per
    # snapshot; the SQL files point at the bucket; no DuckDB file (see catalog.py).
    assert not [o for o in objects if "/_staging/" in o or "/.tmp-" in o or o.endswith(".staged")]
    assert len([o for o in objects if o.startswith("warehouse/gallery_snapshots/")]) == 2
    assert {f"warehouse/{VIEWS_SQL}", f"warehouse/{HIVE_SQL}"} <= set(objects)
    assert not [o for o in objects if o.endswith(".duckdb")]
    with filesystem.open_input_stream(f"{root}/{HIVE_SQL}") as stream:
        assert f"LOCATION '{url}/images/'" in stream.read().decode()
    summary = ds.dataset(f"{root}/event_summary", filesystem=filesystem).to_table().to_pylist()
    assert {r["event_id"]: r["photos"] for r in summary}[MARATHON] == counts[MARATHON]
