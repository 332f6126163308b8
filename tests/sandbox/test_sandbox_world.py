"""The world model: deterministic generation, gallery order, live uploads over HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ninepic_pipeline.sandbox import DOCS_PHOTOS, Photo, SandboxServer, World, default_world

from .helpers import Api


def _assert_gallery_order(photos: list[Photo]) -> None:
    times = [p.captured_at for p in photos]
    timed = [t for t in times if t is not None]
    assert times[: len(timed)] == timed, "untimestamped photos must come last"
    assert timed == sorted(timed)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in timed)


def test_default_world_is_deterministic_and_fresh() -> None:
    a, b = default_world(), default_world()
    assert a is not b
    for org_id in (903, 904):
        for event in a.events(org_id):
            assert a.photos(org_id, event.event_id) == b.photos(org_id, event.event_id)
    a.delete_photo(903, 456, 0)
    assert a.photo_count(903, 456) == 1279
    assert b.photo_count(903, 456) == 1280


def test_default_world_shape() -> None:
    world = default_world()
    assert world.org_ids == [903, 904]
    counts = {e.event_id: world.photo_count(903, e.event_id) for e in world.events(903)}
    assert counts == {456: 1280, 457: 0, 458: 250, 459: 333, 460: 37}
    assert world.photo_count(904, 900) == 50
    marathon = world.photos(903, 456)
    assert tuple(marathon[:2]) == DOCS_PHOTOS
    assert sum(p.captured_at is None for p in marathon) == 20
    sizes = Counter((p.width, p.height) for p in marathon)
    assert sizes[(3240, 4860)] + sizes[(4860, 3240)] > 0.85 * 1280
    assert len(sizes) > 2
    for event_id in counts:
        _assert_gallery_order(world.photos(903, event_id))
    all_times = [p.captured_at for p in marathon if p.captured_at]
    assert min(all_times) == datetime(2026, 1, 19, 6, tzinfo=UTC)
    assert max(all_times) < datetime(2026, 1, 19, 12, tzinfo=UTC)
    night = Counter((p.width, p.height) for p in world.photos(903, 459))
    assert {(6000, 4000), (4000, 6000), (5472, 3648), (4032, 3024), (3000, 3000)} <= set(night)
    kids = world.photos(903, 460)
    assert sum(p.captured_at is None for p in kids) == 3
    assert any(p.width is None or p.height is None for p in kids)
    assert world.event(903, 460).status == "draft"
    ids = [p.image_id for e in world.events(903) for p in world.photos(903, e.event_id)]
    assert len(ids) == len(set(ids))


def test_generated_gallery_ties_and_invariants() -> None:
    world = World()
    event = world.add_event(
        1, 2, "Busy", photos=20_000, seed="busy", span_hours=1, untimestamped=50, null_dims=30
    )
    photos = world.photos(1, 2)
    assert len(photos) == 20_000
    _assert_gallery_order(photos)
    assert len({p.captured_at for p in photos}) < 20_000, "whole-second times should tie"
    assert world.untimestamped_count(1, 2) == 50
    assert sum(p.width is None or p.height is None for p in photos) == 30
    assert event.event_slug == "busy"
    assert event.cover_image == f"https://photos.9pic.ai/imgs/2/large/{photos[0].image_id}.jpg"
    again = World()
    again.add_event(
        1, 2, "Busy", photos=20_000, seed="busy", span_hours=1, untimestamped=50, null_dims=30
    )
    assert again.photos(1, 2) == photos
    with pytest.raises(ValueError, match="already exists"):
        world.add_event(1, 2, "Again")


def test_insert_and_delete_are_seen_over_http(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    world = fresh_sandbox.world
    before = [i["image_id"] for i in api.json("/event/456/images")["data"]["images"]]
    added = world.insert_photo(903, 456, 5, image_id="live-upload-1")
    assert added.captured_at is not None
    data = api.json("/event/456/images")["data"]
    after = [i["image_id"] for i in data["images"]]
    assert after == [*before[:5], "live-upload-1", *before[5:31]]
    assert data["pagination"]["total"] == 1281
    assert data["pagination"]["totalPages"] == 41
    removed = world.delete_photo(903, 456, 5)
    assert removed.image_id == "live-upload-1"
    assert [i["image_id"] for i in api.json("/event/456/images")["data"]["images"]] == before


def test_insert_defaults_and_validation() -> None:
    world = default_world()
    photos = world.photos(903, 460)
    timed = len(photos) - world.untimestamped_count(903, 460)
    first = world.insert_photo(903, 460, 0)
    assert first.captured_at == photos[0].captured_at
    assert first.image_id and first.image_id not in {p.image_id for p in photos}
    end_of_timed = world.insert_photo(903, 460, timed + 1)
    assert end_of_timed.captured_at == photos[timed - 1].captured_at
    last = world.insert_photo(903, 460, world.photo_count(903, 460))
    assert last.captured_at is None
    _assert_gallery_order(world.photos(903, 460))
    # Ids of uploads are deterministic too.
    replay = default_world()
    assert replay.insert_photo(903, 460, 0).image_id == first.image_id

    late = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not fit"):
        world.insert_photo(903, 460, 0, captured_at=late)
    with pytest.raises(ValueError, match="timezone-aware"):
        world.insert_photo(903, 460, 0, captured_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="untimestamped"):
        world.insert_photo(903, 460, 0, captured_at=None)
    with pytest.raises(IndexError):
        world.insert_photo(903, 460, 10_000)
    with pytest.raises(KeyError):
        world.insert_photo(903, 999, 0)
    # Photo ids are unique in a gallery, as the API's are.
    with pytest.raises(ValueError, match=f"{first.image_id} is already in the gallery"):
        world.insert_photo(903, 460, 0, image_id=first.image_id)


def test_add_photo_lands_by_capture_time() -> None:
    world = default_world()
    photos = world.photos(903, 456)
    tenth = photos[10].captured_at
    assert tenth is not None
    index = world.add_photo(903, 456, captured_at=tenth, image_id="same-second")
    # After every photo with the same capture time: uploads never jump ahead of equals.
    assert index == max(i for i, p in enumerate(photos) if p.captured_at == tenth) + 1
    assert world.photos(903, 456)[index].image_id == "same-second"
    assert world.add_photo(903, 456, captured_at=None) == 1281
    assert world.add_photo(903, 456, captured_at=datetime(2026, 1, 1, tzinfo=UTC)) == 0
    _assert_gallery_order(world.photos(903, 456))


def test_custom_world_and_keys() -> None:
    world = World()
    world.add_event(7, 70, "Tiny", photos=3, lead_photos=[Photo("first", 10, 20)])
    world.add_org(8)
    with SandboxServer(world=world, keys={7: "seven"}) as server:
        assert server.keys[7] == "seven"
        assert set(server.keys) == {7, 8}
        api = Api(server, 7)
        images = api.json("/event/70/images")["data"]["images"]
        assert images[0]["image_id"] == "first"
        assert len(images) == 3
        empty = Api(server, 8).json("/events")
        assert empty["data"]["events"] == []
        assert empty["data"]["pagination"]["totalPages"] == 0
