"""Finding a gallery's photos in the one recorded before it, in little memory.

`pc.index_in` hashes its whole value set: at a million ids that is about 100 MB at once, held
beside both galleries. But a gallery read again is mostly the same photos in the same capture
order, so most ids are found by comparing them with the recorded ids where they ought to be; the
few out of step are hashed a block, or a remainder, at a time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Ids compared in one step, and how far around its expected place a block out of step is
# looked for: a few thousand insertions or removals within a block keep it found.
BLOCK = 4096
WINDOW = 4096


def rows_in_order(ids: pa.ChunkedArray, recorded: pa.ChunkedArray) -> pa.Array:
    """For each id, its row in `recorded`, null where `recorded` lacks it: what
    `pc.index_in(ids, value_set=recorded)` gives when `recorded`'s ids are unique, at the cost
    of the ids' disorder rather than of their number."""
    rows = np.full(len(ids), -1, dtype=np.int64)
    shift = 0  # recorded row minus position, as the last id found had it
    for start in range(0, len(ids), BLOCK):
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
        else:
            # Nothing near: a long run removed or added. Anchor on the block's last id, if the
            # recorded ids hold it anywhere, so that the blocks after it are in step again.
            last = pc.index(recorded, block[-1]).as_py() if block[-1].is_valid else -1
            if last >= 0:
                rows[start + len(block) - 1] = last
                shift = last - (start + len(block) - 1)
    _find_the_rest(ids, recorded, rows)
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


def _find_the_rest(ids: pa.ChunkedArray, recorded: pa.ChunkedArray, rows: np.ndarray) -> None:
    """Look the ids not found yet up among all the recorded ones: hashing those few ids and
    scanning the recorded, not hashing the recorded."""
    missing = np.flatnonzero(rows < 0)
    if not missing.size or not len(recorded):
        return
    wanted = ids.take(missing)
    unique = pc.unique(wanted)
    where = pc.index_in(recorded, value_set=unique)
    hit = pc.is_valid(where).to_numpy(zero_copy_only=False)
    # The first recorded row holding each wanted id, as `index_in` would give it.
    matched, first = np.unique(pc.filter(where, hit).to_numpy(), return_index=True)
    unique_rows = np.full(len(unique), -1, dtype=np.int64)
    unique_rows[matched] = np.flatnonzero(hit)[first]
    rows[missing] = unique_rows[pc.index_in(wanted, value_set=unique).to_numpy()]
