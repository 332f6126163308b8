"""A gallery and its timeline in one call: the timeline's request rides along the first pass."""

from __future__ import annotations

import pytest
import requests

from ninepic_pipeline.api import NinepicClient, NinepicError
from ninepic_pipeline.sandbox import SandboxServer
from tests.api.test_snapshot import JSON, _page_body, _script
from tests.conftest import KIDS_DASH, MARATHON, ORG

MARATHON_PAGES = 13  # 1,280 photos at 100 a page


def _client(server: SandboxServer, fast_retry, concurrency: int) -> NinepicClient:
    return NinepicClient(
        server.keys[ORG], ORG, server.url, retry=fast_retry, max_concurrency=concurrency
    )


def _paths(server: SandboxServer) -> list[str]:
    """What each logged request asked for, 'images' or 'timeline', in the order answered."""
    log = server.request_log
    return [
        "timeline" if "/timeline/" in e.path else "images"
        for e in log
        if e.path.endswith(("/images", "/timeline/days"))
    ]


def _raw_hours(server: SandboxServer, event_id: int) -> list[tuple[str, int, int]]:
    days = requests.get(
        f"{server.url}/api/v1/ext/{ORG}/event/{event_id}/timeline/days",
        headers={"X-API-Key": server.keys[ORG]},
        timeout=10,
    ).json()["data"]["days"]
    return [(d["date"], h["hour"], h["count"]) for d in days for h in d["hours"]]


def test_the_timeline_is_requested_while_the_first_pass_is_read(fast_retry):
    # 50 ms a request, 4 workers: the first pass takes five rounds (page 1, then 12 pages on the
    # three workers the timeline leaves free at first), the timeline's answer comes in the first.
    with SandboxServer(latency_s=0.05) as slow, _client(slow, fast_retry, 4) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(MARATHON)
        with gallery:
            assert len(gallery) == 1280 and len(gallery.passes) == 2
        asked = _paths(slow)
        hours = [(d.date, h.hour, h.count) for d in timeline.days for h in d.hours]
        assert hours == _raw_hours(slow, MARATHON)
    assert asked.count("timeline") == 1 and asked.count("images") == 2 * MARATHON_PAGES
    last_of_first_pass = [i for i, kind in enumerate(asked) if kind == "images"][MARATHON_PAGES - 1]
    assert asked.index("timeline") < last_of_first_pass


def test_a_gallery_that_changed_during_the_read_gets_its_timeline_again(server, fast_retry):
    # An upload right after read 1 (as in test_snapshot): reads 2 and 3 agree, read 1 is stale,
    # and so may be a timeline asked for alongside it.
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2))
    now = [_page_body(["x", "a"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2)]
    _script(server, *now, *now)
    with _client(server, fast_retry, 2) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(MARATHON)
        with gallery:
            assert gallery.image_id == ["x", "a", "b", "c"] and len(gallery.passes) == 3
    asked = _paths(server)
    assert asked.count("timeline") == 2
    assert asked[-1] == "timeline" and asked.count("images") == 6
    assert timeline.available


def test_with_one_worker_the_timeline_follows_the_read(server, fast_retry):
    with _client(server, fast_retry, 1) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(KIDS_DASH)
        gallery.close()
    assert _paths(server) == ["images", "images", "timeline"]
    hours = [(d.date, h.hour, h.count) for d in timeline.days for h in d.hours]
    assert hours == _raw_hours(server, KIDS_DASH)


# Either request failing for good fails the call with that request's own error; a failed read
# does not wait for, or report, the timeline's.
@pytest.mark.parametrize(
    ("failing", "endpoint"), [("/images", "All Photos"), ("/timeline/", "Photo Timeline")]
)
def test_a_lasting_failure_of_either_request_raises_its_own_error(
    server, fast_retry, failing, endpoint
):
    server.faults.push(
        400, body='{"detail": "bad"}', content_type=JSON, times=None, path_contains=failing
    )
    with _client(server, fast_retry, 4) as client, pytest.raises(NinepicError) as raised:
        client.fetch_gallery_and_timeline(KIDS_DASH)
    assert endpoint in str(raised.value)
