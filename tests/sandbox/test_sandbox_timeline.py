"""Photo Timeline: UTC day/hour buckets agree with the gallery; gated by timeline_search."""

from __future__ import annotations

from collections import Counter

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api, assert_error


def _expected_days(sandbox: SandboxServer, event_id: int) -> list[dict[str, object]]:
    counts = Counter(
        (p.captured_at.date().isoformat(), p.captured_at.hour)
        for p in sandbox.world.photos(903, event_id)
        if p.captured_at is not None
    )
    days: dict[str, list[dict[str, int]]] = {}
    for (date, hour), count in sorted(counts.items()):
        days.setdefault(date, []).append({"hour": hour, "count": count})
    return [
        {"date": date, "total": sum(h["count"] for h in hours), "hours": hours}
        for date, hours in days.items()
    ]


def test_marathon_timeline_accounts_for_untimestamped(api: Api, sandbox: SandboxServer) -> None:
    days = api.json("/event/456/timeline/days")["data"]["days"]
    total = api.json("/event/456/images")["data"]["pagination"]["total"]
    untimestamped = sum(p.captured_at is None for p in sandbox.world.photos(903, 456))
    assert untimestamped == 20
    assert sum(day["total"] for day in days) == total - untimestamped == 1260
    assert [day["date"] for day in days] == ["2026-01-19"]
    hours = days[0]["hours"]
    assert [h["hour"] for h in hours] == [6, 7, 8, 9, 10, 11]
    assert all(h["count"] > 0 for h in hours)
    assert sum(h["count"] for h in hours) == days[0]["total"]
    assert len({h["count"] for h in hours}) > 1, "per-hour counts should be uneven"
    assert days == _expected_days(sandbox, 456)


def test_timeline_matches_photo_times(api: Api, sandbox: SandboxServer) -> None:
    for event_id in (459, 460):
        days = api.json(f"/event/{event_id}/timeline/days")["data"]["days"]
        assert days == _expected_days(sandbox, event_id)


def test_timeline_disabled_is_403(api: Api) -> None:
    assert_error(api.get("/event/458/timeline/days"), 403)


def test_timeline_of_empty_event(api: Api) -> None:
    assert api.json("/event/457/timeline/days")["data"] == {"days": []}


def test_two_day_gallery_and_zero_hours_omitted(fresh_sandbox: SandboxServer) -> None:
    # 458 spans two UTC days; switch its timeline on to read the buckets.
    fresh_sandbox.world.event(903, 458).timeline_search = True
    days = Api(fresh_sandbox).json("/event/458/timeline/days")["data"]["days"]
    assert [d["date"] for d in days] == ["2026-03-14", "2026-03-15"]
    assert all(h["count"] > 0 for d in days for h in d["hours"])
    for day in days:
        hours = [h["hour"] for h in day["hours"]]
        assert hours == sorted(hours) and all(0 <= h <= 23 for h in hours)
    assert sum(d["total"] for d in days) == 250 - fresh_sandbox.world.untimestamped_count(903, 458)
