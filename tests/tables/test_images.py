"""The `images` table's derived columns and the schema every file is written with."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from ninepic_pipeline.api.models import Gallery, PageRead, Pagination
from ninepic_pipeline.api.records import PhotoColumns
from ninepic_pipeline.tables import TABLE_SCHEMAS, conform, images_table

T1 = datetime(2026, 12, 3, 2, 0, 1, tzinfo=UTC)
T2 = datetime(2026, 12, 3, 2, 0, 2, tzinfo=UTC)


def _gallery() -> Gallery:
    """Four photos over two pages, gathered the way a read gathers them."""
    pagination = Pagination(4, 1, 2, True, False, 2)
    items = [
        {"image_id": "a", "width": 3000, "height": 4000, "img_url": "u/a", "thumbnail_url": "t/a"},
        {"image_id": "b", "width": 4000, "height": 3000, "img_url": "u/b", "thumbnail_url": "t/b"},
        {"image_id": "c", "width": 5000, "height": 5000, "img_url": None, "thumbnail_url": "t/c"},
        {"image_id": "d", "width": None, "height": 100, "img_url": "u/d", "thumbnail_url": "t/d"},
    ]
    # Two photos per chunk: the URLs come back from the spool in more than one batch.
    columns = PhotoColumns(chunk_rows=2)
    columns.add(items[:2], ["a", "b"], 1)
    columns.add(items[2:], ["c", "d"], 2)
    photos = columns.table()
    columns.urls.finish()
    return Gallery(
        org_id=903,
        event_id=1,
        photos=photos,
        urls=columns.urls,
        pages=[PageRead(1, pagination, 2, 2, T1), PageRead(2, pagination, 2, 2, T2)],
    )


def test_derived_columns():
    rows = images_table(_gallery()).to_pylist()
    assert [r["capture_rank"] for r in rows] == [1, 2, 3, 4]
    assert [r["megapixels"] for r in rows] == [12.0, 12.0, 25.0, None]
    assert rows[0]["aspect_ratio"] == pytest.approx(0.75)
    assert rows[3]["aspect_ratio"] is None
    assert [r["orientation"] for r in rows] == ["portrait", "landscape", "square", None]
    assert [r["fetched_at"] for r in rows] == [T1, T1, T2, T2]
    assert [r["img_url"] for r in rows] == ["u/a", "u/b", None, "u/d"]
    assert [r["thumbnail_url"] for r in rows] == ["t/a", "t/b", "t/c", "t/d"]
    assert [r["original_url"] for r in rows] == [None] * 4


def test_empty_gallery_keeps_the_declared_types():
    table = images_table(Gallery(org_id=903, event_id=1))
    assert table.num_rows == 0
    assert table.schema == TABLE_SCHEMAS["images"]


def test_conform_casts_all_null_columns_to_declared_types():
    schema = TABLE_SCHEMAS["images"]
    raw = pa.table({name: pa.nulls(0) for name in schema.names})
    assert conform(raw, schema).schema == schema


def test_conform_names_a_missing_column():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['fetched_at'\]"):
        conform(images_table(_gallery()).drop(["fetched_at"]), TABLE_SCHEMAS["images"])


def test_conform_refuses_nulls_in_a_required_column():
    table = images_table(_gallery())
    broken = table.set_column(0, "image_id", pa.array(["a", None, "c", "d"]))
    with pytest.raises(ValueError, match="'image_id' has nulls"):
        conform(broken, TABLE_SCHEMAS["images"])


@pytest.mark.parametrize("table", sorted(TABLE_SCHEMAS))
def test_declared_schemas_hold_only_types_every_reader_takes(table):
    for field in TABLE_SCHEMAS[table]:
        assert not pa.types.is_null(field.type)
        assert not pa.types.is_unsigned_integer(field.type)
        if pa.types.is_timestamp(field.type):
            assert field.type.unit == "us"
        if pa.types.is_integer(field.type):
            assert field.type == pa.int64()


def test_a_read_at_the_largest_sides_keeps_its_sizes_whole():
    # Sides at the API's largest: their products overflow 32 bits, however the read holds them.
    from ninepic_pipeline.api.models import MAX_SIDE_PX
    from ninepic_pipeline.tables import image_size_stats
    from ninepic_pipeline.tables.images import images_held, with_size_columns

    side = MAX_SIDE_PX
    items = [
        {"image_id": "w", "width": side, "height": side - 1},
        {"image_id": "t", "width": side - 1, "height": side},
        {"image_id": "w2", "width": side, "height": side - 1},
    ]
    columns = PhotoColumns()
    columns.add(items, ["w", "t", "w2"], 1)
    photos = columns.table()
    columns.urls.finish()
    pagination = Pagination(3, 1, 1, False, False, 3)
    gallery = Gallery(
        org_id=903,
        event_id=1,
        photos=photos,
        urls=columns.urls,
        pages=[PageRead(1, pagination, 3, 3, T1)],
    )
    table = images_table(gallery)
    assert table.schema == TABLE_SCHEMAS["images"]
    assert table.column("megapixels").to_pylist() == [
        side * (side - 1) / 1e6,
        (side - 1) * side / 1e6,
        side * (side - 1) / 1e6,
    ]
    stats = image_size_stats(with_size_columns(images_held(gallery)), T1).iloc[0]
    assert stats["top_resolution"] == f"{side}x{side - 1}"
    assert stats["distinct_resolutions"] == 2
    assert (stats["width_max"], stats["height_max"]) == (side, side)
    assert stats["width_mean"] == (3 * side - 1) / 3


def test_a_gallery_table_keeps_the_declared_types():
    assert images_table(_gallery()).schema == TABLE_SCHEMAS["images"]


@pytest.mark.parametrize("extra", [-1, 0, 1, 2])
def test_size_columns_row_for_row_across_a_window_edge(extra):
    # Held as a read holds them (32-bit sides), a window of rows and a few more or less: each
    # row's derived columns as the rule, written out here, gives them.
    from ninepic_pipeline.tables.images import DERIVE_WINDOW_ROWS, with_size_columns
    from tests.tables.frames import orientation_of

    n = DERIVE_WINDOW_ROWS + extra
    sides = [(1 + i % 7, 1 + i % 5) if i % 11 else (None, 1 + i % 5) for i in range(n)]
    table = pa.table(
        {
            "width": pa.array([w for w, _ in sides], pa.int32()),
            "height": pa.array([h for _, h in sides], pa.int32()),
        }
    )
    derived = with_size_columns(table)
    assert derived.column("megapixels").to_pylist() == [
        None if w is None else w * h / 1e6 for w, h in sides
    ]
    assert derived.column("aspect_ratio").to_pylist() == [
        None if w is None else w / h for w, h in sides
    ]
    assert derived.column("orientation").to_pylist() == [orientation_of(w, h) for w, h in sides]
