"""docs/tables.md is the contract: it must be exactly what the schemas say."""

from __future__ import annotations

from pathlib import Path

from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.tables.contract import TABLE_DOCS, render_contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_the_document_matches_the_schemas():
    assert DOC.read_text() == render_contract(), (
        "docs/tables.md is stale: python -m ninepic_pipeline.tables.contract > docs/tables.md"
    )


def test_every_table_and_column_is_documented():
    assert set(TABLE_DOCS) == set(TABLE_SCHEMAS)
    for name, schema in TABLE_SCHEMAS.items():
        for field in schema:
            assert (field.metadata or {}).get(b"description"), f"{name}.{field.name}"
            assert f"| `{field.name}` | {field.type} |" in DOC.read_text()


def test_a_changed_column_changes_the_contract():
    import pyarrow as pa

    from ninepic_pipeline.tables import contract

    original = TABLE_SCHEMAS["images"]
    try:
        TABLE_SCHEMAS["images"] = original.set(
            original.get_field_index("width"), pa.field("width", pa.int32())
        )
        assert contract.render_contract() != DOC.read_text()
    finally:
        TABLE_SCHEMAS["images"] = original
