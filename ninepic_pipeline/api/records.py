"""Photo records of a page, parsed defensively and turned into one Arrow batch as they arrive.

A gallery of a million photos must not be a million dicts: each page's records become columns
at once, and only the columns are kept. The common case (every field of the documented type)
goes through list comprehensions; anything odd falls back to the field-by-field parsers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api.errors import NinepicResponseError, RequestScope
from ninepic_pipeline.api.models import (
    MAX_SIDE_PX,
    PHOTO_SCHEMA,
    URL_SCHEMA,
    optional_str,
    pixels,
)
from ninepic_pipeline.api.spool import UrlSpool

_NONE = type(None)


def image_ids(items: list[Any], scope: RequestScope) -> list[str]:
    """Each photo's id as an opaque string: the docs call it a UUID but their example is not."""
    try:
        ids = [item.get("image_id") for item in items]
    except AttributeError:  # an item that is not an object
        ids = [item.get("image_id") if isinstance(item, dict) else None for item in items]
    # map/all run in C: this check costs a fraction of a per-item Python test.
    if set(map(type, ids)) <= {str} and all(map(str.strip, ids)):
        return ids
    return [_image_id(raw, scope) for raw in ids]


def _image_id(raw: Any, scope: RequestScope) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw
    raise NinepicResponseError(
        f"9pic API on {scope.describe()} sent a photo without an image_id; the photo cannot "
        "be tracked: report it to 9pic with the event id",
        scope,
    )


def _sides(items: list[dict[str, Any]], key: str) -> list[int | None]:
    """Pixel sides; None where absent, not an integer, or not a real size."""
    values = [item.get(key) for item in items]
    kinds = set(map(type, values))
    if kinds <= {int}:
        known = values
    elif kinds <= {int, _NONE}:
        known = [v for v in values if v is not None]
    else:
        return [pixels(v) for v in values]
    if not known or (min(known) > 0 and max(known) <= MAX_SIDE_PX):
        return values
    return [pixels(v) for v in values]


def _texts(items: list[dict[str, Any]], key: str) -> list[str | None]:
    values = [item.get(key) for item in items]
    if set(map(type, values)) <= {str, _NONE}:
        return values
    return [optional_str(v) for v in values]


class PhotoColumns:
    """A read's photos, gathered page by page into Arrow batches of `chunk_rows`.

    Pages are buffered as plain lists and converted a chunk at a time: one Arrow conversion per
    few thousand photos costs far less than one per page, and the lists never hold more than a
    chunk. The small columns stay in memory; the URLs go to a `UrlSpool`.
    """

    def __init__(self, chunk_rows: int = 16_384) -> None:
        self.chunk_rows = chunk_rows
        self.urls = UrlSpool()
        self._batches: list[pa.RecordBatch] = []
        self._lists: dict[str, list[Any]] = _empty_lists()

    def add(self, items: list[Any], ids: list[str], page: int) -> None:
        """Add a page's photos; `ids` from `image_ids` (so every item is a dict)."""
        lists = self._lists
        lists["image_id"].extend(ids)
        lists["page"].extend([page] * len(ids))
        lists["width"].extend(_sides(items, "width"))
        lists["height"].extend(_sides(items, "height"))
        for key in URL_SCHEMA.names:
            lists[key].extend(_texts(items, key))
        if len(lists["image_id"]) >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        if self._lists["image_id"]:
            lists = self._lists
            self._batches.append(_batch(lists, PHOTO_SCHEMA))
            self.urls.append(_batch(lists, URL_SCHEMA))
            self._lists = _empty_lists()

    def table(self) -> pa.Table:
        """Every photo's small columns (`PHOTO_SCHEMA`); the URLs are in `urls`."""
        self._flush()
        table = pa.Table.from_batches(self._batches, PHOTO_SCHEMA)
        self._batches = []
        # The ids in one piece: the dedupe and the checks sort them and `take` them in sorted
        # order, which concatenates a chunked column; one copy here spares each of them a copy
        # of its own (40 MB at 1M).
        ids = table.column("image_id").combine_chunks()
        return table.set_column(_ID_COLUMN, PHOTO_SCHEMA.field(_ID_COLUMN), pa.chunked_array([ids]))


_ID_COLUMN = PHOTO_SCHEMA.get_field_index("image_id")


def _empty_lists() -> dict[str, list[Any]]:
    return {name: [] for name in (*PHOTO_SCHEMA.names, *URL_SCHEMA.names)}


def _batch(lists: dict[str, list[Any]], schema: pa.Schema) -> pa.RecordBatch:
    return pa.record_batch([pa.array(lists[f.name], f.type) for f in schema], schema=schema)


# Sorted neighbours are compared this many at a time, so that the ids taken in sorted order are
# a few megabytes at once, never a second copy of the column.
_COMPARED_ROWS = 65_536


def repeated_rows(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per row, whether an earlier row holds the same id; nulls never repeat.

    A stable sort and a comparison of neighbours: 9 bytes a row beyond one contiguous copy of
    a chunked column, and a third of the CPU of hashing, where `unique` or `dictionary_encode`
    of a million ids costs over 100 MB.
    """
    if isinstance(ids, pa.ChunkedArray):
        # `take` from a chunked array concatenates its chunks on every call: once is enough,
        # and not at all for one chunk (a read's ids, see `PhotoColumns.table`).
        ids = ids.chunk(0) if ids.num_chunks == 1 else ids.combine_chunks()
    order = pc.sort_indices(ids)  # stable: equal ids stay in row order, the first one first
    rows = len(order)
    same_as_previous = np.zeros(rows, dtype=bool)
    for start in range(1, rows, _COMPARED_ROWS):
        stop = min(start + _COMPARED_ROWS, rows)
        pair = pc.take(ids, order.slice(start - 1, stop - start + 1))
        equal = pc.equal(pair.slice(1), pair.slice(0, len(pair) - 1))
        same_as_previous[start:stop] = pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
    repeated = np.zeros(rows, dtype=bool)
    repeated[order.to_numpy()[same_as_previous]] = True
    return repeated


def first_occurrence_rows(ids: pa.ChunkedArray) -> np.ndarray | None:
    """Sorted row numbers of each image_id's first occurrence; None when none repeats."""
    repeated = repeated_rows(ids)
    return np.flatnonzero(~repeated) if repeated.any() else None


def photos_per_page(photos: pa.Table) -> dict[int, int]:
    counts = pc.value_counts(photos.column("page"))
    return {item["values"].as_py(): item["counts"].as_py() for item in counts}
