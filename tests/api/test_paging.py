"""Paging All Photos and List Events over HTTP against the sandbox."""

from __future__ import annotations

import pytest
import requests

from ninepic_pipeline.api import GalleryReadError, NinepicClient, SnapshotPolicy
from tests.conftest import EMPTY, MARATHON, ORG

DOCS_FIRST_IDS = ["a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244", "b5513429-1d05-5f2f-c9f9-bd9f9g3gd355"]


def _image_requests(server) -> list[dict[str, str]]:
    return [entry.query for entry in server.request_log if entry.path.endswith("/images")]


def _raw_ids(server, event_id: int, page_size: int) -> list[str]:
    """Every id of the gallery, read page by page with plain requests: the reference."""
    ids: list[str] = []
    page = 1
    while True:
        body = requests.get(
            f"{server.url}/api/v1/ext/{ORG}/event/{event_id}/images",
            params={"page": page, "page_size": page_size},
            headers={"X-API-Key": server.keys[ORG]},
            timeout=10,
        ).json()
        ids += [image["image_id"] for image in body["data"]["images"]]
        if not body["data"]["pagination"]["hasNextPage"]:
            return ids
        page += 1


@pytest.mark.parametrize(("page_size", "pages"), [(32, 40), (100, 13)])
def test_marathon_is_read_in_every_page(server, fast_retry, page_size, pages):
    single = SnapshotPolicy(confirm=False)
    with NinepicClient(
        server.keys[ORG], ORG, server.url, page_size=page_size, retry=fast_retry, snapshot=single
    ) as client:
        gallery = client.fetch_gallery(MARATHON)
    # Pages are asked for concurrently: each once, in whatever order the workers got to them;
    # a full last page (1280 photos in pages of 32) is followed by the page past it.
    past = [pages + 1] if 1280 % page_size == 0 else []
    assert sorted(int(q["page"]) for q in _image_requests(server)) == [*range(1, pages + 1), *past]
    assert {q["page_size"] for q in _image_requests(server)} == {str(page_size)}
    assert len(gallery) == 1280
    assert gallery.api_total == 1280
    assert len(gallery.pages) == pages
    assert gallery.page_size == page_size
    assert gallery.image_id[:2] == DOCS_FIRST_IDS
    assert gallery.column("width")[:2] == [3240, 3240] and gallery.column("height")[:2] == [
        4860,
        4860,
    ]
    assert gallery.duplicates_dropped == 0
    server.clear_log()
    assert gallery.image_id == _raw_ids(server, MARATHON, 100)


def test_page_of_each_photo_follows_page_size(server, fast_retry):
    with NinepicClient(server.keys[ORG], ORG, server.url, page_size=32, retry=fast_retry) as c:
        gallery = c.fetch_gallery(MARATHON)
    assert (
        gallery.column("page")[0] == 1
        and gallery.column("page")[31] == 1
        and gallery.column("page")[32] == 2
    )
    assert gallery.column("page")[-1] == 40


def test_empty_event_reads_one_page_and_no_photos(server, client):
    gallery = client.fetch_gallery(EMPTY)
    assert len(gallery) == 0
    assert len(gallery.pages) == 1
    assert gallery.pages[0].pagination.current_page == 0
    assert gallery.api_total == 0
    assert len(_image_requests(server)) == 2  # the read and its confirmation


def test_list_events_reads_every_page(server, client):
    raw = requests.get(
        f"{server.url}/api/v1/ext/{ORG}/events",
        params={"page": 1, "page_size": 100},
        headers={"X-API-Key": server.keys[ORG]},
        timeout=10,
    ).json()["data"]["events"]
    server.clear_log()
    small_pages = NinepicClient(server.keys[ORG], ORG, server.url, page_size=2)
    events = small_pages.list_events()
    assert [e.event_id for e in events] == [item["event_id"] for item in raw]
    assert len([e for e in server.request_log if e.path.endswith("/events")]) == -(-len(raw) // 2)
    assert events[0].event_name == raw[0]["event_name"]


def test_hard_page_cap_stops_the_read_with_an_error(server, fast_retry):
    with (
        NinepicClient(
            server.keys[ORG], ORG, server.url, page_size=100, max_pages=5, retry=fast_retry
        ) as client,
        pytest.raises(GalleryReadError, match="more than 5 pages"),
    ):
        client.fetch_gallery(MARATHON)
    # Page 1 already says 13 pages: nothing past it is asked for.
    assert len(_image_requests(server)) == 1
