"""`event_summary` is requested by Declarative Automation when an event's tables change."""

from __future__ import annotations

import dagster as dg
import pyarrow.parquet as pq

from tests.conftest import KIDS_DASH, MARATHON, ORG
from tests.defs.conftest import run_gallery
from tests.fixtures_pipeline import materialize_summary

SUMMARY = dg.AssetKey("event_summary")


def _requested(defs, instance, cursor=None):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return result.get_num_requested(SUMMARY), result.cursor


def test_a_gallery_run_requests_the_summary_which_then_adds_up(defs, instance, warehouse, server):
    requested, cursor = _requested(defs, instance)
    assert requested == 0  # nothing has changed yet
    assert run_gallery(defs, instance, str(KIDS_DASH)).success
    requested, cursor = _requested(defs, instance, cursor)
    assert requested == 1
    materialize_summary(defs, instance)
    requested, cursor = _requested(defs, instance, cursor)
    assert requested == 0  # built since the change: not asked for again

    assert run_gallery(defs, instance, str(MARATHON)).success
    assert _requested(defs, instance, cursor)[0] == 1

    rows = pq.read_table(warehouse / "event_summary" / "part-0.parquet").to_pylist()
    (kids,) = [row for row in rows if row["event_id"] == KIDS_DASH]
    photos = server.world.photo_count(ORG, KIDS_DASH)
    assert (kids["photos"], kids["snapshots"], kids["added_1d"], kids["net_growth_7d"]) == (
        photos,
        1,
        photos,
        photos,
    )
