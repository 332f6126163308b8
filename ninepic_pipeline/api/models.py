"""The API's record shapes, parsed defensively from JSON.

The docs promise types the API does not always keep ("Fields may be missing or null where the
model says otherwise"), so every parser here accepts what the model allows, turns what it does not
into None where a value is optional, and raises `NinepicResponseError` where the record would be
meaningless without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from ninepic_pipeline.api.errors import NinepicResponseError, RequestScope


def _int(value: Any) -> int | None:
    """An integer from JSON, or None: bools and non-integral floats are not integers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# No camera or stitched panorama comes near a million pixels a side; past it the value is noise.
MAX_SIDE_PX = 1_000_000


def pixels(value: Any) -> int | None:
    """A side in pixels, or None when unknown: zero or less, or beyond any camera, is no size."""
    number = _int(value)
    return number if number is not None and 0 < number <= MAX_SIDE_PX else None


def optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _required_int(payload: dict[str, Any], key: str, scope: RequestScope, what: str) -> int:
    number = _int(payload.get(key))
    if number is None:
        raise NinepicResponseError(
            f"9pic API on {scope.describe()} sent {what} without an integer {key!r}; "
            "the API may have changed: report it with the event id",
            scope,
        )
    return number


@dataclass(frozen=True, slots=True)
class Pagination:
    total: int
    current_page: int
    total_pages: int
    has_next_page: bool
    has_previous_page: bool
    page_size: int

    @classmethod
    def from_json(cls, payload: Any, scope: RequestScope) -> Pagination:
        if not isinstance(payload, dict):
            raise NinepicResponseError(
                f"9pic API on {scope.describe()} sent a page without a pagination object; "
                "the API may have changed: report it with the event id",
                scope,
            )
        return cls(
            total=_required_int(payload, "total", scope, "pagination"),
            current_page=_required_int(payload, "currentPage", scope, "pagination"),
            total_pages=_required_int(payload, "totalPages", scope, "pagination"),
            has_next_page=bool(payload.get("hasNextPage")),
            has_previous_page=bool(payload.get("hasPreviousPage")),
            page_size=_required_int(payload, "page_size", scope, "pagination"),
        )


def _event_fields(payload: dict[str, Any], scope: RequestScope, what: str) -> dict[str, Any]:
    """The fields List Events and Event Details share."""
    return {
        "event_id": _required_int(payload, "event_id", scope, what),
        **{
            name: optional_str(payload.get(name))
            for name in ("event_name", "event_slug", "event_date", "status")
        },
    }


@dataclass(frozen=True, slots=True)
class Event:
    event_id: int
    event_name: str | None
    event_slug: str | None
    event_date: str | None
    status: str | None
    cover_image: str | None

    @classmethod
    def from_json(cls, payload: dict[str, Any], scope: RequestScope) -> Event:
        return cls(
            **_event_fields(payload, scope, "an event"),
            cover_image=optional_str(payload.get("cover_image")),
        )


@dataclass(frozen=True, slots=True)
class EventDetails:
    event_id: int
    event_name: str | None
    event_slug: str | None
    event_date: str | None
    status: str | None
    event_enabled: bool | None
    bib_search: bool | None
    selfie_search: bool | None
    name_search: bool | None
    video_search: bool | None
    video_selfie_search: bool | None
    timeline_search: bool | None

    @classmethod
    def from_json(cls, payload: dict[str, Any], scope: RequestScope) -> EventDetails:
        flags = (
            "event_enabled",
            "bib_search",
            "selfie_search",
            "name_search",
            "video_search",
            "video_selfie_search",
            "timeline_search",
        )
        return cls(
            **_event_fields(payload, scope, "event details"),
            **{flag: _bool(payload.get(flag)) for flag in flags},
        )


@dataclass(frozen=True, slots=True)
class TimelineHour:
    hour: int
    count: int


@dataclass(frozen=True, slots=True)
class TimelineDay:
    date: str
    total: int
    hours: tuple[TimelineHour, ...]

    @classmethod
    def from_json(cls, payload: Any, scope: RequestScope) -> TimelineDay:
        if not isinstance(payload, dict) or not isinstance(payload.get("date"), str):
            raise NinepicResponseError(
                f"9pic API on {scope.describe()} sent a timeline day without a date; "
                "the API may have changed: report it with the event id",
                scope,
            )
        hours = tuple(
            TimelineHour(
                hour=_required_int(item, "hour", scope, "a timeline hour"),
                count=_required_int(item, "count", scope, "a timeline hour"),
            )
            for item in payload.get("hours") or []
            if isinstance(item, dict)
        )
        return cls(
            date=payload["date"],
            total=_required_int(payload, "total", scope, "a timeline day"),
            hours=hours,
        )


@dataclass(frozen=True, slots=True)
class Timeline:
    """Photo Timeline days; `available` is False when the event's timeline is off (403)."""

    available: bool
    days: tuple[TimelineDay, ...] = ()

    @property
    def total(self) -> int | None:
        return sum(day.total for day in self.days) if self.available else None


@dataclass(frozen=True, slots=True)
class PageRead:
    """One page request of a gallery read, as the API answered it."""

    page: int
    pagination: Pagination
    images: int
    new_images: int
    fetched_at: datetime


@dataclass
class PassReport:
    """What one read of every page saw.

    `total_moves` are pages whose `total` differed from the page before; `anomalies` are
    everything else that shows the photos themselves shifted (repeats, short pages, a count
    that misses the total).
    """

    number: int
    pages: int = 0
    totals: list[int] = field(default_factory=list)
    unique: int = 0
    duplicates: int = 0
    total_moves: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    # blake2b of the ids in the order read (duplicates included): two reads agree when equal.
    digest: str = ""

    @property
    def final_total(self) -> int:
        return self.totals[-1] if self.totals else 0

    @property
    def photos_consistent(self) -> bool:
        return not self.anomalies

    @property
    def consistent(self) -> bool:
        return not self.anomalies and not self.total_moves

    @property
    def findings(self) -> list[str]:
        """What was wrong with the read, what moved the photos first."""
        return [*self.anomalies, *self.total_moves]


# Pages and sides fit 32 bits (sides are at most MAX_SIDE_PX, pages are numbered from 1): a
# read of a million photos holds them in 12 MB, not 24.
PHOTO_SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("page", pa.int32(), nullable=False),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
    ]
)
# Kept apart from the small columns: see `records.UrlSpool`.
URL_SCHEMA = pa.schema(
    [
        pa.field("img_url", pa.string()),
        pa.field("thumbnail_url", pa.string()),
        pa.field("original_url", pa.string()),
    ]
)


class UrlBatches(Protocol):
    """Where a read's URL columns wait, row for row with `Gallery.photos`."""

    def batches(self) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


@dataclass
class Gallery:
    """An event's photos in the API's order, deduplicated, as Arrow columns.

    Columns rather than a record per photo keep a large gallery cheap to hold and to write;
    `photos` holds the small columns (`photos.page[i]` is the page photo i first appeared on)
    and `urls` the URL columns of the same rows, batch by batch; `pages` say when each page
    was read.
    `passes` reports every read it took to get a trusted one; `drift_accepted` is set when
    none was and the best read was kept by policy; `matches_recorded` when one read was
    trusted because it matched the snapshot recorded before, in place of a confirming read.
    """

    org_id: int
    event_id: int
    photos: pa.Table = field(default_factory=PHOTO_SCHEMA.empty_table)
    urls: UrlBatches | None = None
    pages: list[PageRead] = field(default_factory=list)
    duplicates_dropped: int = 0
    retries: int = 0
    passes: list[PassReport] = field(default_factory=list)
    drift_accepted: bool = False
    matches_recorded: bool = False

    def __len__(self) -> int:
        return self.photos.num_rows

    def url_batches(self) -> Iterator[pa.RecordBatch]:
        """The URL columns in photo order; none for a gallery without photos."""
        if self.urls is None:
            if self.photos.num_rows:
                raise ValueError("a gallery with photos needs its URL columns")
            return iter(())
        return self.urls.batches()

    def close(self) -> None:
        """Let the spooled URLs go (they are dropped with the process in any case)."""
        if self.urls is not None:
            self.urls.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def column(self, name: str) -> list[Any]:
        return self.photos.column(name).to_pylist()

    @property
    def image_id(self) -> list[str]:
        return self.column("image_id")

    @property
    def api_total(self) -> int:
        """The `total` the last page read reported."""
        return self.pages[-1].pagination.total if self.pages else 0

    @property
    def page_size(self) -> int:
        """The page size the API applied (it clamps what was asked for)."""
        return self.pages[-1].pagination.page_size if self.pages else 0
