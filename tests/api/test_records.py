"""Photo records gathered into columns: the small ones in memory, the URLs spooled aside."""

from __future__ import annotations

import random

import pyarrow as pa

from ninepic_pipeline.api.records import PhotoColumns, first_occurrence_rows, repeated_rows


def _item(image_id: str) -> dict[str, object]:
    return {
        "image_id": image_id,
        "width": 100,
        "height": 50,
        "img_url": f"large/{image_id}",
        "thumbnail_url": f"small/{image_id}",
    }


def _read(pages: list[list[str]], chunk_rows: int) -> PhotoColumns:
    columns = PhotoColumns(chunk_rows=chunk_rows)
    for number, ids in enumerate(pages, start=1):
        columns.add([_item(i) for i in ids], ids, number)
    return columns


def test_spooled_urls_come_back_row_for_row_after_repeats_are_dropped():
    # "c" and "a" are read again on later pages (a shifted listing); chunks of 2 put the
    # repeats in other spool batches than their first sighting.
    pages = [["a", "b", "c"], ["c", "d", "a"], ["e", "f"]]
    columns = _read(pages, chunk_rows=2)
    read = columns.table()
    keep = first_occurrence_rows(read.column("image_id"))
    columns.urls.finish(keep)
    photos = read.take(keep)
    urls = pa.Table.from_batches(list(columns.urls.batches()))

    assert photos.column("image_id").to_pylist() == ["a", "b", "c", "d", "e", "f"]
    assert photos.column("page").to_pylist() == [1, 1, 1, 2, 3, 3]
    assert urls.column("img_url").to_pylist() == [f"large/{i}" for i in "abcdef"]
    assert urls.column("thumbnail_url").to_pylist() == [f"small/{i}" for i in "abcdef"]
    assert urls.column("original_url").null_count == 6
    # Read again, the spool starts over from the first row.
    assert sum(b.num_rows for b in columns.urls.batches()) == 6
    columns.urls.close()


def test_no_repeats_keeps_every_row():
    columns = _read([["a", "b"], ["c"]], chunk_rows=16)
    assert first_occurrence_rows(columns.table().column("image_id")) is None
    columns.urls.finish()
    assert [b.num_rows for b in columns.urls.batches()] == [3]


def test_repeated_rows_match_a_set_of_ids_seen_so_far():
    # Over three comparison windows and several chunks, with nulls, which never repeat.
    rng = random.Random(7)
    choices = [None, *(f"id-{k}" for k in range(90_000))]
    values = [rng.choice(choices) for _ in range(150_000)]
    ids = pa.chunked_array([values[:70_000], values[70_000:]], pa.string())
    seen: set[str] = set()
    expected = []
    for value in values:
        expected.append(value is not None and value in seen)
        if value is not None:
            seen.add(value)
    assert repeated_rows(ids).tolist() == expected
    first = first_occurrence_rows(ids)
    assert first is not None
    assert first.tolist() == [row for row, again in enumerate(expected) if not again]
