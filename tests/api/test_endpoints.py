"""Event Details and Ping through the client, against a plain read of the same endpoints."""

from __future__ import annotations

import requests

from tests.conftest import MARATHON, NO_TIMELINE, ORG


def _raw(server, path: str) -> dict:
    return requests.get(
        f"{server.url}/api/v1/ext/{ORG}{path}", headers={"X-API-Key": server.keys[ORG]}, timeout=10
    ).json()["data"]


def test_event_details_carry_every_field(server, client):
    for event_id in (MARATHON, NO_TIMELINE):
        raw = _raw(server, f"/event/{event_id}/details")
        details = client.event_details(event_id)
        for name in ("event_id", "event_name", "event_slug", "event_date", "status"):
            assert getattr(details, name) == raw[name], name
        assert details.timeline_search is raw["timeline_search"]
    assert client.event_details(NO_TIMELINE).timeline_search is False


def test_ping(server, client):
    assert client.ping(MARATHON) is True
