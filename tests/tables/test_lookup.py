"""`rows_in_order` against Arrow's own `index_in`, over the edits a gallery sees between nights."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ninepic_pipeline.tables.lookup import BLOCK, WINDOW, rows_in_order, sharing_read_ids


def _ids(numbers: np.ndarray) -> list[str]:
    return [f"photo-{n}" for n in numbers]


def _chunked(ids: list[str], pieces: int = 3) -> pa.ChunkedArray:
    # Chunk edges unlike the blocks', as files read back in row groups have them.
    cuts = np.linspace(0, len(ids), pieces + 1).astype(int)
    return pa.chunked_array([pa.array(ids[a:b], pa.string()) for a, b in itertools.pairwise(cuts)])


def _expected(ids: list[str], recorded: list[str]) -> list[int | None]:
    row = {image_id: i for i, image_id in enumerate(recorded)}
    return [row.get(image_id) for image_id in ids]


def _edited(recorded: np.ndarray, rng: np.random.Generator, edits: str) -> np.ndarray:
    current = recorded.copy()
    n = len(current)
    if "scatter" in edits:  # a few uploads and deletions all through the gallery
        current = np.delete(current, rng.choice(n, size=n // 50, replace=False))
        spots = rng.choice(len(current), size=n // 40)
        current = np.insert(current, np.sort(spots), np.arange(10**6, 10**6 + len(spots)))
    if "long-run" in edits:  # a photographer's card removed, then another uploaded
        cut = rng.integers(0, n // 2)
        current = np.concatenate([current[:cut], current[cut + 3 * WINDOW :]])
        at = rng.integers(0, len(current))
        new = np.arange(2 * 10**6, 2 * 10**6 + 2 * BLOCK + 17)
        current = np.concatenate([current[:at], new, current[at:]])
    if "moved" in edits:  # photos whose capture time changed, far from their old place
        moved = rng.choice(len(current), size=25, replace=False)
        keep = np.delete(current, moved)
        current = np.insert(keep, rng.choice(len(keep), size=25), current[moved])
    if "end" in edits:  # uploads after the last night's end
        current = np.concatenate([current, np.arange(3 * 10**6, 3 * 10**6 + 999)])
    return current


@pytest.mark.parametrize(
    "edits", ["none", "end", "scatter", "long-run", "moved", "scatter long-run moved end"]
)
@pytest.mark.parametrize("seed", [1, 2])
def test_rows_are_those_a_lookup_by_id_gives(edits: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    recorded = np.arange(5 * BLOCK + 123)
    current = _edited(recorded, rng, edits)
    ids, old = _ids(current), _ids(recorded)
    rows = rows_in_order(_chunked(ids), _chunked(old, 4))
    assert rows.to_pylist() == _expected(ids, old)
    # The oracle agrees with Arrow's own lookup.
    assert rows.to_pylist() == pc.index_in(pa.array(ids), value_set=pa.array(old)).to_pylist()


def test_a_shuffled_gallery_and_empty_sides_are_still_found() -> None:
    rng = np.random.default_rng(7)
    old = _ids(np.arange(3 * BLOCK))
    shuffled = [*rng.permutation(old), "new-1"]
    assert rows_in_order(_chunked(shuffled), _chunked(old)).to_pylist() == _expected(shuffled, old)
    # A gallery whose photos are all new, and one half shuffled: looked up whole, or block by
    # block with the rest hashed.
    new = _ids(np.arange(10**6, 10**6 + 3 * BLOCK))
    assert rows_in_order(_chunked(new), _chunked(old)).to_pylist() == [None] * len(new)
    half = old[: len(old) // 2] + list(rng.permutation(old[len(old) // 2 :]))
    assert rows_in_order(_chunked(half), _chunked(old)).to_pylist() == _expected(half, old)
    empty = pa.chunked_array([], pa.string())
    assert rows_in_order(empty, _chunked(old)).to_pylist() == []
    assert rows_in_order(_chunked(old[:5]), empty).to_pylist() == [None] * 5


def _owned_rows(column: pa.ChunkedArray, ids: pa.Array) -> int:
    """Rows of `column` held in buffers of their own, not in those of `ids`."""
    data = ids.buffers()[2]
    low, high = data.address, data.address + data.size

    def shares(chunk: pa.Array) -> bool:
        buffer = chunk.buffers()[2]
        return buffer is not None and low <= buffer.address < high

    return sum(len(chunk) for chunk in column.chunks if not shares(chunk))


@pytest.mark.parametrize("edits", ["none", "end", "scatter", "long-run", "moved"])
def test_recorded_ids_are_held_once_as_far_as_the_read_repeats_them(edits: str) -> None:
    rng = np.random.default_rng(3)
    recorded = np.arange(5 * BLOCK + 123)
    current = _ids(_edited(recorded, rng, edits))
    old = _ids(recorded)
    ids = pa.array(current, pa.string())
    # Batches as a Parquet file gives them, edges unlike the read's.
    batches = _chunked(old, 7).chunks
    column = sharing_read_ids(batches, ids)
    assert column.to_pylist() == old
    # Counted apart: how far the two lists agree from their start.
    same = next(
        (i for i, (a, b) in enumerate(zip(old, current, strict=False)) if a != b),
        min(len(old), len(current)),
    )
    assert _owned_rows(column, ids) == len(old) - same
    if edits in ("none", "end"):
        assert _owned_rows(column, ids) == 0


def test_recorded_ids_longer_than_the_read_or_with_nothing_in_common() -> None:
    old = _ids(np.arange(BLOCK))
    ids = pa.array(old[:10], pa.string())
    column = sharing_read_ids(_chunked(old, 3).chunks, ids)
    assert column.to_pylist() == old
    assert _owned_rows(column, ids) == len(old) - 10
    other = pa.array(_ids(np.arange(10**6, 10**6 + 50)), pa.string())
    assert sharing_read_ids(_chunked(old, 3).chunks, other).to_pylist() == old
    assert sharing_read_ids([], ids).to_pylist() == []


def test_a_null_id_never_counts_as_agreeing() -> None:
    # Ids are never null today (the client refuses a photo without one); were one null, the
    # recorded id must still be the file's, not the read's null.
    old = ["a", "b", "c", "d"]
    assert sharing_read_ids([pa.array(old)], pa.array(["a", None, "c", "d"])).to_pylist() == old
    assert sharing_read_ids([pa.array(old)], pa.array([None] * 4, pa.string())).to_pylist() == old
