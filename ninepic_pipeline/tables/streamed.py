"""A table written batch by batch, for tables too large to hold whole in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class StreamedTable:
    """A table's schema and row count, and its rows as batches on demand.

    `batches()` starts from the first row on every call, so the table can be written, and
    written again after a failed attempt, without ever being in memory at once.
    """

    schema: pa.Schema
    num_rows: int
    batches: Callable[[], Iterator[pa.RecordBatch]]

    def head(self, rows: int) -> pa.Table:
        """The first `rows` rows, reading no further than needed."""
        taken: list[pa.RecordBatch] = []
        wanted = rows
        for batch in self.batches():
            if wanted <= 0:
                break
            taken.append(batch.slice(0, wanted))
            wanted -= taken[-1].num_rows
        return pa.Table.from_batches(taken, self.schema)

    def read_all(self) -> pa.Table:
        return pa.Table.from_batches(list(self.batches()), self.schema)
