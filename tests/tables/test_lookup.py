"""`rows_in_order` against Arrow's own `index_in`, over the edits a gallery sees between nights."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ninepic_pipeline.tables.lookup import BLOCK, WINDOW, rows_in_order


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
