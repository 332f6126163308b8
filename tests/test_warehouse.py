"""The warehouse: atomic files, transactions that publish all or nothing, crash recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ninepic_pipeline.tables.streamed import StreamedTable
from ninepic_pipeline.warehouse import STAGING, Warehouse


def _table(value: int) -> pa.Table:
    return pa.table({"n": pa.array([value] * 3, pa.int64())})


def _values(warehouse: Warehouse, table: str, event_id: int) -> list[int]:
    return pq.read_table(warehouse.path(table, event_id)).column("n").to_pylist()


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "wh")
    with store.transaction() as tx:
        tx.stage("a", _table(1), 7)
        tx.stage("b", _table(1), 7)
    return store


def test_transaction_publishes_every_table(warehouse):
    with warehouse.transaction() as tx:
        tx.stage("a", _table(2), 7)
        tx.stage("b", _table(2), 7)
    assert _values(warehouse, "a", 7) == _values(warehouse, "b", 7) == [2, 2, 2]
    assert not (warehouse.local_root / STAGING).exists()


def test_failed_transaction_changes_nothing(warehouse):
    before = {t: Path(warehouse.path(t, 7)).read_bytes() for t in ("a", "b")}
    with pytest.raises(RuntimeError), warehouse.transaction() as tx:
        tx.stage("a", _table(3), 7)
        raise RuntimeError("a check failed")
    assert {t: Path(warehouse.path(t, 7)).read_bytes() for t in ("a", "b")} == before
    assert not (warehouse.local_root / STAGING).exists()


CRASH = """
import os, sys
import pyarrow as pa
from ninepic_pipeline.warehouse import Warehouse
real_replace, published = os.replace, []
def replace(src, dst):
    real_replace(src, dst)
    if str(dst).endswith("part-0.parquet"):
        published.append(dst)
        if len(published) == int(sys.argv[2]):
            os._exit(9)  # the power goes out
os.replace = replace
store = Warehouse(sys.argv[1])
table = pa.table({"n": pa.array([4] * 3, pa.int64())})
with store.transaction() as tx:
    tx.stage("a", table, 7)
    if sys.argv[2] == "0":
        os._exit(9)  # dies while staging, before any commit
    tx.stage("b", table, 7)
"""


def _crash(warehouse: Warehouse, after_publishing: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH, str(warehouse.local_root), str(after_publishing)], check=False
    )
    assert result.returncode == 9


def test_crash_before_commit_leaves_every_table_and_readers_see_no_staging(warehouse):
    _crash(warehouse, after_publishing=0)
    assert _values(warehouse, "a", 7) == _values(warehouse, "b", 7) == [1, 1, 1]
    glob = f"{warehouse.local_root}/a/*/*.parquet"
    seen = duckdb.sql(f"SELECT n FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()
    assert seen == [(1,)] * 3


def test_crash_while_publishing_is_rolled_forward_by_the_next_transaction(warehouse):
    _crash(warehouse, after_publishing=1)
    assert _values(warehouse, "a", 7) == [4, 4, 4]
    assert _values(warehouse, "b", 7) == [1, 1, 1]  # half published: the window recovery closes
    with warehouse.transaction():
        pass  # a fresh commit may be a live run's: it is left to its owner
    assert _values(warehouse, "b", 7) == [1, 1, 1]
    orphan = next((warehouse.local_root / STAGING).iterdir())
    an_hour_ago = time.time() - 3600
    os.utime(orphan, (an_hour_ago, an_hour_ago))
    with warehouse.transaction():
        pass
    assert _values(warehouse, "b", 7) == [4, 4, 4]
    assert not (warehouse.local_root / STAGING).exists()


def test_write_replaces_one_file_whole(tmp_path):
    store = Warehouse(tmp_path)
    store.write("events", _table(1))
    store.write("events", _table(2))
    assert pq.read_table(store.path("events")).column("n").to_pylist() == [2, 2, 2]
    assert [p.name for p in (tmp_path / "events").iterdir()] == ["part-0.parquet"]


@pytest.mark.parametrize("bad", [0, -1, True, "7"])
def test_partition_paths_take_only_positive_ids(tmp_path, bad):
    with pytest.raises(ValueError, match="positive integer"):
        Warehouse(tmp_path).path("images", bad)


def test_concurrent_transactions_of_different_events_do_not_disturb_each_other(tmp_path):
    import threading

    store = Warehouse(tmp_path / "wh")
    errors: list[BaseException] = []

    def night(event_id: int) -> None:
        try:
            for value in range(25):
                with store.transaction() as tx:
                    tx.stage("a", _table(value), event_id)
                    tx.stage("b", _table(value), event_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=night, args=(event,)) for event in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for event in range(1, 7):
        assert _values(store, "a", event) == _values(store, "b", event) == [24, 24, 24]


# Rows of 1,032 bytes in Arrow: an int64 (8), a 1,020-character string and its int32 offset (4);
# no nulls, so no validity bitmaps. 16 MiB hold 16,256 of them (16,256 x 1,032 = 16,776,192).
WIDE = pa.schema([pa.field("n", pa.int64(), nullable=False), pa.field("s", pa.string())])
WIDE_GROUP = 16_256


def _rows(start: int, stop: int, width: int = 1_020) -> pa.RecordBatch:
    return pa.record_batch(
        [pa.array(range(start, stop), pa.int64()), pa.array(["x" * width] * (stop - start))],
        schema=WIDE,
    )


def _groups(path: Path) -> list[int]:
    metadata = pq.read_metadata(path)
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def _streamed(batches: list[pa.RecordBatch]) -> StreamedTable:
    return StreamedTable(WIDE, sum(b.num_rows for b in batches), lambda: iter(batches))


def test_streamed_table_is_written_in_row_groups_of_a_bounded_size(tmp_path):
    rows = 2 * WIDE_GROUP + 12_345
    # Batches that never line up with a row group, as the spooled URLs do not; an empty one
    # first, as a source may send.
    batches = [_rows(0, 0)] + [_rows(i, min(i + 7_000, rows)) for i in range(0, rows, 7_000)]
    path = Warehouse(tmp_path).write("big", _streamed(batches), 1)
    parquet = pq.ParquetFile(path)
    assert _groups(path) == [WIDE_GROUP, WIDE_GROUP, 12_345]
    assert parquet.read(["n"]).column("n").to_pylist() == list(range(rows))
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert parquet.metadata.row_group(0).column(0).statistics.max == WIDE_GROUP - 1
    # The empty batch decides nothing: the distinct ids get no dictionary, the repeated text does.
    assert _dictionary_encoded(path) == {"n": False, "s": True}


def test_rows_that_widen_after_the_first_batch_still_make_bounded_groups(tmp_path):
    # 1,000 rows of 12 bytes, then 40,000 of 1,032: a size fixed from the first batch would put
    # all 41,000 rows, 41 MB, in one group.
    batches = [_rows(0, 1_000, width=0)] + [
        _rows(i, i + 5_000) for i in range(1_000, 41_000, 5_000)
    ]
    path = Warehouse(tmp_path).write("widening", _streamed(batches), 1)
    parquet = pq.ParquetFile(path)
    sizes = [parquet.read_row_group(i).nbytes for i in range(parquet.num_row_groups)]
    # 16 MiB = 12,000 bytes of narrow rows + 16,245 wide rows of 1,032 (and 376 bytes to spare);
    # the next group: the 3,755 wide rows left, 10,000 more, and 2,501 that fill it.
    assert _groups(path) == [1_000 + 16_245, 3_755 + 10_000 + 2_501, 2_499 + 5_000]
    assert max(sizes) <= 16 * 1024 * 1024


def test_rows_that_narrow_after_the_first_batch_still_make_bounded_groups(tmp_path):
    # 16,000 rows of 1,032 bytes, then 100,000 of 12: at the pending rows' average width the
    # first group would take 45,741 rows, 16.1 MiB.
    batches = [_rows(0, 16_000)] + [
        _rows(i, i + 10_000, width=0) for i in range(16_000, 116_000, 10_000)
    ]
    path = Warehouse(tmp_path).write("narrowing", _streamed(batches), 1)
    parquet = pq.ParquetFile(path)
    # 16 MiB - 16,512,000 wide bytes leaves room for 22,101 rows of 12 bytes.
    assert _groups(path) == [16_000 + 22_101, 116_000 - 38_101]
    assert parquet.read_row_group(0).nbytes <= 16 * 1024 * 1024
    assert parquet.read(["n"]).column("n").to_pylist() == list(range(116_000))


def test_a_whole_table_is_written_in_row_groups_of_a_bounded_size(tmp_path):
    table = pa.Table.from_batches([_rows(0, 40_000)])
    path = Warehouse(tmp_path).write("wide", table, 1)
    assert _groups(path) == [WIDE_GROUP, WIDE_GROUP, 40_000 - 2 * WIDE_GROUP]


def test_row_groups_stay_within_a_sane_number_of_rows(tmp_path):
    from ninepic_pipeline.warehouse import MAX_GROUP_ROWS, MIN_GROUP_ROWS

    store = Warehouse(tmp_path)
    # One byte a row would make groups of 16M rows; 20 KiB a row, groups of 819.
    narrow = pa.table({"b": pa.array([1] * (MAX_GROUP_ROWS + 5), pa.int8())})
    assert _groups(store.write("narrow", narrow, 1)) == [MAX_GROUP_ROWS, 5]
    huge = pa.table({"s": pa.array(["x" * 20_480] * (MIN_GROUP_ROWS + 7))})
    assert _groups(store.write("huge", huge, 1)) == [MIN_GROUP_ROWS, 7]
    streamed = _streamed([_rows(i, i + 100, width=20_480) for i in range(0, 1_100, 100)])
    assert _groups(store.write("huge_streamed", streamed, 1)) == [MIN_GROUP_ROWS, 76]


def test_a_stream_that_fails_after_a_row_group_leaves_the_previous_file_whole(tmp_path):
    store = Warehouse(tmp_path)
    path = Path(store.write("t", _streamed([_rows(0, 10)]), 1))
    before = path.read_bytes()

    def failing() -> Iterator[pa.RecordBatch]:
        yield from (_rows(i, i + 7_000) for i in range(0, 35_000, 7_000))  # two groups written
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        store.write("t", StreamedTable(WIDE, 40_000, failing), 1)
    assert path.read_bytes() == before
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]


def _dictionary_encoded(path: Path) -> dict[str, bool]:
    metadata = pq.ParquetFile(path).metadata
    return {
        metadata.schema.column(i).name: any(
            "DICTIONARY" in encoding
            for group in range(metadata.num_row_groups)
            for encoding in metadata.row_group(group).column(i).encodings
        )
        for i in range(metadata.num_columns)
    }


@pytest.mark.parametrize("streamed", [False, True])
def test_only_columns_whose_values_repeat_get_a_dictionary(tmp_path, streamed):
    rows = 50_000
    table = pa.table(
        {
            "photo": [f"photo-{n:06d}" for n in range(rows)],  # one value a row
            "rank": pa.array(range(rows), pa.int64()),
            "orientation": ["portrait", "landscape"] * (rows // 2),  # two values
            "page": pa.array([n // 100 for n in range(rows)], pa.int64()),  # 100 rows a value
            "nothing": pa.nulls(rows, pa.string()),
        }
    )
    data = StreamedTable(table.schema, rows, lambda: iter(table.to_batches(9_000)))
    path = Warehouse(tmp_path).write("t", data if streamed else table, 1)
    assert _dictionary_encoded(Path(path)) == {
        "photo": False,
        "rank": False,
        "orientation": True,
        "page": True,
        "nothing": True,
    }
    assert pq.read_table(path).equals(table)


def test_a_one_row_first_batch_does_not_decide_the_dictionaries(tmp_path):
    schema = pa.schema([pa.field("n", pa.int64()), pa.field("o", pa.string())])
    rows = 20_000
    table = pa.table(
        {"n": pa.array(range(rows), pa.int64()), "o": ["portrait", "landscape"] * (rows // 2)},
        schema=schema,
    )
    batches = [table.slice(0, 1).to_batches()[0], *table.slice(1).to_batches(5_000)]
    path = Warehouse(tmp_path).write("t", StreamedTable(schema, rows, lambda: iter(batches)), 1)
    # Within its one row every value is distinct; over the group "o" has two values.
    assert _dictionary_encoded(Path(path)) == {"n": False, "o": True}
    assert pq.read_table(path).equals(table)


def test_an_empty_streamed_table_is_written_with_its_schema(tmp_path):
    schema = pa.schema([pa.field("n", pa.int64())])
    path = Warehouse(tmp_path).write("t", StreamedTable(schema, 0, lambda: iter([])), 1)
    assert pq.read_table(path).schema.equals(schema) and pq.read_table(path).num_rows == 0


def test_a_late_recovery_never_brings_back_older_tables(warehouse):
    """A crashed run's commit, rolled forward after a newer commit, leaves the newer file."""
    with warehouse.transaction() as transaction:
        transaction.stage("a", pa.table({"n": [1]}), 7)
    # A run that staged and laid down its manifest, then died before publishing...
    orphan = STAGING + "/crashed"
    storage = warehouse.storage
    storage.write(
        f"{orphan}/a/event_id=7/part-0.parquet.staged",
        lambda h: pq.write_table(pa.table({"n": [2]}), h),
    )
    manifest = [[f"{orphan}/a/event_id=7/part-0.parquet.staged", "a/event_id=7/part-0.parquet"]]
    storage.write(f"{orphan}/MANIFEST.json", lambda h: h.write(json.dumps(manifest).encode()))
    old = time.time() - 3600
    for path in (warehouse.local_root / orphan).rglob("*"):
        os.utime(path, (old, old))
    os.utime(warehouse.local_root / orphan, (old, old))
    # ...and a newer commit of the same table since (it finds the orphan too old to wait for).
    with warehouse.transaction() as transaction:
        transaction.stage("a", pa.table({"n": [3]}), 8)
    warehouse.recover()
    assert _values(warehouse, "a", 7) == [1]
    assert not (warehouse.local_root / STAGING).exists()


def test_listing_a_folder_that_is_gone_or_a_file_finds_nothing(tmp_path):
    from ninepic_pipeline.storage import LocalStorage

    storage = LocalStorage(tmp_path)
    (tmp_path / "_staging" / "run-1").mkdir(parents=True)
    (tmp_path / "_staging" / "a.parquet").write_bytes(b"x")
    assert storage.folders("_staging") == ["_staging/run-1"]
    assert storage.files("_staging", ".parquet") == ["_staging/a.parquet"]
    assert storage.folders("_staging/a.parquet") == []
    assert storage.files("_staging/a.parquet", ".parquet") == []
    # What a concurrent commit's clean-up leaves a run listing `_staging` to find.
    storage.remove_tree("_staging")
    assert storage.folders("_staging") == [] and storage.files("_staging", ".parquet") == []
