"""A gallery and its timeline in one call: the timeline is requested beside the reads."""

from __future__ import annotations

import json

import pytest

from ninepic_pipeline.api import NinepicClient, NinepicError, RetryPolicy, SnapshotPolicy
from ninepic_pipeline.sandbox import SandboxServer
from tests.api.test_snapshot import JSON, _page_body, _recorded, _script
from tests.conftest import KIDS_DASH, MARATHON, ORG
from tests.sandbox.helpers import Api

MARATHON_PAGES = 13  # 1,280 photos at 100 a page


def _client(
    server: SandboxServer,
    retry: RetryPolicy,
    concurrency: int,
    key: str | None = None,
    snapshot: SnapshotPolicy | None = None,
) -> NinepicClient:
    key = server.keys[ORG] if key is None else key
    return NinepicClient(
        key, ORG, server.url, retry=retry, max_concurrency=concurrency, snapshot=snapshot
    )


def _hours(timeline) -> list[tuple[str, int, int]]:
    return [(d.date, h.hour, h.count) for d in timeline.days for h in d.hours]


def _paths(server: SandboxServer) -> list[str]:
    """What each logged request asked for, 'images' or 'timeline', in the order answered."""
    log = server.request_log
    return [
        "timeline" if "/timeline/" in e.path else "images"
        for e in log
        if e.path.endswith(("/images", "/timeline/days"))
    ]


def _raw_hours(server: SandboxServer, event_id: int) -> list[tuple[str, int, int]]:
    days = Api(server, ORG).json(f"/event/{event_id}/timeline/days")["data"]["days"]
    return [(d["date"], h["hour"], h["count"]) for d in days for h in d["hours"]]


def test_the_timeline_is_requested_once_the_first_page_has_answered(fast_retry):
    # 50 ms a request, 2 workers: page 1 alone, then the timeline beside page 2, then the other
    # 11 pages two at a time: the timeline answers in the second round, the first read ends in
    # the seventh.
    with SandboxServer(latency_s=0.05) as slow, _client(slow, fast_retry, 2) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(MARATHON)
        with gallery:
            assert len(gallery) == 1280 and len(gallery.passes) == 2
        asked = _paths(slow)
        assert _hours(timeline) == _raw_hours(slow, MARATHON)
    assert asked.count("timeline") == 1 and asked.count("images") == 2 * MARATHON_PAGES
    last_of_first_read = [i for i, kind in enumerate(asked) if kind == "images"][MARATHON_PAGES - 1]
    assert asked[0] == "images" and asked.index("timeline") < last_of_first_read


def test_a_gallery_that_changed_during_the_read_gets_its_timeline_again(server, fast_retry):
    # An upload right after read 1 (as in test_snapshot): reads 2 and 3 agree, read 1 is stale,
    # and so is the timeline asked for beside it, which here answers with a day of its own.
    # Each read asks for the page past its full last page: the API's empty page.
    past = _page_body([], 3, 4, 2, has_next=False)
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2), past)
    now = [_page_body(["x", "a"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2)]
    _script(server, *now, past, *now, past)
    stale = {"date": "2001-01-01", "total": 1, "hours": [{"hour": 0, "count": 1}]}
    stale_body = json.dumps({"responseType": "success", "data": {"days": [stale]}})
    server.faults.push(200, body=stale_body, content_type=JSON, path_contains="/timeline/")
    with _client(server, fast_retry, 2) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(MARATHON)
        with gallery:
            assert gallery.image_id == ["x", "a", "b", "c"] and len(gallery.passes) == 3
    asked = _paths(server)
    assert asked.count("timeline") == 2 and asked.count("images") == 9
    assert _hours(timeline) == _raw_hours(server, MARATHON)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_read_matching_the_recorded_snapshot_keeps_its_timeline(server, fast_retry, workers):
    # One read, trusted for matching the snapshot recorded before, saw no change: the timeline
    # asked for beside it is kept, not asked for again.
    recorded = _recorded(server.world.photo_ids(ORG, MARATHON))
    trusting = SnapshotPolicy(trust_recorded=True)
    with _client(server, fast_retry, workers, snapshot=trusting) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(MARATHON, recorded)
        with gallery:
            assert gallery.matches_recorded and len(gallery.passes) == 1
    asked = _paths(server)
    # The read's pages and page 1 again (its last page, of 80, is not full).
    assert asked.count("timeline") == 1 and asked.count("images") == MARATHON_PAGES + 1
    assert _hours(timeline) == _raw_hours(server, MARATHON)


def test_with_one_worker_the_timeline_follows_the_read(server, fast_retry):
    with _client(server, fast_retry, 1) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(KIDS_DASH)
        gallery.close()
    assert _paths(server) == ["images", "images", "timeline"]
    assert _hours(timeline) == _raw_hours(server, KIDS_DASH)


def test_a_refused_key_costs_one_request(server, fast_retry):
    with (
        _client(server, fast_retry, 4, key="not-the-key") as client,
        pytest.raises(NinepicError, match="check NINEPIC_API_KEY") as raised,
    ):
        client.fetch_gallery_and_timeline(KIDS_DASH)
    assert "All Photos" in str(raised.value)
    assert _paths(server) == ["images"]


def test_a_failed_read_makes_a_retrying_timeline_give_up(server):
    # The second read fails for good while the timeline, sent after the first, meets 503s it
    # would retry 40 times (2 s): the failure stops it at its next attempt.
    patient = RetryPolicy(max_attempts=40, backoff_base_s=0.05, backoff_max_s=0.05)
    server.faults.push(
        400,
        body='{"detail": "bad"}',
        content_type=JSON,
        times=None,
        skip=1,
        path_contains="/images",
    )
    server.faults.push(503, times=None, path_contains="/timeline/")
    with _client(server, patient, 4) as client, pytest.raises(NinepicError) as raised:
        client.fetch_gallery_and_timeline(KIDS_DASH)
    assert "All Photos" in str(raised.value)
    assert 1 <= _paths(server).count("timeline") < 10


def test_a_lasting_timeline_failure_after_a_good_read_raises_its_own_error(server, fast_retry):
    server.faults.push(
        400, body='{"detail": "bad"}', content_type=JSON, times=None, path_contains="/timeline/"
    )
    with _client(server, fast_retry, 4) as client, pytest.raises(NinepicError) as raised:
        client.fetch_gallery_and_timeline(KIDS_DASH)
    assert "Photo Timeline" in str(raised.value)


def test_the_timeline_s_retries_are_not_the_read_s(server, fast_retry):
    server.faults.push(503, times=2, path_contains="/timeline/")
    server.faults.push(503, times=1, path_contains="/images")
    with _client(server, fast_retry, 4) as client:
        gallery, timeline = client.fetch_gallery_and_timeline(KIDS_DASH)
        gallery.close()
    assert gallery.retries == 1 and _hours(timeline) == _raw_hours(server, KIDS_DASH)
