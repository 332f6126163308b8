"""The API itself, free of sockets: a request (method, path, query, key) in, a Response out.

Checks run in the order the real service applies them: route, path parameters (400), API key
(401/403), query parameters (422), event lookup (404), per-event feature gate (403).
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import unquote

from .cache import PageCache, PageKey
from .data import Event, Photo, image_url
from .world import World

JSON_TYPE: Final = "application/json"
_PREFIX: Final = r"/api/v1/ext/(?P<org_id>[^/]+)"
_EVENT: Final = _PREFIX + r"/event/(?P<event_id>[^/]+)"
_DECIMAL: Final = re.compile(r"[0-9]+")
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
# Python's int() refuses very long digit strings anyway; this keeps the error a clean 422.
_MAX_DIGITS: Final = 18


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": JSON_TYPE})


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(status: int, message: str, data: object | None) -> Response:
    kind = "success" if 200 <= status < 300 else "error"
    body = {"responseType": kind, "message": message, "data": data}
    return Response(status, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def error_response(status: int, message: str | None = None) -> Response:
    if message is None:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return envelope(status, message, None)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    api_key: str | None


@dataclass(frozen=True)
class _Context:
    world: World
    org_id: int
    params: dict[str, int]
    event_id: int | None = None
    cache: PageCache | None = None

    def event(self) -> Event:
        assert self.event_id is not None
        found = self.world.find_event(self.org_id, self.event_id)
        if found is None:
            raise ApiError(404, "Event not found")
        return found


@dataclass(frozen=True)
class _Paging:
    default: int
    maximum: int


_Handler = Callable[[_Context], Response]


def image_item(event_id: int, photo: Photo) -> dict[str, Any]:
    # Key order copies the docs' example, so byte-level comparisons against it hold.
    return {
        "img_url": image_url(event_id, photo.image_id, "large"),
        "height": photo.height,
        "width": photo.width,
        "image_id": photo.image_id,
        "thumbnail_url": image_url(event_id, photo.image_id, "small"),
        "original_url": None,
    }


def event_list_item(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "event_slug": event.event_slug,
        "event_date": event.event_date,
        "status": event.status,
        "cover_image": event.cover_image,
    }


def event_details(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "event_slug": event.event_slug,
        "event_date": event.event_date,
        "status": event.status,
        "event_enabled": event.event_enabled,
        "bib_search": event.bib_search,
        "selfie_search": event.selfie_search,
        "name_search": event.name_search,
        "video_search": event.video_search,
        "video_selfie_search": event.video_selfie_search,
        "timeline_search": event.timeline_search,
    }


def pagination(total: int, page: int, page_size: int) -> dict[str, Any]:
    if total == 0:
        # What the docs' "Empty Event" example shows: page numbers collapse to 0.
        return {
            "total": 0,
            "currentPage": 0,
            "totalPages": 0,
            "hasNextPage": False,
            "hasPreviousPage": False,
            "page_size": page_size,
        }
    total_pages = math.ceil(total / page_size)
    return {
        "total": total,
        "currentPage": page,
        "totalPages": total_pages,
        "hasNextPage": page < total_pages,
        "hasPreviousPage": page > 1,
        "page_size": page_size,
    }


def _list_events(ctx: _Context) -> Response:
    page, size = ctx.params["page"], ctx.params["page_size"]
    with ctx.world.locked():
        events = ctx.world.events(ctx.org_id)
        items = [event_list_item(e) for e in events[(page - 1) * size : page * size]]
    message = "Records for all events" if events else "No events found"
    return envelope(
        200, message, {"events": items, "pagination": pagination(len(events), page, size)}
    )


def _details(ctx: _Context) -> Response:
    return envelope(200, "Event details", event_details(ctx.event()))


def _images(ctx: _Context) -> Response:
    event = ctx.event()
    page, size = ctx.params["page"], ctx.params["page_size"]
    cache = ctx.cache
    with ctx.world.locked():
        # Version and page under one lock hold: the body stored below is of that version.
        version = ctx.world.gallery_version(ctx.org_id, event.event_id)
        key = PageKey(ctx.org_id, event.event_id, page, size, version)
        body = cache.get(key) if cache is not None else None
        if body is not None:
            return Response(200, body)
        total, photos = ctx.world.page(ctx.org_id, event.event_id, (page - 1) * size, size)
    message = "Records for all images" if total else "No images found"
    data = {
        "images": [image_item(event.event_id, p) for p in photos],
        "pagination": pagination(total, page, size),
    }
    response = envelope(200, message, data)
    if cache is not None:
        cache.put(key, response.body)
    return response


def _timeline_days(ctx: _Context) -> Response:
    event = ctx.event()
    if not event.timeline_search:
        raise ApiError(403, "Timeline search is not enabled for this event")
    days = ctx.world.timeline(ctx.org_id, event.event_id)
    data = {
        "days": [
            {
                "date": day.date,
                "total": day.total,
                "hours": [{"hour": h.hour, "count": h.count} for h in day.hours],
            }
            for day in days
        ]
    }
    return envelope(200, "Timeline days" if days else "No timeline data", data)


def _ping(ctx: _Context) -> Response:
    event = ctx.event()
    data = {"status": "ok", "org_id": ctx.org_id, "event_id": event.event_id}
    return envelope(200, "pong", data)


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    handler: _Handler
    paging: _Paging | None = None


_ROUTES: Final = (
    _Route(re.compile(_PREFIX + r"/events"), _list_events, _Paging(10, 100)),
    _Route(re.compile(_EVENT + r"/details"), _details),
    _Route(re.compile(_EVENT + r"/images"), _images, _Paging(32, 100)),
    _Route(re.compile(_EVENT + r"/timeline/days"), _timeline_days),
    _Route(re.compile(_EVENT + r"/ping"), _ping),
)


def _path_int(name: str, raw: str) -> int:
    value = unquote(raw)
    if not _DECIMAL.fullmatch(value) or len(value) > _MAX_DIGITS:
        raise ApiError(400, f"{name}: value is not a valid integer")
    return int(value)


def _query_params(query: Mapping[str, str], paging: _Paging) -> dict[str, int]:
    errors: list[str] = []
    values: dict[str, int] = {}
    for name, default in (("page", 1), ("page_size", paging.default)):
        raw = query.get(name)
        if raw is None:
            values[name] = default
            continue
        raw = raw.strip()
        if not _INTEGER.fullmatch(raw) or len(raw.lstrip("+-")) > _MAX_DIGITS:
            errors.append(f"{name}: value is not a valid integer")
            continue
        value = int(raw)
        if value < 1:
            errors.append(f"{name}: ensure this value is greater than or equal to 1")
            continue
        values[name] = value
    if errors:
        raise ApiError(422, "; ".join(errors))
    # Over-large pages are clamped rather than refused; the docs leave it open.
    values["page_size"] = min(values["page_size"], paging.maximum)
    return values


def _authorise(keys: Mapping[int, str], org_id: int, api_key: str | None) -> None:
    if not api_key:
        raise ApiError(401, "API key is missing")
    expected = keys.get(org_id)
    # compare_digest: the sandbox should not teach clients that a timing leak is acceptable.
    if expected is None or not hmac.compare_digest(expected.encode(), api_key.encode()):
        raise ApiError(403, "API key is invalid, inactive, or not valid for this organisation")


def handle(
    world: World, keys: Mapping[int, str], request: Request, cache: PageCache | None = None
) -> Response:
    """Answer one request; never raises for a client error.

    `cache`, if given, serves repeated All Photos pages from their stored bodies; leave it out
    whenever something edits the bodies afterwards in ways the gallery's version does not track.
    """
    for route in _ROUTES:
        match = route.pattern.fullmatch(request.path)
        if match:
            break
    else:
        return error_response(404, "Not Found")
    if request.method != "GET":
        response = error_response(405, "Method Not Allowed")
        response.headers["Allow"] = "GET"
        return response
    try:
        org_id = _path_int("org_id", match["org_id"])
        groups = match.groupdict()
        event_id = _path_int("event_id", groups["event_id"]) if "event_id" in groups else None
        _authorise(keys, org_id, request.api_key)
        params = _query_params(request.query, route.paging) if route.paging else {}
        return route.handler(_Context(world, org_id, params, event_id, cache))
    except ApiError as err:
        return error_response(err.status, err.message)
