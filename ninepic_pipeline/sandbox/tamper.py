"""Edits to a decoded success body: what an inconsistent or evolving real service would send.

Each function changes the document in place; none of them changes the world.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from typing import Any

from .routes import image_item, pagination
from .world import World

Document = dict[str, Any]


def _real_pagination(doc: Document) -> dict[str, Any] | None:
    data = doc.get("data")
    if isinstance(data, dict) and isinstance(data.get("pagination"), dict):
        return data["pagination"]
    return None


def drift_total(doc: Document, delta: int, requested_page: int) -> None:
    """Report `total` off by `delta` (kept at 0 or more), with page counts that follow it."""
    real = _real_pagination(doc)
    if real is None:
        return
    # An empty gallery reports currentPage 0; the drifted total needs the page asked for.
    page = real["currentPage"] or requested_page
    doc["data"]["pagination"] = pagination(max(real["total"] + delta, 0), page, real["page_size"])


def repeat_last_page(doc: Document, world: World, org_id: int, event_id: int) -> bool:
    """Past the last page of a non-empty gallery, send the last page's images again.

    The caller holds the world lock since the response was made, so the last page read here
    is the one that response's total describes. Returns whether the page was replaced.
    """
    real = _real_pagination(doc)
    if real is None or real["total"] == 0 or real["currentPage"] <= real["totalPages"]:
        return False
    size = real["page_size"]
    _, photos = world.page(org_id, event_id, (real["totalPages"] - 1) * size, size)
    doc["data"]["images"] = [image_item(event_id, p) for p in photos]
    return True


def omit_sizes(doc: Document, image_ids: Collection[str]) -> None:
    """Drop the width and height keys of the listed photos' items."""
    data = doc.get("data")
    if not isinstance(data, dict):
        return
    for item in data.get("images") or ():
        if item.get("image_id") in image_ids:
            item.pop("width", None)
            item.pop("height", None)


def _score(text: str) -> float:
    # Stable per photo, so two reads of a page agree even on the made-up fields.
    return (zlib.crc32(text.encode()) % 100) / 100


def add_extra_fields(doc: Document, serial: int) -> None:
    """Fields the API documents nowhere, on every level a client might parse strictly."""
    doc["x_debug"] = {"node": f"api-{serial % 4}", "request": serial}
    data = doc.get("data")
    if not isinstance(data, dict):
        return
    data["x_cache"] = "MISS" if serial % 3 else "HIT"
    page = _real_pagination(doc)
    if page is not None:
        page["next_cursor"] = None
        page["x_total_exact"] = True
    for item in data.get("images") or ():
        item["blur_score"] = _score(str(item.get("image_id")))
        item["tags"] = []
    for item in data.get("events") or ():
        item["x_region"] = "eu-west-1"
