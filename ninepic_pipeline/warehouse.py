"""The Parquet warehouse on disk: Hive layout, one file per table partition, replaced atomically.

`{root}/{table}/event_id={id}/part-0.parquet` for tables partitioned by event,
`{root}/{table}/part-0.parquet` for the others. The partition column lives in the path only, as
Hive-partitioned readers expect. A file is written under a hidden temporary name in the same
folder and renamed over the old one, so a reader sees the old file or the new one, never half of
either, and a failed write leaves the old file as it was.

Several tables that must change together (one event's snapshot and its statistics) go through a
`transaction`: every file is staged first under `_staging/`, and only when all are written whole
is a manifest laid down and the files renamed into place. A crash before the manifest leaves
every table as it was; a crash after it is rolled forward by the next transaction, so the tables
never stay half old and half new.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
PARTITION_COLUMN = "event_id"
# Hidden (leading dot) and not ending in .parquet: neither globs like `*/*.parquet` nor
# pyarrow/Spark dataset discovery pick a temporary file up.
_TMP_PREFIX = ".tmp-"
ROW_GROUP_SIZE = 128 * 1024
# Leading underscore: Hive-style readers (pyarrow, Spark) skip it, and no table glob reaches it.
STAGING = "_staging"
MANIFEST = "MANIFEST.json"
STAGED_SUFFIX = ".staged"
# A staging folder without a manifest this old belongs to a run that died before committing.
ABANDONED_AFTER_S = 6 * 3600
# A live commit publishes its manifest within moments; one left this long lost its owner. Other
# runs' fresher commits are theirs to finish.
ORPHANED_COMMIT_AFTER_S = 60.0


class Warehouse:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()

    def path(self, table: str, event_id: int | None = None, part: str = PART_FILE) -> Path:
        """Where the table's (partition's) file `part` lives; `part-0.parquet` unless the table
        is appended to, one file per addition (see `appended_part`)."""
        folder = self.root / table
        if event_id is not None:
            if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id <= 0:
                raise ValueError(f"event_id must be a positive integer, got {event_id!r}")
            folder = folder / f"{PARTITION_COLUMN}={event_id}"
        if part != Path(part).name or not part.endswith(".parquet") or part.startswith((".", "_")):
            raise ValueError(f"part must be a visible *.parquet file name, got {part!r}")
        return folder / part

    def write(self, table: str, data: Data, event_id: int | None = None) -> Path:
        """Write `data` as the table's (partition's) file, replacing the previous one whole."""
        target = self.path(table, event_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}.{PART_FILE}.incomplete"
        try:
            _write_parquet(data, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return target

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Files staged in the block replace their tables together when it exits cleanly."""
        self.recover()
        folder = self.root / STAGING / uuid.uuid4().hex
        _make_folder(folder)
        transaction = Transaction(self, folder)
        try:
            yield transaction
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            _remove_if_empty(folder.parent)
            raise
        transaction.commit()

    def recover(self) -> None:
        """Finish commits that a crash interrupted; drop long-abandoned staging folders."""
        staging = self.root / STAGING
        if not staging.is_dir():
            return
        for folder in staging.iterdir():
            try:
                age = time.time() - folder.stat().st_mtime
                if (folder / MANIFEST).exists():
                    if age > ORPHANED_COMMIT_AFTER_S:
                        _publish(self.root, folder)
                elif age > ABANDONED_AFTER_S:
                    shutil.rmtree(folder, ignore_errors=True)
            except FileNotFoundError:
                continue  # its owner finished it meanwhile

    def exists(self, table: str, event_id: int | None = None) -> bool:
        return any(self.path(table, event_id).parent.glob("*.parquet"))

    def has_files(self, table: str) -> bool:
        """True once any partition of the table has a file."""
        folder = self.root / table
        return any(folder.glob("*.parquet")) or any(folder.glob("*/*.parquet"))

    def read_all(self, table: str, schema: pa.Schema) -> pa.Table:
        """Every partition of a table partitioned by event, `event_id` (from the path) first;
        an empty table of `schema` and `event_id` before any file exists."""
        with_key = pa.schema([pa.field(PARTITION_COLUMN, pa.int64(), nullable=False), *schema])
        if not self.has_files(table):
            return with_key.empty_table()
        dataset = ds.dataset(
            self.root / table,
            schema=with_key,
            format="parquet",
            partitioning=ds.partitioning(
                pa.schema([with_key.field(PARTITION_COLUMN)]), flavor="hive"
            ),
        )
        return dataset.to_table()

    def row_count(self, table: str, event_id: int | None = None) -> int:
        """Rows in every part of the table (partition), from the files' footers alone."""
        parts = self.path(table, event_id).parent.glob("*.parquet")
        return sum(pq.read_metadata(part).num_rows for part in parts)

    def read(
        self, table: str, event_id: int | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """The table's (partition's) rows, every appended part of it included."""
        path = self.path(table, event_id)
        if not self.exists(table, event_id):
            where = f" for event {event_id}" if event_id is not None else ""
            raise FileNotFoundError(
                f"table {table!r}{where} has not been materialized yet ({path}); "
                "materialize it first"
            )
        parts = sorted(path.parent.glob("*.parquet"))
        wanted = list(columns) if columns is not None else None
        return pa.concat_tables(pq.read_table(part, columns=wanted) for part in parts)


def appended_part(at: datetime, run_id: str) -> str:
    """The file name of one addition to an appended table: sorts by time, unique per run."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"part-{stamp}-{run_id[:8] or 'local'}.parquet"


class Transaction:
    """Files staged for one commit; see `Warehouse.transaction`."""

    def __init__(self, warehouse: Warehouse, folder: Path) -> None:
        self.warehouse = warehouse
        self.folder = folder
        self._moves: list[tuple[Path, Path]] = []

    def stage(
        self, table: str, data: Data, event_id: int | None = None, part: str = PART_FILE
    ) -> Path:
        """Write `data` whole to staging; returns the staged file, readable until commit."""
        target = self.warehouse.path(table, event_id, part)
        staged = self.folder / target.relative_to(self.warehouse.root)
        staged = staged.with_name(staged.name + STAGED_SUFFIX)
        staged.parent.mkdir(parents=True, exist_ok=True)
        _write_parquet(data, staged)
        self._moves.append((staged, target))
        return staged

    def commit(self) -> None:
        root = self.warehouse.root
        # Relative paths: a warehouse moved or mounted elsewhere still recovers.
        manifest = [
            [str(staged.relative_to(root)), str(target.relative_to(root))]
            for staged, target in self._moves
        ]
        tmp = self.folder / (MANIFEST + ".incomplete")
        tmp.write_text(json.dumps(manifest))
        _fsync_file(tmp)
        os.replace(tmp, self.folder / MANIFEST)
        _fsync_dir(self.folder)
        _publish(root, self.folder)


def _publish(root: Path, folder: Path) -> None:
    """Rename every staged file of a committed folder into place, then drop the folder.

    Safe to repeat: a file already moved is skipped, so a commit cut short is finished by
    running this again.
    """
    for staged, target in json.loads((folder / MANIFEST).read_text()):
        staged_path, target_path = root / staged, root / target
        if staged_path.exists():
            target_path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):  # moved already by a recovery
                os.replace(staged_path, target_path)
            _fsync_dir(target_path.parent)
    shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(folder.parent)


def _make_folder(folder: Path) -> None:
    """mkdir -p that survives another transaction removing an empty `_staging` meanwhile."""
    for _ in range(5):
        try:
            folder.mkdir(parents=True)
            return
        except FileNotFoundError:
            continue
    folder.mkdir(parents=True)


def _remove_if_empty(folder: Path) -> None:
    """Leave no empty `_staging` behind for a reader listing the warehouse to wonder about."""
    with contextlib.suppress(OSError):
        folder.rmdir()


class BatchSource(Protocol):
    """A table too large to hold whole, as `tables.streamed.StreamedTable` is."""

    schema: pa.Schema

    def batches(self) -> Iterator[pa.RecordBatch]: ...


Data = pa.Table | BatchSource

PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


def _write_parquet(data: Data, path: Path) -> None:
    with open(path, "wb") as handle:
        if isinstance(data, pa.Table):
            pq.write_table(data, handle, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)
        else:
            _write_batches(data, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _write_batches(data: BatchSource, handle: BinaryIO) -> None:
    """Row groups of ROW_GROUP_SIZE from batches of any size: memory holds one row group."""
    with pq.ParquetWriter(handle, data.schema, **PARQUET_OPTIONS) as writer:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in data.batches():
            pending.append(batch)
            rows += batch.num_rows
            while rows >= ROW_GROUP_SIZE:
                group = pa.Table.from_batches(pending, data.schema)
                writer.write_table(group.slice(0, ROW_GROUP_SIZE), ROW_GROUP_SIZE)
                rest = group.slice(ROW_GROUP_SIZE)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            writer.write_table(pa.Table.from_batches(pending, data.schema), ROW_GROUP_SIZE)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable, so a crash cannot bring the old file back."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
