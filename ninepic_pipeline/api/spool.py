"""Where a read's URL columns wait while the read goes on: an anonymous temporary file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ninepic_pipeline.api.models import URL_SCHEMA


class UrlSpool:
    """A read's URL columns, spooled batch by batch to an anonymous temporary file.

    The URLs are most of a gallery's bytes (190 of 223 MB at a million photos) and nothing but
    the `images` file needs them, so they wait on disk rather than in memory and are read back
    one batch at a time while that file is written. The file has no name: the operating system
    drops it when it is closed or the process dies, so no run leaves one behind.
    """

    def __init__(self) -> None:
        # Owned past this call, closed by `close()` (or by the OS with the process).
        self._file: Any = tempfile.TemporaryFile(prefix="ninepic-urls-")  # noqa: SIM115
        self._writer: pa.ipc.RecordBatchStreamWriter | None = pa.ipc.new_stream(
            pa.PythonFile(self._file, mode="w"), URL_SCHEMA
        )
        self._keep: np.ndarray | None = None
        self.rows = 0

    def append(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None, "append after finish"
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def finish(self, keep: np.ndarray | None = None) -> None:
        """No more batches; `keep` (sorted row numbers) drops the rows not kept."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._keep = keep

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The kept rows in order, a batch at a time; each call starts from the beginning."""
        self.finish(self._keep)
        self._file.seek(0)
        keep, end = self._keep, 0
        for batch in pa.ipc.open_stream(pa.PythonFile(self._file, mode="r")):
            start, end = end, end + batch.num_rows
            if keep is not None:
                lo, hi = np.searchsorted(keep, [start, end])
                batch = batch.take(pa.array(keep[lo:hi] - start))
            yield batch

    @property
    def closed(self) -> bool:
        return bool(self._file.closed)

    def close(self) -> None:
        self._writer = None
        self._file.close()
