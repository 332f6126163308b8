"""The Parquet warehouse: Hive layout, one file per table partition, replaced atomically.

`{root}/{table}/event_id={id}/part-0.parquet` for tables partitioned by event,
`{root}/{table}/part-0.parquet` for the others; tables appended to get one more
`part-{snapshot}.parquet` per addition. The partition column lives in the path only, as
Hive-partitioned readers expect. The root is a local folder or an object-store URL
(`storage.py`); either way a file appears whole or not at all, so a reader sees the old file or
the new one, never half of either, and a failed write leaves the old file as it was.

Several tables that must change together (one event's snapshot and its statistics) go through a
`transaction`: every file is staged first under `_staging/`, and only when all are written whole
is a manifest laid down and the files moved into place. A crash before the manifest leaves
every table as it was; a crash after it is rolled forward by the next transaction, so the tables
never stay half old and half new. (On an object store the moves are copies, one object at a
time: for the moment they take, a reader may see some of the new tables beside old ones.)
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ninepic_pipeline.storage import Storage, open_storage

PART_FILE = "part-0.parquet"
PARTITION_COLUMN = "event_id"
# A row group is cut when this many bytes of Arrow data are pending, whatever the rows' width:
# the writer of a streamed table holds one row group at a time (three URLs of a kilobyte a photo
# would make a 128k-row group 400 MB). The images of the sandbox, about 290 bytes a row, come out
# at 58k rows. Rows of over 16 KiB make larger groups, of MIN_GROUP_ROWS.
ROW_GROUP_BYTES = 16 * 1024 * 1024
MIN_GROUP_ROWS = 1024
MAX_GROUP_ROWS = 1024 * 1024
# The first rows of a table's first row group decide which of its columns get a dictionary
# (`dictionary_columns`). Counting distinct values hashes them: over 128k rows of the sandbox's
# URLs that was the peak of a first night at a million photos (20 MB); 16k rows pick the same.
DICTIONARY_SAMPLE_ROWS = 16 * 1024
# Leading underscore: Hive-style readers (pyarrow, Spark) skip it, and no table glob reaches it.
STAGING = "_staging"
LOCKS = "_locks"
MANIFEST = "MANIFEST.json"
STAGED_SUFFIX = ".staged"
# A staging folder without a manifest this old belongs to a run that died before committing.
ABANDONED_AFTER_S = 6 * 3600
# A live commit publishes its manifest within moments; one left this long lost its owner. Other
# runs' fresher commits are theirs to finish.
ORPHANED_COMMIT_AFTER_S = 60.0
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


class BatchSource(Protocol):
    """A table too large to hold whole, as `tables.streamed.StreamedTable` is."""

    schema: pa.Schema

    def batches(self) -> Iterator[pa.RecordBatch]: ...


Data = pa.Table | BatchSource


class Warehouse:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.storage: Storage = open_storage(root)

    @property
    def url(self) -> str:
        """The root as readers are given it: a local path or the object store's URL."""
        return self.storage.root_url

    @property
    def local_root(self) -> Path | None:
        """The root folder, for a local warehouse; None on an object store."""
        return Path(self.storage.root_url) if self.storage.is_local else None

    def key(self, table: str, event_id: int | None = None, part: str = PART_FILE) -> str:
        """The file `part` of the table (partition), relative to the root; `part-0.parquet`
        unless the table is appended to, one file per addition (see `appended_part`)."""
        folder = table
        if event_id is not None:
            if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id <= 0:
                raise ValueError(f"event_id must be a positive integer, got {event_id!r}")
            folder = f"{table}/{PARTITION_COLUMN}={event_id}"
        if "/" in part or not part.endswith(".parquet") or part.startswith((".", "_")):
            raise ValueError(f"part must be a visible *.parquet file name, got {part!r}")
        return f"{folder}/{part}"

    def path(self, table: str, event_id: int | None = None, part: str = PART_FILE) -> str:
        """Where that file is, for a reader: a local path or an object URL."""
        return self.storage.url(self.key(table, event_id, part))

    def folder(self, table: str, event_id: int | None = None) -> str:
        return self.storage.url(self.key(table, event_id).rpartition("/")[0])

    def write(self, table: str, data: Data, event_id: int | None = None) -> str:
        """Write `data` as the table's (partition's) file, replacing the previous one whole."""
        key = self.key(table, event_id)
        self.storage.write_atomic(key, lambda handle: _write_parquet(data, handle))
        return self.storage.url(key)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Files staged in the block replace their tables together when it exits cleanly."""
        self.recover()
        transaction = Transaction(self, f"{STAGING}/{uuid.uuid4().hex}")
        try:
            yield transaction
        except BaseException:
            self.storage.remove_tree(transaction.folder)
            self.storage.remove_if_empty(STAGING)
            raise
        transaction.commit()

    def recover(self) -> None:
        """Finish commits that a crash interrupted; drop long-abandoned staging folders."""
        now = time.time()
        for folder in self.storage.folders(STAGING):
            try:
                age = self.storage.age_s(folder, now)
                if self.storage.exists(f"{folder}/{MANIFEST}"):
                    if age > ORPHANED_COMMIT_AFTER_S:
                        _publish(self.storage, folder)
                elif age > ABANDONED_AFTER_S:
                    self.storage.remove_tree(folder)
            except FileNotFoundError:
                continue  # its owner finished it meanwhile

    def commit_pending(self) -> bool:
        """Whether a commit is being published, or was cut short too lately to be finished:
        until it is, the tables it moves may be some old and some new."""
        return any(
            self.storage.exists(f"{folder}/{MANIFEST}") for folder in self.storage.folders(STAGING)
        )

    def event_lock(self, event_id: int) -> AbstractContextManager[None]:
        """Held while a run reads an event's history and publishes its snapshot, so that two
        runs of one event cannot both record the same change (local warehouses; see
        `Storage.lock` for object stores)."""
        return self.storage.lock(f"{LOCKS}/{PARTITION_COLUMN}={event_id}.lock")

    def latest_part(self, table: str, event_id: int | None = None) -> str | None:
        """The newest file of an appended table (partition): names sort by time."""
        parts = self._parts(table, event_id)
        return parts[-1] if parts else None

    def _parts(self, table: str, event_id: int | None) -> list[str]:
        return self.storage.files(self.key(table, event_id).rpartition("/")[0], ".parquet")

    def exists(self, table: str, event_id: int | None = None) -> bool:
        return bool(self._parts(table, event_id))

    def has_files(self, table: str) -> bool:
        """True once any partition of the table has a file."""
        return bool(self.storage.files(table, ".parquet")) or any(
            self.storage.files(folder, ".parquet") for folder in self.storage.folders(table)
        )

    def read_schema(self, key: str) -> pa.Schema:
        """The schema of the file at `key` (as `Transaction.stage` returns it), from its footer."""
        filesystem, base = self.storage.filesystem()
        return pq.read_schema(f"{base}/{key}", filesystem=filesystem)

    def read(
        self, table: str, event_id: int | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """The table's (partition's) rows, every appended part of it included."""
        parts = self._parts(table, event_id)
        if not parts:
            where = f" for event {event_id}" if event_id is not None else ""
            raise FileNotFoundError(
                f"table {table!r}{where} has not been materialized yet "
                f"({self.path(table, event_id)}); materialize it first"
            )
        filesystem, base = self.storage.filesystem()
        wanted = list(columns) if columns is not None else None
        return pa.concat_tables(
            pq.read_table(f"{base}/{part}", columns=wanted, filesystem=filesystem) for part in parts
        )

    def read_batches(
        self, table: str, event_id: int | None, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        """The columns of a table replaced whole (one file), batch by batch: memory holds one
        batch, never the column."""
        filesystem, base = self.storage.filesystem()
        with filesystem.open_input_file(f"{base}/{self.key(table, event_id)}") as source:
            yield from pq.ParquetFile(source).iter_batches(columns=list(columns))

    def read_rows_of(
        self, table: str, event_id: int, columns: Sequence[str], ids: pa.Array
    ) -> pa.Table:
        """The rows of every part of the table (partition) whose `image_id` is one of `ids`:
        memory holds one batch of a part beside the rows kept."""
        filesystem, base = self.storage.filesystem()
        kept: list[pa.RecordBatch] = []
        schema: pa.Schema | None = None
        for part in self._parts(table, event_id):
            with filesystem.open_input_file(f"{base}/{part}") as source:
                for batch in pq.ParquetFile(source).iter_batches(columns=list(columns)):
                    schema = batch.schema
                    kept.append(batch.filter(pc.is_in(batch.column("image_id"), value_set=ids)))
        if schema is None:
            raise FileNotFoundError(f"table {table!r} for event {event_id} has no file")
        return pa.Table.from_batches(kept, schema)

    def read_all(self, table: str, schema: pa.Schema) -> pa.Table:
        """Every partition of a table partitioned by event, `event_id` (from the path) first;
        an empty table of `schema` and `event_id` before any file exists."""
        with_key = pa.schema([pa.field(PARTITION_COLUMN, pa.int64(), nullable=False), *schema])
        if not self.has_files(table):
            return with_key.empty_table()
        filesystem, base = self.storage.filesystem()
        dataset = ds.dataset(
            f"{base}/{table}",
            schema=with_key,
            format="parquet",
            filesystem=filesystem,
            partitioning=ds.partitioning(
                pa.schema([with_key.field(PARTITION_COLUMN)]), flavor="hive"
            ),
        )
        return dataset.to_table()

    def row_count(self, table: str, event_id: int | None = None) -> int:
        """Rows in every part of the table (partition), from the files' footers alone."""
        filesystem, base = self.storage.filesystem()
        return sum(
            pq.read_metadata(filesystem.open_input_file(f"{base}/{part}")).num_rows
            for part in self._parts(table, event_id)
        )

    def write_text(self, name: str, text: str) -> str:
        """A small text file at the root (the BI SQL files), replaced whole."""
        self.storage.write_atomic(name, lambda handle: handle.write(text.encode()))
        return self.storage.url(name)


def appended_part(at: datetime, run_id: str) -> str:
    """The file name of one addition to an appended table: sorts by time, unique per run."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"part-{stamp}-{run_id[:8] or 'local'}.parquet"


class Transaction:
    """Files staged for one commit; see `Warehouse.transaction`."""

    def __init__(self, warehouse: Warehouse, folder: str) -> None:
        self.warehouse = warehouse
        self.folder = folder
        self._moves: list[tuple[str, str]] = []

    def stage(
        self, table: str, data: Data, event_id: int | None = None, part: str = PART_FILE
    ) -> str:
        """Write `data` whole to staging; returns the staged file's key, readable until commit
        (`Warehouse.read_schema`)."""
        target = self.warehouse.key(table, event_id, part)
        staged = f"{self.folder}/{target}{STAGED_SUFFIX}"
        self.warehouse.storage.write(staged, lambda handle: _write_parquet(data, handle))
        self._moves.append((staged, target))
        return staged

    def commit(self) -> None:
        # Keys relative to the root: a warehouse moved or mounted elsewhere still recovers.
        manifest = json.dumps([[staged, target] for staged, target in self._moves])
        storage = self.warehouse.storage
        storage.write_atomic(f"{self.folder}/{MANIFEST}", lambda h: h.write(manifest.encode()))
        _publish(storage, self.folder)


def _publish(storage: Storage, folder: str) -> None:
    """Move every staged file of a committed folder into place, then drop the folder.

    Safe to repeat: a file already moved is skipped, so a commit cut short is finished by
    running this again.
    """
    for staged, target in json.loads(storage.read_bytes(f"{folder}/{MANIFEST}")):
        if storage.exists(staged) and not _superseded(storage, staged, target):
            with contextlib.suppress(FileNotFoundError):  # moved already by a recovery
                storage.replace(staged, target)
    storage.remove_tree(folder)
    storage.remove_if_empty(STAGING)


def _superseded(storage: Storage, staged: str, target: str) -> bool:
    """True when a commit after this one already replaced the target: a crashed run's files,
    rolled forward late, must not bring back older tables."""
    try:
        return storage.mtime(target) > storage.mtime(staged)
    except FileNotFoundError:
        return False


def dictionary_columns(sample: pa.Table | pa.RecordBatch) -> list[str]:
    """The columns worth a dictionary: those whose values repeat in `sample`, the first rows of
    a table's first row group.

    A column of distinct values (ids, ranks, URLs) only grows a dictionary until Parquet falls
    back to plain encoding, and the writer holds that column's pages of the row group until
    then: 30-50 MB more than plain encoding for a row group of 128k rows (measured before groups
    were cut at 16 MiB), for a file no smaller.
    """
    return [
        field.name
        for field, column in zip(sample.schema, sample.columns, strict=True)
        if pa.types.is_null(field.type)
        or pc.count_distinct(column, mode="all").as_py() <= sample.num_rows // 2
    ]


def group_rows(pending: Sequence[pa.RecordBatch]) -> int:
    """Rows from the start of `pending` that hold about `ROW_GROUP_BYTES`, each batch counted at
    its own bytes a row (wide rows before narrow ones must not stretch the group), within
    `MIN_GROUP_ROWS` and `MAX_GROUP_ROWS`."""
    rows, room = 0, ROW_GROUP_BYTES
    for batch in pending:
        if batch.nbytes >= room:
            rows += room * batch.num_rows // batch.nbytes
            break
        rows, room = rows + batch.num_rows, room - batch.nbytes
    return max(MIN_GROUP_ROWS, min(MAX_GROUP_ROWS, rows))


def _write_parquet(data: Data, handle: BinaryIO) -> None:
    batches = data.to_batches() if isinstance(data, pa.Table) else data.batches()
    _write_groups(data.schema, batches, handle)


def _write_groups(schema: pa.Schema, batches: Iterable[pa.RecordBatch], handle: BinaryIO) -> None:
    """Row groups from batches of any size, cut when `ROW_GROUP_BYTES` are pending (and at
    least `MIN_GROUP_ROWS`): memory holds at most one row group and one batch. The writer opens
    at the first row group, whose rows decide the dictionaries, whole table or stream alike."""
    with contextlib.ExitStack() as stack:
        writer: pq.ParquetWriter | None = None
        pending: list[pa.RecordBatch] = []
        rows = pending_bytes = 0
        for batch in batches:
            if not batch.num_rows:
                continue
            pending.append(batch)
            rows, pending_bytes = rows + batch.num_rows, pending_bytes + batch.nbytes
            while (
                pending_bytes >= ROW_GROUP_BYTES and rows >= MIN_GROUP_ROWS
            ) or rows >= MAX_GROUP_ROWS:
                cut = group_rows(pending)
                group = pa.Table.from_batches(pending, schema)
                head, rest = group.slice(0, cut), group.slice(cut)
                if writer is None:
                    writer = stack.enter_context(_batch_writer(handle, schema, head))
                writer.write_table(head, cut)
                pending, rows, pending_bytes = rest.to_batches(), rest.num_rows, rest.nbytes
        last = pa.Table.from_batches(pending, schema)
        if writer is None:
            writer = stack.enter_context(_batch_writer(handle, schema, last))
        if rows:
            writer.write_table(last, rows)


def _batch_writer(handle: BinaryIO, schema: pa.Schema, first: pa.Table) -> pq.ParquetWriter:
    sample = first.slice(0, DICTIONARY_SAMPLE_ROWS)
    return pq.ParquetWriter(
        handle, schema, use_dictionary=dictionary_columns(sample), **PARQUET_OPTIONS
    )
