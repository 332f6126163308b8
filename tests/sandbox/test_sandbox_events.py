"""List Events, Event Details and Ping."""

from __future__ import annotations

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api


def test_events_default_page(api: Api) -> None:
    body = api.json("/events")
    assert body["responseType"] == "success"
    events = body["data"]["events"]
    assert [e["event_id"] for e in events] == [456, 457, 458, 459, 460]
    assert events[0] == {
        "event_id": 456,
        "event_name": "City Marathon 2026",
        "event_slug": "city-marathon-2026",
        "event_date": "2026-01-19T06:00:00",
        "status": "active",
        "cover_image": (
            "https://photos.9pic.ai/imgs/456/large/a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244.jpg"
        ),
    }
    by_id = {e["event_id"]: e for e in events}
    assert by_id[457]["cover_image"] is None
    assert by_id[460]["status"] == "draft"
    assert body["data"]["pagination"] == {
        "total": 5,
        "currentPage": 1,
        "totalPages": 1,
        "hasNextPage": False,
        "hasPreviousPage": False,
        "page_size": 10,
    }


def test_events_paging(api: Api) -> None:
    seen = []
    for page in (1, 2, 3):
        data = api.json("/events", page=page, page_size=2)["data"]
        seen.extend(e["event_id"] for e in data["events"])
        assert data["pagination"] == {
            "total": 5,
            "currentPage": page,
            "totalPages": 3,
            "hasNextPage": page < 3,
            "hasPreviousPage": page > 1,
            "page_size": 2,
        }
    assert seen == [456, 457, 458, 459, 460]
    assert api.json("/events", page=4, page_size=2)["data"]["events"] == []
    assert api.json("/events", page_size=1000)["data"]["pagination"]["page_size"] == 100


def test_events_of_other_org(sandbox: SandboxServer) -> None:
    events = Api(sandbox, 904).json("/events")["data"]["events"]
    assert [(e["event_id"], e["event_name"]) for e in events] == [(900, "Harbour 10K")]


def test_event_details(api: Api) -> None:
    body = api.json("/event/456/details")
    assert body["responseType"] == "success"
    assert body["data"] == {
        "event_id": 456,
        "event_name": "City Marathon 2026",
        "event_slug": "city-marathon-2026",
        "event_date": "2026-01-19T06:00:00",
        "status": "active",
        "event_enabled": True,
        "bib_search": True,
        "selfie_search": True,
        "name_search": False,
        "video_search": False,
        "video_selfie_search": False,
        "timeline_search": True,
    }
    assert api.json("/event/458/details")["data"]["timeline_search"] is False
    kids = api.json("/event/460/details")["data"]
    assert (kids["event_name"], kids["status"]) == ("Kids Dash", "draft")


def test_ping(api: Api, sandbox: SandboxServer) -> None:
    body = api.json("/event/456/ping")
    assert body["responseType"] == "success"
    assert body["data"] == {"status": "ok", "org_id": 903, "event_id": 456}
    other = Api(sandbox, 904).json("/event/900/ping")["data"]
    assert other == {"status": "ok", "org_id": 904, "event_id": 900}
