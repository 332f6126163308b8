"""Finding a gallery's photos in the one recorded before it, in little memory.

`pc.index_in` hashes its whole value set: at a million ids that is about 100 MB at once, held
beside both galleries. But a gallery read again is mostly the same photos in the same capture
order, so most ids are found by comparing them with the recorded ids where they ought to be; the
few out of step are hashed a block, or a remainder, at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Ids compared in one step, and how far around its expected place a block out of step is
# looked for: a few thousand insertions or removals within a block keep it found.
BLOCK = 4096
WINDOW = 4096


def rows_in_order(ids: pa.ChunkedArray, recorded: pa.ChunkedArray) -> pa.Array:
    """For each id, its row in `recorded`, null where `recorded` lacks it: what
    `pc.index_in(ids, value_set=recorded)` gives, for `ids` and `recorded` each without a
    repeated id (a read's photos, published images). Its memory grows with the ids out of
    step; when most are (a gallery replaced), it is that plain lookup."""
    # int32, as `index_in` gives: a string array's offsets are int32, so are its rows.
    rows = np.full(len(ids), -1, dtype=np.int32)
    # Where each block's last id is recorded, found in one scan: a block with nothing near its
    # place (a long run removed or added) re-anchors there, and the blocks after are in step.
    ends = np.minimum(np.arange(BLOCK, len(ids) + BLOCK, BLOCK), len(ids)) - 1
    anchors = first_rows(recorded, ids.take(ends))
    shift = 0  # recorded row minus position, as the last id found had it
    for index, start in enumerate(range(0, len(ids), BLOCK)):
        block = ids.slice(start, BLOCK)
        here = start + shift
        if _same(block, recorded, here):
            rows[start : start + len(block)] = np.arange(here, here + len(block))
            continue
        found = _rows_near(block, recorded, here)
        hits = np.flatnonzero(found >= 0)
        rows[start + hits] = found[hits]
        if hits.size:
            shift = int(found[hits[-1]] - (start + hits[-1]))
        elif anchors[index] >= 0:
            rows[ends[index]] = anchors[index]
            shift = int(anchors[index] - ends[index])
    missing = np.flatnonzero(rows < 0)
    if missing.size > len(ids) // 2:
        return pc.index_in(ids, value_set=recorded).combine_chunks()
    if missing.size and len(recorded):
        rows[missing] = first_rows(recorded, ids.take(missing))
    return pa.array(rows, mask=rows < 0)


def _same(block: pa.ChunkedArray, recorded: pa.ChunkedArray, at: int) -> bool:
    if at < 0 or at + len(block) > len(recorded):
        return False
    equal = pc.equal(block, recorded.slice(at, len(block)))
    return pc.all(equal, skip_nulls=False).as_py() is True


def _rows_near(block: pa.ChunkedArray, recorded: pa.ChunkedArray, at: int) -> np.ndarray:
    """Each id's row among the recorded ones around `at`, -1 where none is."""
    low = min(max(0, at - WINDOW), len(recorded))
    high = max(low, min(len(recorded), at + len(block) + WINDOW))
    found = pc.index_in(block, value_set=recorded.slice(low, high - low))
    return pc.fill_null(pc.add(found, low), -1).to_numpy()


def first_rows(recorded: pa.ChunkedArray, wanted: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For each wanted id (none repeated), the first recorded row holding it, -1 where none
    does: the wanted ids are hashed and the recorded scanned, not the recorded hashed."""
    if isinstance(wanted, pa.ChunkedArray):
        wanted = wanted.combine_chunks()
    where = pc.index_in(recorded, value_set=wanted)
    hit = pc.is_valid(where).to_numpy(zero_copy_only=False)
    matched, first = np.unique(pc.filter(where, hit).to_numpy(), return_index=True)
    rows = np.full(len(wanted), -1, dtype=np.int64)
    rows[matched] = np.flatnonzero(hit)[first]
    return rows


def sharing_read_ids(
    recorded: Iterable[pa.Array], ids: pa.Array | pa.ChunkedArray
) -> pa.ChunkedArray:
    """The recorded ids, batch by batch as a file gives them, gathered into one column whose
    stretch from the start that `ids` (the new read of the gallery) repeats is slices of `ids`:
    on a night that changed nothing, or only added photos at the end, the recorded ids take no
    memory of their own (42 MB at a million photos)."""
    if isinstance(ids, pa.ChunkedArray):  # a read's ids are one chunk (`PhotoColumns.table`)
        ids = ids.chunk(0) if ids.num_chunks == 1 else ids.combine_chunks()
    chunks: list[pa.Array] = []
    offset, sharing = 0, True
    for batch in recorded:
        if batch.type != ids.type:
            batch = batch.cast(ids.type)
        if sharing:
            same = _agreeing_rows(batch, ids, offset)
            if same:
                chunks.append(ids.slice(offset, same))
            sharing, offset = same == len(batch), offset + same
            batch = batch.slice(same)
        if len(batch):
            chunks.append(batch)
    return pa.chunked_array(chunks, ids.type)


def _agreeing_rows(batch: pa.Array, ids: pa.Array, offset: int) -> int:
    """How many rows from the start of `batch` equal the ids from `offset` on."""
    here = ids.slice(offset, len(batch))
    if not len(here):
        return 0
    # A null on either side is no agreement (ids are never null, but the file must win).
    equal = pc.fill_null(pc.equal(batch.slice(0, len(here)), here), False)
    if pc.all(equal).as_py():
        return len(here)
    return pc.index(equal, False).as_py()
