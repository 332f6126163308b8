"""Value types of the sandbox world: photos, timeline buckets, galleries and events.

A gallery is stored column-wise (parallel lists) in gallery order, so a page is a slice of four
lists and a gallery of a million photos costs a few tens of MB instead of a million objects.
Capture times are kept as integer microseconds since the Unix epoch (UTC) so that ordering and
timeline bucketing are plain integer arithmetic.
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

PHOTO_HOST: Final = "https://photos.9pic.ai"
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_HOUR: Final = 3_600_000_000
# Capture start for generated galleries whose event has no event_date.
DEFAULT_START: Final = datetime(2026, 1, 19, 6, 0, tzinfo=UTC)
# One counter for every gallery of the process: a version then names one state of one gallery,
# so a cache keyed by it cannot mistake a new gallery (another world, a replaced event) for an
# old one that happened to reach the same count.
_VERSIONS: Final = itertools.count(1)


def image_url(event_id: int, image_id: str, variant: str = "large") -> str:
    """URL of one variant ("large" or "small") of a photo, as the real API spells it."""
    return f"{PHOTO_HOST}/imgs/{event_id}/{variant}/{image_id}.jpg"


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"capture time must be timezone-aware, got naive {moment!r}")
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo as the API exposes it; `captured_at` is aware UTC or None."""

    image_id: str
    width: int | None
    height: int | None
    captured_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TimelineHour:
    hour: int
    count: int


@dataclass(frozen=True, slots=True)
class TimelineDay:
    date: str
    total: int
    hours: tuple[TimelineHour, ...]


class Auto(enum.Enum):
    """Sentinel for "derive this value", distinct from an explicit None."""

    AUTO = "AUTO"


AUTO: Final = Auto.AUTO


def _check_photo(photo: Photo) -> int | None:
    if not isinstance(photo.image_id, str) or not photo.image_id:
        raise ValueError("image_id must be a non-empty string")
    for name in ("width", "height"):
        value = getattr(photo, name)
        # bool is an int subclass; a True width would serialise as `true`, not a number.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name} must be an int or None, got {value!r}")
    return None if photo.captured_at is None else to_micros(photo.captured_at)


class Gallery:
    """The photos of one event in gallery order. Not thread-safe: `World` holds the lock.

    Invariant: the first `timed_count` entries have capture times in non-decreasing order and
    the rest have none. Equal times keep their physical order, which plays the role of the
    per-photo sequence number that makes the real ordering stable.
    """

    __slots__ = ("_heights", "_hours_cache", "_ids", "_timed", "_times", "_version", "_widths")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._widths: list[int | None] = []
        self._heights: list[int | None] = []
        self._times: list[int | None] = []
        self._timed = 0
        self._version = next(_VERSIONS)
        self._hours_cache: tuple[int, dict[int, int]] | None = None

    @classmethod
    def from_columns(
        cls,
        ids: list[str],
        widths: list[int | None],
        heights: list[int | None],
        times: list[int | None],
    ) -> Gallery:
        """Adopt prebuilt columns (no copy); they must already be in gallery order."""
        if not len(ids) == len(widths) == len(heights) == len(times):
            raise ValueError("gallery columns differ in length")
        timed = 0
        previous: int | None = None
        for t in times:
            if t is None:
                break
            if previous is not None and t < previous:
                raise ValueError("capture times are not in ascending order")
            previous = t
            timed += 1
        if any(t is not None for t in times[timed:]):
            raise ValueError("a timestamped photo follows an untimestamped one")
        gallery = cls()
        gallery._ids, gallery._widths, gallery._heights = ids, widths, heights
        gallery._times, gallery._timed = times, timed
        return gallery

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def timed_count(self) -> int:
        return self._timed

    @property
    def untimestamped_count(self) -> int:
        return len(self._ids) - self._timed

    @property
    def version(self) -> int:
        """Changes on every insert, delete and size change; unique across all galleries."""
        return self._version

    def _photo(self, i: int) -> Photo:
        t = self._times[i]
        return Photo(
            self._ids[i], self._widths[i], self._heights[i], None if t is None else from_micros(t)
        )

    def photo(self, index: int) -> Photo:
        return self._photo(range(len(self._ids))[index])

    def page(self, start: int, stop: int) -> list[Photo]:
        return [self._photo(i) for i in range(len(self._ids))[start:stop]]

    def photos(self) -> list[Photo]:
        return self.page(0, len(self._ids))

    def ids(self) -> list[str]:
        return list(self._ids)

    def fitting_time(self, index: int) -> datetime | None:
        """A capture time that lets a new photo sit exactly at `index` without breaking order."""
        if 0 <= index < self._timed:
            t = self._times[index]
        elif index == self._timed > 0:
            t = self._times[index - 1]
        else:
            return None
        return None if t is None else from_micros(t)

    def insert(self, index: int, photo: Photo) -> None:
        """Put `photo` at `index`, refusing a position that would break capture-time order and
        an id the gallery has (the API's ids are unique)."""
        t = _check_photo(photo)
        if photo.image_id in self._ids:
            raise ValueError(f"photo id {photo.image_id} is already in the gallery")
        if not 0 <= index <= len(self._ids):
            raise IndexError(f"insert index {index} out of range 0..{len(self._ids)}")
        times = self._times
        if t is None:
            if index < self._timed:
                raise ValueError(
                    f"an untimestamped photo must go at index >= {self._timed} (after the timed)"
                )
        else:
            if index > self._timed:
                raise ValueError(f"a timestamped photo must go at index <= {self._timed}")
            before = times[index - 1] if index > 0 else None
            after = times[index] if index < self._timed else None
            if (before is not None and t < before) or (after is not None and t > after):
                raise ValueError(f"capture time {photo.captured_at} does not fit at index {index}")
            self._timed += 1
        self._ids.insert(index, photo.image_id)
        self._widths.insert(index, photo.width)
        self._heights.insert(index, photo.height)
        times.insert(index, t)
        self._version = next(_VERSIONS)

    def set_size(self, index: int, width: int | None, height: int | None) -> None:
        """Replace the dimensions of the photo at `index` (e.g. to make them unknown)."""
        index = range(len(self._ids))[index]
        _check_photo(Photo(self._ids[index], width, height))
        self._widths[index] = width
        self._heights[index] = height
        # Sizes are in every page body, so cached pages must go stale too; the hour counts
        # keyed by the same version are recomputed once more than needed, which is cheap.
        self._version = next(_VERSIONS)

    def position_for(self, captured_at: datetime | None) -> int:
        """Where a new photo with this capture time lands: after all photos with equal time."""
        if captured_at is None:
            return len(self._ids)
        # Only the timed prefix is searched, so the None entries are never compared.
        return bisect.bisect_right(self._times, to_micros(captured_at), 0, self._timed)  # type: ignore[arg-type]

    def delete(self, index: int) -> Photo:
        index = range(len(self._ids))[index]
        photo = self._photo(index)
        for column in (self._ids, self._widths, self._heights, self._times):
            del column[index]
        if index < self._timed:
            self._timed -= 1
        self._version = next(_VERSIONS)
        return photo

    def hour_counts(self) -> dict[int, int]:
        """Photo count per UTC hour (hours since the epoch); cached until the next mutation."""
        cache = self._hours_cache
        if cache is None or cache[0] != self._version:
            timed: list[int] = self._times[: self._timed]  # type: ignore[assignment]
            counts = dict(sorted(Counter(t // MICROS_PER_HOUR for t in timed).items()))
            cache = self._hours_cache = (self._version, counts)
        return cache[1]

    def timeline(self) -> list[TimelineDay]:
        days: dict[str, list[TimelineHour]] = {}
        for hour_index, count in self.hour_counts().items():
            moment = EPOCH + timedelta(hours=hour_index)
            days.setdefault(moment.date().isoformat(), []).append(TimelineHour(moment.hour, count))
        return [
            TimelineDay(date, sum(h.count for h in hours), tuple(hours))
            for date, hours in days.items()
        ]


@dataclass(eq=False)
class Event:
    """An event's metadata, named as in the API, plus its gallery."""

    org_id: int
    event_id: int
    event_name: str | None
    event_slug: str | None = None
    event_date: str | None = None
    status: str | None = "active"
    cover_image: str | None = None
    event_enabled: bool = True
    bib_search: bool = True
    selfie_search: bool = True
    name_search: bool = False
    video_search: bool = False
    video_selfie_search: bool = False
    timeline_search: bool = True
    gallery: Gallery = field(default_factory=Gallery, repr=False)
    # Drives ids of photos uploaded later, so a replayed test sees the same ids.
    upload_seed: str = ""
    uploads: int = 0
    # ((width, height), weight) pairs the gallery was generated from, so photos uploaded later
    # come from the same cameras; empty means the generator's default.
    camera_sizes: Sequence[tuple[tuple[int, int], float]] = ()
