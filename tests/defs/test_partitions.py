"""Partition keys: only a canonical positive event id runs, and a bad one touches nothing."""

from __future__ import annotations

import dagster as dg
import pytest

from ninepic_pipeline.defs.partitions import event_id_from_key
from tests.defs.conftest import run_gallery


@pytest.mark.parametrize("key", ["456", "1", "9007199254740993"])
def test_canonical_keys_are_event_ids(key):
    assert event_id_from_key(key) == int(key)


@pytest.mark.parametrize("key", ["../x", "1.5", "-3", "abc", "0", "0456", "+4", " 4", "٤٥٦", ""])
def test_bad_keys_fail_with_what_to_use(key):
    with pytest.raises(dg.Failure, match="positive decimal integer"):
        event_id_from_key(key)


@pytest.mark.parametrize("key", ["../x", "1.5", "-3", "abc"])
def test_bad_key_run_fails_before_any_request_or_file(defs, instance, warehouse, server, key):
    result = run_gallery(defs, instance, key)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert description == (
        f"partition key {key!r} is not an event id: use the event's id as a positive decimal "
        "integer, such as 456"
    )
    assert server.request_log == []
    assert not warehouse.exists() or not any(p.is_file() for p in warehouse.rglob("*"))
