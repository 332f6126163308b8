"""The 9pic external API, endpoint by endpoint, over `HttpTransport`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
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
    Pagination,
    Timeline,
    TimelineDay,
)
from ninepic_pipeline.api.paging import DEFAULT_MAX_PAGES, MAX_PAGE_SIZE, PageNumberPaginator
from ninepic_pipeline.api.retry import RetryPolicy
from ninepic_pipeline.api.snapshot import PageResponse, SnapshotPolicy, SnapshotReader
from ninepic_pipeline.api.transport import HttpTransport, Timeouts

DEFAULT_BASE_URL = "https://api.9pic.ai"

log = logging.getLogger(__name__)


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
        if value is None or text == "":
            raise NinepicConfigError(f"{what} is not set; set it to a positive integer")
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
        snapshot: SnapshotPolicy | None = None,
    ) -> None:
        self.org_id = positive_id(org_id, "NINEPIC_ORG_ID")
        self.paginator = PageNumberPaginator(page_size=page_size, max_pages=max_pages)
        self.snapshot = snapshot or SnapshotPolicy(max_pages=max_pages)
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
        """Every event of the org, every page, each event once.

        An item that is not an event with a positive id is left out with a warning: one bad
        record must not stop the org's other events from being read.
        """
        scope = self._scope("List Events")
        events: dict[int, Event] = {}
        for items, page, _ in self._pages(f"{self._prefix}/events", "events", scope):
            for item in items:
                event = Event.from_json(item, scope) if isinstance(item, dict) else None
                if event is None or event.event_id <= 0:
                    log.warning(
                        "List Events page %d of org %d: skipped %r", page, self.org_id, item
                    )
                    continue
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
        """A consistent snapshot of the event's photos, in the API's order (see `snapshot`)."""
        event_id = positive_id(event_id, "event id")
        scope = self._scope("All Photos", event_id)
        retries_before = self.transport.stats.retries
        path = f"{self._prefix}/event/{event_id}/images"

        def fetch_pages(pages: Iterable[int]) -> Iterator[PageResponse]:
            for page in pages:
                yield self._image_page(path, page, scope)

        reader = SnapshotReader(fetch_pages, scope, self.org_id, event_id, self.snapshot)
        gallery = reader.read()
        gallery.retries = self.transport.stats.retries - retries_before
        return gallery

    def _image_page(self, path: str, page: int, scope: RequestScope) -> PageResponse:
        data = self.transport.get(path, scope, self.paginator.params(page)).data
        images = _items(data, "images", page, scope)
        pagination = Pagination.from_json(data.get("pagination"), scope)
        return PageResponse(page, images, pagination, datetime.now(UTC))

    def _pages(
        self, path: str, key: str, scope: RequestScope
    ) -> Iterator[tuple[list[Any], int, Pagination]]:
        """(items, page number, pagination) for each page, as the paginator walks them."""
        page: int | None = self.paginator.first_page
        while page is not None:
            data = self.transport.get(path, scope, self.paginator.params(page)).data
            items = _items(data, key, page, scope)
            pagination = Pagination.from_json(data.get("pagination"), scope)
            yield items, page, pagination
            page = self.paginator.next_page(page, pagination, len(items), scope)


def _items(data: dict[str, Any], key: str, page: int, scope: RequestScope) -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list):
        raise NinepicResponseError(
            f"9pic API on {scope.describe()} sent page {page} without a {key!r} list; "
            "the API may have changed: report it with the event id",
            scope,
        )
    return items
