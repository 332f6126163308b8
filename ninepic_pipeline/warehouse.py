"""The Parquet warehouse on disk: Hive layout, one file per table partition, replaced atomically.

`{root}/{table}/event_id={id}/part-0.parquet` for tables partitioned by event,
`{root}/{table}/part-0.parquet` for the others. The partition column lives in the path only, as
Hive-partitioned readers expect. A file is written under a hidden temporary name in the same
folder and renamed over the old one, so a reader sees the old file or the new one, never half of
either, and a failed write leaves the old file as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
PARTITION_COLUMN = "event_id"
# Hidden (leading dot) and not ending in .parquet: neither globs like `*/*.parquet` nor
# pyarrow/Spark dataset discovery pick a temporary file up.
_TMP_PREFIX = ".tmp-"
ROW_GROUP_SIZE = 128 * 1024


class Warehouse:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()

    def path(self, table: str, event_id: int | None = None) -> Path:
        folder = self.root / table
        if event_id is not None:
            if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id <= 0:
                raise ValueError(f"event_id must be a positive integer, got {event_id!r}")
            folder = folder / f"{PARTITION_COLUMN}={event_id}"
        return folder / PART_FILE

    def write(self, table: str, data: pa.Table, event_id: int | None = None) -> Path:
        """Write `data` as the table's (partition's) file, replacing the previous one whole."""
        target = self.path(table, event_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}.{PART_FILE}.incomplete"
        try:
            with open(tmp, "wb") as handle:
                pq.write_table(
                    data,
                    handle,
                    compression="zstd",
                    row_group_size=ROW_GROUP_SIZE,
                    write_statistics=True,
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return target

    def read(
        self, table: str, event_id: int | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table:
        path = self.path(table, event_id)
        if not path.exists():
            where = f" for event {event_id}" if event_id is not None else ""
            raise FileNotFoundError(
                f"table {table!r}{where} has not been materialized yet ({path}); "
                "materialize it first"
            )
        return pq.read_table(path, columns=list(columns) if columns is not None else None)


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
