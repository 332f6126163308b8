"""The nightly schedule's tick and the discovery sensor's tick on a real test instance."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from ninepic_pipeline.defs.resources import NinepicApi
from tests.conftest import ORG

SANDBOX_EVENTS = ["456", "457", "458", "459", "460"]


def test_nightly_schedule_runs_every_known_partition(defs, instance):
    schedule = defs.resolve_schedule_def("nightly_galleries")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    instance.add_dynamic_partitions("events", ["456", "460"])
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    requests = schedule.evaluate_tick(context).run_requests
    assert sorted(r.partition_key for r in requests) == ["456", "460"]
    assert {r.run_key for r in requests} == {
        "nightly:2026-12-03T02:00:456",
        "nightly:2026-12-03T02:00:460",
    }
    assert {r.tags["ninepic/event"] for r in requests} == {"456", "460"}


def test_nightly_schedule_skips_without_partitions(defs, instance):
    schedule = defs.resolve_schedule_def("nightly_galleries")
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    result = schedule.evaluate_tick(context)
    assert result.run_requests == [] or result.run_requests is None
    assert "no event partitions" in result.skip_message


def _tick(defs, instance, server, cursor=None):
    sensor = defs.resolve_sensor_def("event_discovery_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "ninepic": NinepicApi(api_key=server.keys[ORG], org_id=str(ORG), base_url=server.url)
        },
    )
    return sensor(context)


def test_sensor_adds_new_events_as_partitions_and_requests_first_runs(defs, instance, server):
    instance.add_dynamic_partitions("events", ["456"])
    result = _tick(defs, instance, server)
    (add,) = result.dynamic_partitions_requests
    assert add.partitions_def_name == "events"
    assert sorted(add.partition_keys) == sorted(set(SANDBOX_EVENTS) - {"456"})
    gallery = [r for r in result.run_requests if r.job_name == "gallery_job"]
    assert sorted(r.partition_key for r in gallery) == sorted(set(SANDBOX_EVENTS) - {"456"})
    assert [r.job_name for r in result.run_requests if r.job_name != "gallery_job"] == [
        "events_job"
    ]


def test_sensor_asks_nothing_when_nothing_changed(defs, instance, server):
    instance.add_dynamic_partitions("events", SANDBOX_EVENTS)
    first = _tick(defs, instance, server)
    second = _tick(defs, instance, server, cursor=first.cursor)
    assert second.run_requests == []
    assert second.dynamic_partitions_requests == []
    assert second.cursor == first.cursor
