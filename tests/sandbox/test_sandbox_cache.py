"""The cache of encoded All Photos pages: served when nothing changed, never once something did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ninepic_pipeline.sandbox import Chaos, SandboxServer, World
from ninepic_pipeline.sandbox.cache import PageCache, PageKey

from .helpers import Api

EVENT = 1000
IMAGES = f"/event/{EVENT}/images"


def _world(photos: int = 250) -> World:
    world = World()
    world.add_event(903, EVENT, name="Cache", photos=photos, seed=1)
    return world


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(_world(), keys={903: "k"}) as server:
        yield server


def _page(api: Api, page: int) -> dict[str, Any]:
    data: dict[str, Any] = api.json(IMAGES, page=page, page_size=100)["data"]
    return data


def _ids(data: dict[str, Any]) -> list[str]:
    return [item["image_id"] for item in data["images"]]


def test_a_repeated_page_is_served_from_the_cache(server: SandboxServer) -> None:
    api = Api(server)
    first = api.get(IMAGES, page=2, page_size=100)
    second = api.get(IMAGES, page=2, page_size=100)
    assert first.content == second.content
    assert (server.page_cache.misses, server.page_cache.hits) == (1, 1)
    # Page size is part of the key: the same page number at another size is another body.
    api.get(IMAGES, page=2, page_size=50)
    assert server.page_cache.misses == 2


def test_an_upload_invalidates_the_cached_pages(server: SandboxServer) -> None:
    api = Api(server)
    before = _page(api, 2)
    assert _page(api, 2) == before
    assert server.page_cache.hits == 1
    last_of_page_1 = server.world.photo_ids(903, EVENT)[99]

    uploaded = server.world.insert_photo(903, EVENT, 0)

    after = _page(api, 2)
    # Everything shifted one place: page 2 now starts with what ended page 1.
    assert _ids(after)[0] == last_of_page_1
    assert _ids(after)[1:] == _ids(before)[:-1]
    assert after["pagination"]["total"] == before["pagination"]["total"] + 1
    assert _ids(_page(api, 1))[0] == uploaded.image_id
    assert server.page_cache.hits == 1


def test_a_deletion_and_a_size_change_invalidate_the_cached_pages(server: SandboxServer) -> None:
    api = Api(server)
    before = _page(api, 1)
    server.world.delete_photo(903, EVENT, 0)
    after_delete = _page(api, 1)
    assert _ids(after_delete)[:-1] == _ids(before)[1:]
    assert after_delete["pagination"]["total"] == 249

    server.world.set_size(903, EVENT, 5, None, 7)
    item = _page(api, 1)["images"][5]
    assert (item["width"], item["height"]) == (None, 7)
    assert server.page_cache.hits == 0


def test_a_replaced_world_is_never_answered_from_the_old_ones_cache(
    server: SandboxServer,
) -> None:
    api = Api(server)
    old = _page(api, 1)
    # Same org, event and page numbers, other photos: only the gallery version tells them apart.
    server.world = World()
    server.world.add_event(903, EVENT, name="Cache", photos=250, seed=2)
    new = _page(api, 1)
    assert _ids(new) != _ids(old)
    assert _ids(new) == server.world.photo_ids(903, EVENT)[:100]


def test_body_editing_chaos_bypasses_the_cache() -> None:
    chaos = Chaos(extra_fields=True, p_total_drift=0.5, seed=3)
    with SandboxServer(_world(), keys={903: "k"}, chaos=chaos) as server:
        api = Api(server)
        pages = [_page(api, 1) for _ in range(20)]
        assert all("x_cache" in page for page in pages)
        # Drift is drawn per request, so identical bodies every time would mean a replay.
        assert len({page["pagination"]["total"] for page in pages}) > 1
        assert (server.page_cache.hits, server.page_cache.misses) == (0, 0)


def test_latency_only_chaos_still_uses_the_cache() -> None:
    with SandboxServer(_world(), keys={903: "k"}, chaos=Chaos(latency_ms=1)) as server:
        api = Api(server)
        assert _page(api, 3) == _page(api, 3)
        assert server.page_cache.hits == 1


def test_mutation_chaos_serves_each_upload_on_the_next_page() -> None:
    chaos = Chaos(mutations=5, p_mutation=1.0, seed=4)
    with SandboxServer(_world(), keys={903: "k"}, chaos=chaos) as server:
        api = Api(server)
        for _ in range(8):
            # Each request first uploads or deletes (while the budget lasts), then answers.
            data = _page(api, 1)
            assert _ids(data) == server.world.photo_ids(903, EVENT)[:100]
            assert data["pagination"]["total"] == server.world.photo_count(903, EVENT)
        assert server.chaos_stats["insert"] + server.chaos_stats["delete"] == 5
        assert server.page_cache.hits >= 2


def test_the_cache_is_bounded_by_bytes_and_evicts_the_least_recent() -> None:
    cache = PageCache(max_bytes=25)
    keys = [PageKey(903, EVENT, page, 100, 1) for page in range(4)]
    for key in keys[:2]:
        cache.put(key, b"x" * 10)
    assert cache.get(keys[0]) is not None  # now the most recent
    cache.put(keys[2], b"y" * 10)
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None
    assert cache.size_bytes == 20
    cache.put(keys[3], b"z" * 26)  # bigger than the whole budget: not stored, nothing evicted
    assert cache.get(keys[3]) is None and len(cache) == 2


def test_a_zero_budget_turns_the_cache_off() -> None:
    with SandboxServer(_world(), keys={903: "k"}, page_cache_bytes=0) as server:
        api = Api(server)
        assert _page(api, 1) == _page(api, 1)
        assert server.page_cache.hits == 0
        assert len(server.page_cache) == 0
