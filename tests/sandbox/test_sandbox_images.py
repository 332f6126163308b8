"""All Photos: the docs' examples verbatim, paging arithmetic, clamping, ordering."""

from __future__ import annotations

import math
from typing import Any

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api

# Verbatim from all-photos.seed.md, "Images Found" tab.
DOCS_IMAGES: list[dict[str, Any]] = [
    {
        "img_url": "https://photos.9pic.ai/imgs/456/large/a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244.jpg",
        "height": 4860,
        "width": 3240,
        "image_id": "a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244",
        "thumbnail_url": "https://photos.9pic.ai/imgs/456/small/a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244.jpg",
        "original_url": None,
    },
    {
        "img_url": "https://photos.9pic.ai/imgs/456/large/b5513429-1d05-5f2f-c9f9-bd9f9g3gd355.jpg",
        "height": 4860,
        "width": 3240,
        "image_id": "b5513429-1d05-5f2f-c9f9-bd9f9g3gd355",
        "thumbnail_url": "https://photos.9pic.ai/imgs/456/small/b5513429-1d05-5f2f-c9f9-bd9f9g3gd355.jpg",
        "original_url": None,
    },
]
DOCS_PAGINATION = {
    "total": 1280,
    "currentPage": 1,
    "totalPages": 40,
    "hasNextPage": True,
    "hasPreviousPage": False,
    "page_size": 32,
}
# Verbatim from all-photos.seed.md, "Empty Event" tab.
DOCS_EMPTY = {
    "responseType": "success",
    "message": "No images found",
    "data": {
        "images": [],
        "pagination": {
            "total": 0,
            "currentPage": 0,
            "totalPages": 0,
            "hasNextPage": False,
            "hasPreviousPage": False,
            "page_size": 32,
        },
    },
}


def test_first_page_matches_docs_example(api: Api) -> None:
    response = api.get("/event/456/images", page=1, page_size=32)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["responseType"] == "success"
    assert body["message"] == "Records for all images"
    images = body["data"]["images"]
    assert len(images) == 32
    assert images[:2] == DOCS_IMAGES
    assert [list(item) for item in images[:2]] == [list(item) for item in DOCS_IMAGES]
    assert body["data"]["pagination"] == DOCS_PAGINATION
    assert list(body) == ["responseType", "message", "data"]


def test_defaults_are_page_1_of_32(api: Api) -> None:
    body = api.json("/event/456/images")
    assert body["data"]["pagination"] == DOCS_PAGINATION
    assert body["data"]["images"][:2] == DOCS_IMAGES


def _walk(api: Api, page_size: int) -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    paginations: list[dict[str, Any]] = []
    page = 1
    while True:
        data = api.json("/event/456/images", page=page, page_size=page_size)["data"]
        ids.extend(image["image_id"] for image in data["images"])
        paginations.append(data["pagination"])
        if not data["pagination"]["hasNextPage"]:
            return ids, paginations
        page += 1


def test_walking_all_pages_covers_the_gallery_in_order(api: Api, sandbox: SandboxServer) -> None:
    expected = sandbox.world.photo_ids(903, 456)
    assert len(expected) == 1280
    for page_size, pages, last_page_len in ((32, 40, 32), (100, 13, 80)):
        ids, paginations = _walk(api, page_size)
        assert len(paginations) == pages
        assert ids == expected
        assert len(set(ids)) == 1280
        for number, pagination in enumerate(paginations, start=1):
            assert pagination == {
                "total": 1280,
                "currentPage": number,
                "totalPages": pages,
                "hasNextPage": number < pages,
                "hasPreviousPage": number > 1,
                "page_size": page_size,
            }
        assert len(ids) - (pages - 1) * page_size == last_page_len


def test_page_size_over_100_is_clamped(api: Api) -> None:
    data = api.json("/event/456/images", page=2, page_size=500)["data"]
    assert len(data["images"]) == 100
    assert data["pagination"]["page_size"] == 100
    assert data["pagination"]["totalPages"] == 13
    assert data["pagination"]["currentPage"] == 2


def test_odd_page_size_arithmetic(api: Api, sandbox: SandboxServer) -> None:
    expected = sandbox.world.photo_ids(903, 456)
    data = api.json("/event/456/images", page=7, page_size=33)["data"]
    assert [i["image_id"] for i in data["images"]] == expected[6 * 33 : 7 * 33]
    assert data["pagination"]["totalPages"] == math.ceil(1280 / 33) == 39


def test_empty_event_matches_docs_example(api: Api) -> None:
    assert api.json("/event/457/images", page=1, page_size=32) == DOCS_EMPTY
    other_size = api.json("/event/457/images", page_size=7)
    assert other_size["data"]["pagination"]["page_size"] == 7
    assert other_size["data"]["pagination"]["currentPage"] == 0


def test_page_past_the_end_is_empty_with_honest_numbers(api: Api) -> None:
    body = api.json("/event/456/images", page=41, page_size=32)
    assert body["data"]["images"] == []
    assert body["data"]["pagination"] == {
        "total": 1280,
        "currentPage": 41,
        "totalPages": 40,
        "hasNextPage": False,
        "hasPreviousPage": True,
        "page_size": 32,
    }


def test_last_page_is_short(api: Api, sandbox: SandboxServer) -> None:
    data = api.json("/event/456/images", page=13, page_size=100)["data"]
    assert len(data["images"]) == 80
    assert data["pagination"]["hasNextPage"] is False
    # The untimestamped photos close the gallery.
    untimestamped = sandbox.world.untimestamped_count(903, 456)
    last_ids = [i["image_id"] for i in data["images"][-untimestamped:]]
    photos = {p.image_id: p for p in sandbox.world.photos(903, 456)}
    assert all(photos[i].captured_at is None for i in last_ids)


def test_null_dimensions_are_served_as_null(api: Api, sandbox: SandboxServer) -> None:
    photos = sandbox.world.photos(903, 459)
    served = []
    for page in (1, 2, 3, 4):
        served.extend(api.json("/event/459/images", page=page, page_size=100)["data"]["images"])
    assert len(served) == len(photos) == 333
    for item, photo in zip(served, photos, strict=True):
        assert item["image_id"] == photo.image_id
        assert item["width"] == photo.width
        assert item["height"] == photo.height
        assert item["original_url"] is None
        assert item["img_url"] == f"https://photos.9pic.ai/imgs/459/large/{photo.image_id}.jpg"
        assert item["thumbnail_url"] == (
            f"https://photos.9pic.ai/imgs/459/small/{photo.image_id}.jpg"
        )
    null_width = sum(i["width"] is None for i in served)
    null_height = sum(i["height"] is None for i in served)
    only_one = sum((i["width"] is None) != (i["height"] is None) for i in served)
    assert null_width > 0 and null_height > 0 and only_one > 0
    assert 0.03 <= sum(i["width"] is None or i["height"] is None for i in served) / 333 <= 0.07


def test_other_org_gallery(sandbox: SandboxServer) -> None:
    data = Api(sandbox, 904).json("/event/900/images", page_size=100)["data"]
    assert len(data["images"]) == 50
    assert data["images"][0]["img_url"].startswith("https://photos.9pic.ai/imgs/900/large/")
