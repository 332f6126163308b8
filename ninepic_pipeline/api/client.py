"""The 9pic external API, endpoint by endpoint, over `HttpTransport`."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from ninepic_pipeline.api.errors import (
    NinepicConfigError,
    NinepicForbiddenError,
    NinepicResponseError,
    RequestScope,
)
from ninepic_pipeline.api.limiter import OrgLimiter, limiter_for
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
# Sixteen requests in flight hide a 50 ms round trip behind well under 1 ms of work each, and
# the shared limiter backs off for all of them when the gateway says 429.
DEFAULT_MAX_CONCURRENCY = 16

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
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        limiter: OrgLimiter | Literal["shared"] | None = "shared",
    ) -> None:
        """`limiter` "shared" (the default) shares one limiter per organisation and API with
        every client of the process; None turns limiting off (tests that record their waits).
        """
        self.org_id = positive_id(org_id, "NINEPIC_ORG_ID")
        if max_concurrency < 1:
            raise NinepicConfigError(
                f"NINEPIC_MAX_CONCURRENCY must be at least 1, got {max_concurrency}"
            )
        self.max_concurrency = max_concurrency
        self.paginator = PageNumberPaginator(page_size=page_size, max_pages=max_pages)
        self.snapshot = snapshot or SnapshotPolicy(max_pages=max_pages)
        extra = {"sleep": sleep} if sleep is not None else {}
        self.transport = HttpTransport(
            base_url, api_key, timeouts=timeouts, retry=retry, pool_size=max_concurrency, **extra
        )
        if limiter == "shared":
            limiter = limiter_for(self.transport.base_url, self.org_id, max_concurrency)
        if sleep is not None and limiter is not None:
            # The limiter waits out its pace itself: a hook recording the retries' waits would
            # leave the pace's unrecorded, spent in real time.
            raise ValueError("`sleep` stands in for waits only with limiter=None")
        self.transport.limiter = limiter
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
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

    def ping(self, event_id: int, cancelled: threading.Event | None = None) -> bool:
        event_id = positive_id(event_id, "event id")
        scope = self._scope("Ping", event_id)
        url = f"{self._prefix}/event/{event_id}/ping"
        return self.transport.get(url, scope, None, cancelled).data.get("status") == "ok"

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

    def timeline_days(self, event_id: int, cancelled: threading.Event | None = None) -> Timeline:
        """The Photo Timeline; unavailable (not an error) when the event's timeline is off.

        Once `cancelled` is set, a request still retrying gives up at its next failure.
        """
        event_id = positive_id(event_id, "event id")
        scope = self._scope("Photo Timeline", event_id)
        url = f"{self._prefix}/event/{event_id}/timeline/days"
        try:
            data = self.transport.get(url, scope, None, cancelled).data
        except NinepicForbiddenError:
            # 403 here also covers a bad key, so ping first: only a key that works elsewhere
            # makes this 403 mean "timeline disabled for this event".
            self.ping(event_id, cancelled)
            return Timeline(available=False)
        days = data.get("days")
        if not isinstance(days, list):
            raise NinepicResponseError(
                f"9pic API on {scope.describe()} sent no 'days' list; the API may have changed: "
                "report it with the event id",
                scope,
            )
        return Timeline(available=True, days=tuple(TimelineDay.from_json(d, scope) for d in days))

    def fetch_gallery(self, event_id: int, recorded_digest: str | None = None) -> Gallery:
        """A consistent snapshot of the event's photos, in the API's order (see `snapshot`);
        `recorded_digest`, of a snapshot trusted before, spares a still gallery its
        confirming read."""
        return self._read_gallery(event_id, recorded_digest)

    def _read_gallery(
        self,
        event_id: int,
        recorded_digest: str | None = None,
        after_first_page: Callable[[], None] | None = None,
    ) -> Gallery:
        event_id = positive_id(event_id, "event id")
        scope = self._scope("All Photos", event_id)
        retries_before = self.transport.stats.retries[scope.endpoint]
        path = f"{self._prefix}/event/{event_id}/images"
        hooks = [after_first_page] if after_first_page is not None else []

        def fetch_pages(pages: Iterable[int]) -> Iterator[PageResponse]:
            with contextlib.closing(self._fetch_pages(path, pages, scope)) as responses:
                for response in responses:
                    while hooks:
                        hooks.pop()()
                    yield response

        reader = SnapshotReader(
            fetch_pages, scope, self.org_id, event_id, self.snapshot, recorded_digest
        )
        gallery = reader.read()
        gallery.retries = self.transport.stats.retries[scope.endpoint] - retries_before
        return gallery

    def fetch_gallery_and_timeline(
        self, event_id: int, recorded_digest: str | None = None
    ) -> tuple[Gallery, Timeline]:
        """The gallery (`fetch_gallery`) and its Photo Timeline, the timeline requested once
        the gallery's first page has answered, beside the rest of the reads: a round trip less
        for every event, and none for a key or event the API refuses.

        A read that took more passes than it needs saw the gallery change, so a timeline from
        its start may be stale: the timeline is then requested again once the read is trusted.
        """
        if self.max_concurrency == 1:
            gallery = self.fetch_gallery(event_id, recorded_digest)
            return gallery, self._timeline_or_close(gallery, event_id)
        unwanted = threading.Event()
        early: list[Future[Timeline]] = []

        def request_timeline() -> None:
            early.append(self._executor().submit(self.timeline_days, event_id, unwanted))

        try:
            gallery = self._read_gallery(
                event_id, recorded_digest, after_first_page=request_timeline
            )
        except BaseException:
            _drop(early, unwanted)
            raise
        fewest = 1 if gallery.matches_recorded else self.snapshot.min_passes
        still = len(gallery.passes) == fewest and not gallery.drift_accepted
        if still and early:
            return gallery, self._timeline_or_close(gallery, event_id, early[0])
        _drop(early, unwanted)
        return gallery, self._timeline_or_close(gallery, event_id)

    def _timeline_or_close(
        self, gallery: Gallery, event_id: int, early: Future[Timeline] | None = None
    ) -> Timeline:
        """The timeline (the early request's, when given); the gallery's spool is closed when
        it fails, since the caller never gets the gallery to close."""
        try:
            return early.result() if early is not None else self.timeline_days(event_id)
        except BaseException:
            gallery.close()
            raise

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="ninepic")
            return self._pool

    def _fetch_pages(
        self, path: str, pages: Iterable[int], scope: RequestScope
    ) -> Iterator[PageResponse]:
        """The pages in order, up to `max_concurrency` requested at once ahead of the reader.

        A sliding window rather than every page at once: memory holds only the pages in flight,
        and a reader that stops early (a broken listing) leaves nothing running.
        """
        asked: deque[int] = deque()

        def queries() -> Iterator[dict[str, Any]]:
            for page in pages:
                asked.append(page)
                yield self.paginator.params(page)

        answers = self.transport.get_each(path, scope, queries(), self.max_concurrency)
        with contextlib.closing(answers):
            for envelope, answered_at in answers:
                yield _page_response(envelope.data, asked.popleft(), scope, answered_at)

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


def _drop(requests: list[Future[Any]], unwanted: threading.Event) -> None:
    """Requests whose answers are no longer wanted: one still queued never starts, and one
    retrying gives up at its next failure instead of holding up the client's close."""
    unwanted.set()
    for request in requests:
        request.cancel()


def _page_response(
    data: dict[str, Any], page: int, scope: RequestScope, answered_at: datetime
) -> PageResponse:
    images = _items(data, "images", page, scope)
    pagination = Pagination.from_json(data.get("pagination"), scope)
    return PageResponse(page, images, pagination, answered_at)


def _items(data: dict[str, Any], key: str, page: int, scope: RequestScope) -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list):
        raise NinepicResponseError(
            f"9pic API on {scope.describe()} sent page {page} without a {key!r} list; "
            "the API may have changed: report it with the event id",
            scope,
        )
    return items
