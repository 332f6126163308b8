"""The 9pic external API, endpoint by endpoint, over `HttpTransport`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ninepic_pipeline.api.errors import (
    NinepicConfigError,
    NinepicForbiddenError,
    NinepicResponseError,
    RequestScope,
)
from ninepic_pipeline.api.models import (
    Event,
    EventDetails,
    Gallery,
    PageRead,
    Pagination,
    Timeline,
    TimelineDay,
    optional_str,
    pixels,
)
from ninepic_pipeline.api.paging import DEFAULT_MAX_PAGES, MAX_PAGE_SIZE, PageNumberPaginator
from ninepic_pipeline.api.retry import RetryPolicy
from ninepic_pipeline.api.transport import HttpTransport, Timeouts

DEFAULT_BASE_URL = "https://api.9pic.ai"


def positive_id(value: Any, what: str) -> int:
    """An org or event id: a positive integer, given as an int or its decimal string."""
    text = str(value).strip() if not isinstance(value, bool) else ""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif text.isascii() and text.isdigit():
        number = int(text)
    else:
        number = 0
    if number <= 0:
        raise NinepicConfigError(f"{what} must be a positive integer, got {value!r}")
    return number


class NinepicClient:
    """One organisation's view of the API. Thread-safe: the transport's session is pooled."""

    def __init__(
        self,
        api_key: str,
        org_id: int | str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.org_id = positive_id(org_id, "NINEPIC_ORG_ID")
        self.paginator = PageNumberPaginator(page_size=page_size, max_pages=max_pages)
        extra = {"sleep": sleep} if sleep is not None else {}
        self.transport = HttpTransport(base_url, api_key, timeouts=timeouts, retry=retry, **extra)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> NinepicClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _prefix(self) -> str:
        return f"/api/v1/ext/{self.org_id}"

    def _scope(self, endpoint: str, event_id: int | None = None) -> RequestScope:
        return RequestScope(org_id=self.org_id, event_id=event_id, endpoint=endpoint)

    def ping(self, event_id: int) -> bool:
        event_id = positive_id(event_id, "event id")
        scope = self._scope("Ping", event_id)
        data = self.transport.get(f"{self._prefix}/event/{event_id}/ping", scope).data
        return data.get("status") == "ok"

    def list_events(self) -> list[Event]:
        """Every event of the org, every page, each event once."""
        scope = self._scope("List Events")
        events: dict[int, Event] = {}
        for items, _, _ in self._pages(f"{self._prefix}/events", "events", scope):
            for item in items:
                if isinstance(item, dict):
                    event = Event.from_json(item, scope)
                    events.setdefault(event.event_id, event)
        return list(events.values())

    def event_details(self, event_id: int) -> EventDetails:
        event_id = positive_id(event_id, "event id")
        scope = self._scope("Event Details", event_id)
        data = self.transport.get(f"{self._prefix}/event/{event_id}/details", scope).data
        return EventDetails.from_json(data, scope)

    def timeline_days(self, event_id: int) -> Timeline:
        """The Photo Timeline; unavailable (not an error) when the event's timeline is off."""
        event_id = positive_id(event_id, "event id")
        scope = self._scope("Photo Timeline", event_id)
        try:
            data = self.transport.get(f"{self._prefix}/event/{event_id}/timeline/days", scope).data
        except NinepicForbiddenError:
            # 403 here also covers a bad key, so ping first: only a key that works elsewhere
            # makes this 403 mean "timeline disabled for this event".
            self.ping(event_id)
            return Timeline(available=False)
        days = data.get("days")
        if not isinstance(days, list):
            raise NinepicResponseError(
                f"9pic API on {scope.describe()} sent no 'days' list; the API may have changed: "
                "report it with the event id",
                scope,
            )
        return Timeline(available=True, days=tuple(TimelineDay.from_json(d, scope) for d in days))

    def fetch_gallery(self, event_id: int) -> Gallery:
        """Every page of an event's photos, in the API's order, first occurrence of each id kept."""
        event_id = positive_id(event_id, "event id")
        scope = self._scope("All Photos", event_id)
        retries_before = self.transport.stats.retries
        gallery = Gallery(org_id=self.org_id, event_id=event_id)
        seen: set[str] = set()
        path = f"{self._prefix}/event/{event_id}/images"
        for items, page, pagination in self._pages(path, "images", scope):
            fetched_at = datetime.now(UTC)
            new = 0
            for item in items:
                image_id = _image_id(item, scope)
                if image_id in seen:
                    gallery.duplicates_dropped += 1
                    continue
                seen.add(image_id)
                new += 1
                gallery.image_id.append(image_id)
                gallery.page.append(page)
                gallery.width.append(pixels(item.get("width")))
                gallery.height.append(pixels(item.get("height")))
                gallery.img_url.append(optional_str(item.get("img_url")))
                gallery.thumbnail_url.append(optional_str(item.get("thumbnail_url")))
                gallery.original_url.append(optional_str(item.get("original_url")))
            gallery.pages.append(PageRead(page, pagination, len(items), new, fetched_at))
        gallery.retries = self.transport.stats.retries - retries_before
        return gallery

    def _pages(
        self, path: str, key: str, scope: RequestScope
    ) -> Iterator[tuple[list[Any], int, Pagination]]:
        """(items, page number, pagination) for each page, as the paginator walks them."""
        page: int | None = self.paginator.first_page
        while page is not None:
            data = self.transport.get(path, scope, self.paginator.params(page)).data
            items = data.get(key)
            if not isinstance(items, list):
                raise NinepicResponseError(
                    f"9pic API on {scope.describe()} sent page {page} without a {key!r} list; "
                    "the API may have changed: report it with the event id",
                    scope,
                )
            pagination = Pagination.from_json(data.get("pagination"), scope)
            yield items, page, pagination
            page = self.paginator.next_page(page, pagination, len(items), scope)


def _image_id(item: Any, scope: RequestScope) -> str:
    """The photo's id as an opaque string: the docs call it a UUID but their example is not one."""
    raw = item.get("image_id") if isinstance(item, dict) else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise NinepicResponseError(
            f"9pic API on {scope.describe()} sent a photo without an image_id; the photo cannot "
            "be tracked: report it to 9pic with the event id",
            scope,
        )
    return raw
