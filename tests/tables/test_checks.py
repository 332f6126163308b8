"""The asset checks' counts, against values counted by hand."""

import pyarrow as pa

from ninepic_pipeline.tables.checks import check_image_ids


def test_image_ids_counts_missing_and_repeated_ids() -> None:
    # Missing: None, "" and " " (3). Repeated: the second "a" and the second and third "b" (3).
    ids = ["a", "", " ", "a", None, "b", "b", "b", "\tc"]
    outcome = check_image_ids(pa.table({"image_id": pa.array(ids, pa.string())}))
    assert not outcome.passed
    assert outcome.metadata == {"missing": 3, "duplicates": 3}


def test_image_ids_pass_when_every_id_is_present_and_unique() -> None:
    outcome = check_image_ids(pa.table({"image_id": pa.array(["x", " y", "z "], pa.string())}))
    assert outcome.passed
    assert outcome.metadata == {"missing": 0, "duplicates": 0}
