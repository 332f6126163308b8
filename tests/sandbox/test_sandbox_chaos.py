"""Seeded chaos over real HTTP: each fault mode does what it says, and a seed replays it."""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from ninepic_pipeline.sandbox import STAT_KINDS, Chaos, SandboxServer, World, default_world
from ninepic_pipeline.sandbox.__main__ import build_parser, main
from ninepic_pipeline.sandbox.chaos_cli import chaos_from_args
from ninepic_pipeline.sandbox.ratelimit import TokenBucket, format_wait

from .helpers import Api
from .test_sandbox_world import _assert_gallery_order

MARATHON = 456  # 1280 photos
TRAIL = 458  # 250
KIDS = 460  # 37
EMPTY = 457
CUT = (requests.exceptions.ChunkedEncodingError, requests.ConnectionError)


def _outcome(api: Api, path: str, **params: Any) -> str:
    """What a sequential client saw: the status, or "cut" for a body cut short."""
    try:
        response = api.get(path, **params)
        if response.status_code == 200:
            response.json()
    except (*CUT, requests.JSONDecodeError):
        return "cut"
    return str(response.status_code)


def _read_gallery(api: Api, event_id: int, size: int = 100) -> list[str]:
    """A defensive full read: retries, stops at a short page or a page of nothing new."""
    ids: list[str] = []
    seen: set[str] = set()
    page = 1
    while True:
        for _ in range(8):
            try:
                response = api.get(f"/event/{event_id}/images", page=page, page_size=size)
                if response.status_code == 200:
                    images = response.json()["data"]["images"]
                    break
            except (*CUT, requests.JSONDecodeError):
                pass
        else:
            raise AssertionError(f"page {page} never got through")
        new = [i["image_id"] for i in images if i["image_id"] not in seen]
        ids += new
        seen.update(new)
        if len(images) < size or not new:
            return ids
        page += 1


def test_all_off_by_default() -> None:
    chaos = Chaos()
    assert not chaos.active
    with SandboxServer() as server:
        assert server.chaos == chaos
        api = Api(server)
        body = api.json(f"/event/{MARATHON}/images")
        assert set(body) == {"responseType", "message", "data"}
        assert server.chaos_stats == dict.fromkeys(STAT_KINDS, 0)


@pytest.mark.parametrize(
    "bad",
    [
        {"p_429": 1.5},
        {"p_mutation": -0.1},
        {"retry_after": "later"},
        {"rate_limit_burst": 0},
        {"latency_ms": -1.0},
        {"mutations": -1},
        {"rate_limit_rps": math.inf},
    ],
)
def test_invalid_chaos(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Chaos(**bad)


def _retry_after(server: SandboxServer, api: Api, mode: str) -> list[str | None]:
    server.set_chaos(Chaos(p_429=1.0, retry_after=mode, seed=1))
    values = []
    for _ in range(12):
        response = api.get("/events")
        assert response.status_code == 429
        assert response.json()["responseType"] == "error"
        values.append(response.headers.get("Retry-After"))
    assert server.chaos_stats["429"] == 12
    return values


def test_429_retry_after_modes() -> None:
    with SandboxServer() as server:
        api = Api(server)
        assert set(_retry_after(server, api, "absent")) == {None}
        assert set(_retry_after(server, api, "seconds")) == {"1", "2"}
        assert set(_retry_after(server, api, "zero")) == {"0"}
        fractions = _retry_after(server, api, "fraction")
        assert all(v and re.fullmatch(r"0\.[1-9]", v) for v in fractions)
        assert set(_retry_after(server, api, "absurd")) == {"86400"}
        assert set(_retry_after(server, api, "garbage")) == {"soon"}
        for value in _retry_after(server, api, "date"):
            assert value is not None and value.endswith(" GMT")
            ahead = parsedate_to_datetime(value).timestamp() - time.time()
            assert 0.8 < ahead <= 2.0
        mixed = _retry_after(server, api, "mixed")
        assert len(set(mixed)) >= 4
        # Chaos comes after the scripted faults, and these still work.
        server.faults.push(status=418)
        assert api.get("/events").status_code == 418
        assert api.get("/events").status_code == 429
        server.set_chaos(None)
        assert api.get("/events").status_code == 200


def test_500_and_gateway_errors() -> None:
    with SandboxServer(chaos=Chaos(p_500=1.0)) as server:
        api = Api(server)
        response = api.get(f"/event/{MARATHON}/ping")
        assert response.status_code == 500
        assert response.json() == {
            "responseType": "error",
            "message": "Internal failure",
            "data": None,
        }
        server.chaos = Chaos(p_gateway=1.0, seed=3)
        seen = Counter()
        bodies = set()
        for _ in range(40):
            response = api.get(f"/event/{MARATHON}/images")
            assert response.headers["Content-Type"].startswith("text/html")
            seen[response.status_code] += 1
            text = response.text
            if text:
                assert text.startswith("<html>") and text.endswith("</html>")
                assert f"<h1>{response.status_code} " in text
            bodies.add(bool(text))
        assert set(seen) == {502, 503, 504}
        assert bodies == {True, False}
        stats = server.chaos_stats
        assert {s: stats[str(s)] for s in seen} == dict(seen)
        assert stats["500"] == 0


def test_cut_body() -> None:
    with SandboxServer(chaos=Chaos(p_cut_body=1.0)) as server:
        api = Api(server)
        for _ in range(3):
            with pytest.raises(CUT):
                api.get(f"/event/{MARATHON}/images", page_size=100)
        # The headers promised the whole body; about half of it came.
        with requests.get(
            api.url("/events"), headers=api.session.headers, stream=True, timeout=5
        ) as raw:
            promised = int(raw.headers["Content-Length"])
            got = raw.raw.read(promised + 10, decode_content=False)
            assert promised // 2 - 1 <= len(got) <= promised // 2 + 1
            with pytest.raises(json.JSONDecodeError):
                json.loads(got)
        # Only 200s are cut: an error arrives whole.
        assert requests.get(api.url("/events"), timeout=5).status_code == 401
        assert server.chaos_stats["cut_body"] == 4


def test_latency_and_jitter() -> None:
    with SandboxServer(chaos=Chaos(latency_ms=60, latency_jitter_ms=40)) as server:
        api = Api(server)
        for _ in range(3):
            started = time.monotonic()
            assert api.get(f"/event/{MARATHON}/ping").status_code == 200
            assert 0.06 <= time.monotonic() - started < 1.0
        assert server.chaos_stats["latency"] == 3


def test_rate_limit_over_http() -> None:
    with SandboxServer(chaos=Chaos(rate_limit_rps=20, rate_limit_burst=2)) as server:
        api = Api(server)
        responses = [api.get(f"/event/{MARATHON}/ping") for _ in range(10)]
        statuses = [r.status_code for r in responses]
        assert statuses[:2] == [200, 200]
        limited = [r for r in responses if r.status_code == 429]
        assert 6 <= len(limited) <= 8
        for response in limited:
            wait = float(response.headers["Retry-After"])
            assert 0 < wait <= 0.05
        assert server.chaos_stats["rate_limited"] == len(limited)
        time.sleep(0.06)
        assert api.get(f"/event/{MARATHON}/ping").status_code == 200


def test_token_bucket_arithmetic() -> None:
    now = [0.0]
    bucket = TokenBucket(20, 2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(2)] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.05)
    now[0] = 0.025
    assert bucket.take() == pytest.approx(0.025)
    now[0] = 1.0
    assert [bucket.take() for _ in range(3)][:2] == [0.0, 0.0]  # capped at the burst
    assert format_wait(0.05) == "0.05"
    assert format_wait(0.0) == "0.001"


def test_mutations_spend_the_budget_then_stop() -> None:
    world = default_world()
    before = set(world.photo_ids(903, MARATHON))
    chaos = Chaos(mutations=12, p_mutation=1.0, seed=5)
    with SandboxServer(world, chaos=chaos) as server:
        api = Api(server)
        for page in range(1, 16):
            assert api.get(f"/event/{MARATHON}/images", page=page).status_code == 200
        stats = server.chaos_stats
        assert stats["insert"] + stats["delete"] == 12
        assert stats["insert"] > 0 and stats["delete"] > 0
        after = world.photo_ids(903, MARATHON)
        assert len(after) == 1280 + stats["insert"] - stats["delete"]
        assert len(set(after) - before) == stats["insert"]
        photos = world.photos(903, MARATHON)
        _assert_gallery_order(photos)
        new = [p for p in photos if p.image_id not in before]
        camera = {(3240, 4860), (4860, 3240), (2160, 3240), (3240, 3240), (4000, 6000)}
        assert all((p.width, p.height) in camera | {(1080, 1620)} for p in new)
        assert all(
            re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", p.image_id) for p in new
        )
        # The budget is spent: two reads agree with each other and with the world.
        assert _read_gallery(api, MARATHON) == after
        assert _read_gallery(api, MARATHON) == after
        assert server.chaos_stats["insert"] + server.chaos_stats["delete"] == 12
        # Other endpoints never mutate.
        server.set_chaos(Chaos(mutations=5, p_mutation=1.0))
        for _ in range(5):
            api.get(f"/event/{MARATHON}/details")
            api.get("/events")
        assert world.photo_ids(903, MARATHON) == after


def test_mutations_never_delete_from_an_empty_gallery() -> None:
    with SandboxServer(chaos=Chaos(mutations=3, p_mutation=1.0)) as server:
        api = Api(server)
        api.get(f"/event/{EMPTY}/images")
        assert server.world.photo_count(903, EMPTY) == 1
        assert server.chaos_stats["insert"] == 1
        (photo,) = server.world.photos(903, EMPTY)
        assert photo.captured_at is not None, "timed from the event's date"
        data = api.json(f"/event/{EMPTY}/images")["data"]
        assert len(data["images"]) == server.world.photo_count(903, EMPTY)


def _sequence(seed: int) -> list[str]:
    with SandboxServer(chaos=Chaos.everything(seed)) as server:
        api = Api(server)
        seen = []
        for i in range(90):
            path = ("/events", f"/event/{MARATHON}/images", f"/event/{TRAIL}/details")[i % 3]
            seen.append(_outcome(api, path, page=1 + i % 5))
        ids = server.world.photo_ids(903, MARATHON)
        return [*seen, *ids]


def test_same_seed_replays_the_same_faults() -> None:
    first = _sequence(11)
    assert set(first[:90]) - {"200"}, "a fault is expected in 90 requests"
    assert _sequence(11) == first
    assert _sequence(12) != first


def test_total_drift_changes_only_the_pagination() -> None:
    world = default_world()
    with SandboxServer(world, chaos=Chaos(p_total_drift=1.0, seed=2)) as server:
        api = Api(server)
        deltas = set()
        for page in range(1, 4):
            data = api.json(f"/event/{TRAIL}/images", page=page, page_size=100)["data"]
            got = data["pagination"]
            want = world.photo_ids(903, TRAIL)[(page - 1) * 100 : page * 100]
            assert [i["image_id"] for i in data["images"]] == want
            delta = got["total"] - 250
            assert 1 <= abs(delta) <= 3
            deltas.add(delta)
            assert got["totalPages"] == math.ceil(got["total"] / 100)
            assert got["hasNextPage"] == (page < got["totalPages"])
            assert (got["currentPage"], got["page_size"]) == (page, 100)
        empty = api.json(f"/event/{EMPTY}/images")["data"]["pagination"]
        assert 1 <= empty["total"] <= 3, "never below 0"
        assert server.chaos_stats["total_drift"] == 4
        assert len(deltas) > 1


def _lagging_answers(
    mutations: int, lag: int, pages: tuple[int, ...]
) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    """The trail's pages as answered with every request changing the gallery while the budget
    lasts and totals lagging `lag` answers; then its ids and the chaos's counts."""
    world = default_world()
    chaos = Chaos(mutations=mutations, p_mutation=1.0, total_lag_answers=lag, seed=4)
    with SandboxServer(world, chaos=chaos) as server:
        api = Api(server)
        answers = [
            api.json(f"/event/{TRAIL}/images", page=page, page_size=100)["data"] for page in pages
        ]
        return answers, world.photo_ids(903, TRAIL), server.chaos_stats


def test_a_lagging_total_reports_the_count_from_before_the_change() -> None:
    answers, now, stats = _lagging_answers(mutations=1, lag=2, pages=(1, 2, 3))
    # One upload or deletion, made as the first request came; the images are always the real
    # ones, the total of the next two answers the one from before.
    assert len(now) in (249, 251) and stats["insert"] + stats["delete"] == 1
    for page, data in enumerate(answers, start=1):
        assert [i["image_id"] for i in data["images"]] == now[(page - 1) * 100 : page * 100]
    totals = [(d["pagination"]["total"], d["pagination"]["totalPages"]) for d in answers]
    assert totals == [(250, 3), (250, 3), (len(now), 3)]
    assert stats["total_lag"] == 2


def test_a_lag_over_several_changes_keeps_the_total_from_before_the_first() -> None:
    answers, now, stats = _lagging_answers(mutations=2, lag=3, pages=(1, 2, 3, 1, 2))
    # Changes at the first two answers; the second restarts the window of three answers, the
    # total they report still the one from before the first change.
    assert stats["insert"] + stats["delete"] == 2 and len(now) != 250
    assert [d["pagination"]["total"] for d in answers] == [250, 250, 250, 250, len(now)]


def test_past_end_repeats_the_last_page() -> None:
    with SandboxServer(chaos=Chaos(past_end_repeats_last=True)) as server:
        api = Api(server)
        last = api.json(f"/event/{KIDS}/images", page=4, page_size=10)["data"]
        past = api.json(f"/event/{KIDS}/images", page=9, page_size=10)["data"]
        assert len(last["images"]) == 7
        assert past["images"] == last["images"]
        assert past["pagination"] == {
            "total": 37,
            "currentPage": 9,
            "totalPages": 4,
            "hasNextPage": False,
            "hasPreviousPage": True,
            "page_size": 10,
        }
        assert api.json(f"/event/{EMPTY}/images", page=2)["data"]["images"] == []
        assert server.chaos_stats["past_end_repeat"] == 1


def test_null_sizes_are_set_once_in_the_world() -> None:
    world = default_world()
    with SandboxServer(world, chaos=Chaos(p_null_size=0.25, seed=4)) as server:
        photos = world.photos(903, MARATHON)
        nulls = [p.image_id for p in photos if p.width is None or p.height is None]
        assert len(nulls) == 320  # the marathon has no unknown sizes of its own
        api = Api(server)
        items = [
            i
            for page in (1, 2)
            for i in api.json(f"/event/{MARATHON}/images", page=page, page_size=100)["data"][
                "images"
            ]
        ]
        by_id = {p.image_id: p for p in photos}
        assert all(
            (i["width"], i["height"]) == (by_id[i["image_id"]].width, by_id[i["image_id"]].height)
            for i in items
        )
        assert any(i["width"] is None and i["height"] is not None for i in items)
        assert any(i["height"] is None and i["width"] is not None for i in items)
        assert world.photos(903, MARATHON) == photos, "applied once, not per response"
        assert server.chaos_stats["null_size"] >= 320


def test_missing_sizes_omit_the_keys() -> None:
    world = default_world()
    with SandboxServer(world, chaos=Chaos(p_missing_size=0.2, seed=9)) as server:
        api = Api(server)
        items = []
        for page in range(1, 14):
            items += api.json(f"/event/{MARATHON}/images", page=page, page_size=100)["data"][
                "images"
            ]
        missing = {i["image_id"] for i in items if "width" not in i}
        assert len(missing) == 256
        assert all("height" not in i for i in items if i["image_id"] in missing)
        assert all({"width", "height"} <= set(i) for i in items if i["image_id"] not in missing)
        recorded = {p.image_id: p for p in world.photos(903, MARATHON)}
        assert all(recorded[i].width is None and recorded[i].height is None for i in missing)
        assert server.chaos_stats["missing_size"] == sum(
            round(0.2 * world.photo_count(o, e.event_id))
            for o in world.org_ids
            for e in world.events(o)
        )
        again = api.json(f"/event/{MARATHON}/images", page=1, page_size=100)["data"]["images"]
        assert again == items[:100]


def test_extra_fields_everywhere() -> None:
    with SandboxServer(chaos=Chaos(extra_fields=True)) as server:
        api = Api(server)
        body = api.json(f"/event/{MARATHON}/images", page_size=5)
        assert set(body) > {"responseType", "message", "data"}
        assert set(body["data"]) > {"images", "pagination"}
        assert set(body["data"]["pagination"]) > {"total", "currentPage", "totalPages"}
        item_keys = {"img_url", "height", "width", "image_id", "thumbnail_url", "original_url"}
        assert all(set(item) > item_keys for item in body["data"]["images"])
        assert 0 <= body["data"]["images"][0]["blur_score"] < 1
        events = api.json("/events")
        assert all("x_region" in e for e in events["data"]["events"])
        assert api.get("/event/999/images").status_code == 404
        assert set(api.get("/event/999/images").json()) == {"responseType", "message", "data"}
        assert server.chaos_stats["extra_fields"] == 2


def test_everything_soak_converges() -> None:
    world = default_world()
    with SandboxServer(world, chaos=Chaos.everything(21)) as server:
        api = Api(server)
        for _ in range(60):
            _read_gallery(api, MARATHON)
            stats = server.chaos_stats
            if stats["insert"] + stats["delete"] == 20 and stats["total_drift"]:
                break
        else:
            raise AssertionError("the mutation budget was never spent, or no total drifted")
        assert _read_gallery(api, MARATHON) == world.photo_ids(903, MARATHON)
        stats = server.chaos_stats
        assert stats["429"] and stats["extra_fields"] and not stats["total_lag"]
        assert stats["null_size"] and stats["missing_size"]


def test_everything_preset_and_overrides() -> None:
    chaos = Chaos.everything(3)
    assert chaos.seed == 3 and chaos.mutations == 20 and chaos.extra_fields
    assert chaos.past_end_repeats_last
    assert chaos.latency_ms == 0 and chaos.rate_limit_rps == 0
    assert Chaos.everything(3, mutations=0, rate_limit_rps=50).rate_limit_rps == 50


def test_cli_flags_build_the_chaos() -> None:
    parser = build_parser()
    assert chaos_from_args(parser.parse_args([])) == Chaos()
    args = parser.parse_args(
        ["--chaos", "everything", "--chaos-seed", "8", "--p-429", "0", "--retry-after", "date"]
    )
    assert chaos_from_args(args) == Chaos.everything(8, p_429=0.0, retry_after="date")
    args = parser.parse_args(
        [
            "--latency-ms=5",
            "--latency-jitter-ms=2",
            "--rate-limit-rps=9",
            "--rate-limit-burst=3",
            "--p-500=0.1",
            "--p-gateway=0.2",
            "--p-cut-body=0.3",
            "--mutations=4",
            "--p-mutation=0.5",
            "--p-total-drift=0.6",
            "--total-lag-answers=2",
            "--past-end-repeats-last",
            "--p-null-size=0.07",
            "--p-missing-size=0.08",
            "--extra-fields",
        ]
    )
    assert chaos_from_args(args) == Chaos(
        latency_ms=5,
        latency_jitter_ms=2,
        rate_limit_rps=9,
        rate_limit_burst=3,
        p_500=0.1,
        p_gateway=0.2,
        p_cut_body=0.3,
        mutations=4,
        p_mutation=0.5,
        p_total_drift=0.6,
        total_lag_answers=2,
        past_end_repeats_last=True,
        p_null_size=0.07,
        p_missing_size=0.08,
        extra_fields=True,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--p-500", "2"], "p_500 must be between 0 and 1"),
        (["--event-id", "5"], "--event-id needs --photos"),
        (["--photos", "10", "--event-id", "456"], "already has that event"),
        (["--photos", "0"], "--photos must be at least 1"),
        (["--latency-ms", "-1"], "--latency-ms must not be negative"),
    ],
)
def test_cli_rejects_bad_values(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    flags = re.findall(r"--[a-z0-9-]+", text)
    for flag in (
        "--chaos",
        "--chaos-seed",
        "--latency-ms",
        "--latency-jitter-ms",
        "--p-429",
        "--retry-after",
        "--rate-limit-rps",
        "--rate-limit-burst",
        "--p-500",
        "--p-gateway",
        "--p-cut-body",
        "--mutations",
        "--p-mutation",
        "--p-total-drift",
        "--total-lag-answers",
        "--past-end-repeats-last",
        "--p-null-size",
        "--p-missing-size",
        "--extra-fields",
        "--photos",
        "--event-id",
    ):
        assert flag in flags


def test_generated_event_for_benchmarks() -> None:
    from ninepic_pipeline.sandbox.__main__ import _world

    world: World = _world(build_parser().parse_args(["--photos", "3000", "--event-id", "77"]))
    assert world.photo_count(903, 77) == 3000
    assert world.untimestamped_count(903, 77) == 30
    _assert_gallery_order(world.photos(903, 77))
    assert world.photo_count(903, MARATHON) == 1280
