"""The world the sandbox serves: organisations, their events and galleries, behind one lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from .data import (
    AUTO,
    DEFAULT_START,
    Auto,
    Event,
    Gallery,
    Photo,
    TimelineDay,
    image_url,
)
from .generate import (
    MARATHON_SIZES,
    Sizes,
    generate_gallery,
    parse_event_date,
    slugify,
    upload_id,
)

_T = TypeVar("_T")


class World:
    """All organisations and events the sandbox serves. Every access goes through one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orgs: dict[int, dict[int, Event]] = {}

    @contextmanager
    def locked(self) -> Iterator[World]:
        """Hold the world lock across several calls, e.g. to read a consistent snapshot."""
        with self._lock:
            yield self

    def add_org(self, org_id: int) -> None:
        """Register an organisation (it may have no events: its list is then empty)."""
        with self._lock:
            self._orgs.setdefault(org_id, {})

    @property
    def org_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._orgs)

    def has_org(self, org_id: int) -> bool:
        with self._lock:
            return org_id in self._orgs

    def add_event(
        self,
        org_id: int,
        event_id: int,
        name: str | None = None,
        *,
        photos: int = 0,
        seed: int | str | None = None,
        timeline: bool = True,
        status: str | None = "active",
        slug: str | Auto | None = AUTO,
        event_date: str | None = None,
        cover_image: str | Auto | None = AUTO,
        start: datetime | None = None,
        span_hours: float = 6.0,
        hour_weights: Sequence[float] | None = None,
        untimestamped: int = 0,
        null_dims: int = 0,
        sizes: Sizes | None = None,
        lead_photos: Sequence[Photo] = (),
        event_enabled: bool = True,
        bib_search: bool = True,
        selfie_search: bool = True,
        name_search: bool = False,
        video_search: bool = False,
        video_selfie_search: bool = False,
    ) -> Event:
        """Add an event with a generated gallery of `photos` photos.

        Generation is deterministic in `seed` (default: derived from org and event ids). See
        `generate.generate_gallery` for the meaning of the gallery shape arguments. `slug`
        defaults to a slug of `name`; `cover_image` defaults to the first photo's large URL
        (None for an empty gallery); `start` defaults to `event_date` read as UTC.
        """
        if start is None:
            start = parse_event_date(event_date) if event_date else DEFAULT_START
        effective_seed: int | str = f"{org_id}/{event_id}" if seed is None else seed
        gallery = generate_gallery(
            photos,
            seed=effective_seed,
            start=start,
            span_hours=span_hours,
            hour_weights=hour_weights,
            untimestamped=untimestamped,
            null_dims=null_dims,
            sizes=sizes,
            lead_photos=lead_photos,
        )
        if isinstance(cover_image, Auto):
            cover_image = image_url(event_id, gallery.photo(0).image_id) if len(gallery) else None
        event = Event(
            org_id=org_id,
            event_id=event_id,
            event_name=name,
            event_slug=(slugify(name) if name else None) if isinstance(slug, Auto) else slug,
            event_date=event_date,
            status=status,
            cover_image=cover_image,
            event_enabled=event_enabled,
            bib_search=bib_search,
            selfie_search=selfie_search,
            name_search=name_search,
            video_search=video_search,
            video_selfie_search=video_selfie_search,
            timeline_search=timeline,
            gallery=gallery,
            upload_seed=f"{effective_seed}/uploads",
            camera_sizes=tuple(sizes or MARATHON_SIZES),
        )
        with self._lock:
            events = self._orgs.setdefault(org_id, {})
            if event_id in events:
                raise ValueError(f"event {event_id} already exists in org {org_id}")
            events[event_id] = event
        return event

    def events(self, org_id: int) -> list[Event]:
        """The org's events ordered by event_id (unknown org: empty list)."""
        with self._lock:
            events = self._orgs.get(org_id, {})
            return [events[k] for k in sorted(events)]

    def find_event(self, org_id: int, event_id: int) -> Event | None:
        with self._lock:
            return self._orgs.get(org_id, {}).get(event_id)

    def event(self, org_id: int, event_id: int) -> Event:
        found = self.find_event(org_id, event_id)
        if found is None:
            raise KeyError(f"no event {event_id} in org {org_id}")
        return found

    def _with_gallery(self, org_id: int, event_id: int, action: Callable[[Gallery], _T]) -> _T:
        with self._lock:
            return action(self.event(org_id, event_id).gallery)

    def photos(self, org_id: int, event_id: int) -> list[Photo]:
        """Snapshot of the event's photos in gallery order."""
        return self._with_gallery(org_id, event_id, Gallery.photos)

    def photo_ids(self, org_id: int, event_id: int) -> list[str]:
        return self._with_gallery(org_id, event_id, Gallery.ids)

    def photo_count(self, org_id: int, event_id: int) -> int:
        return self._with_gallery(org_id, event_id, len)

    def untimestamped_count(self, org_id: int, event_id: int) -> int:
        return self._with_gallery(org_id, event_id, lambda g: g.untimestamped_count)

    def page(self, org_id: int, event_id: int, offset: int, limit: int) -> tuple[int, list[Photo]]:
        """(total, photos[offset:offset+limit]) read atomically, so they always agree."""
        return self._with_gallery(
            org_id, event_id, lambda g: (len(g), g.page(offset, offset + limit))
        )

    def gallery_version(self, org_id: int, event_id: int) -> int:
        """The gallery's current version: it changes whenever a page of it could read otherwise."""
        return self._with_gallery(org_id, event_id, lambda g: g.version)

    def timeline(self, org_id: int, event_id: int) -> list[TimelineDay]:
        return self._with_gallery(org_id, event_id, Gallery.timeline)

    def _new_photo(
        self,
        event: Event,
        image_id: str | None,
        width: int | None,
        height: int | None,
        captured_at: datetime | None,
    ) -> Photo:
        if image_id is None:
            event.uploads += 1
            image_id = upload_id(event.upload_seed, event.uploads)
        return Photo(image_id, width, height, captured_at)

    def insert_photo(
        self,
        org_id: int,
        event_id: int,
        index: int,
        *,
        image_id: str | None = None,
        width: int | None = 3240,
        height: int | None = 4860,
        captured_at: datetime | Auto | None = AUTO,
    ) -> Photo:
        """Insert a photo so that it sits at gallery position `index` (a live upload).

        By default it takes the capture time of the photo now at `index` (or of the last timed
        photo when inserted right after them), which keeps the order valid; an explicit
        `captured_at` must fit between its neighbours. `image_id` defaults to a deterministic id.
        """
        with self._lock:
            event = self.event(org_id, event_id)
            gallery = event.gallery
            if isinstance(captured_at, Auto):
                captured_at = gallery.fitting_time(index)
            photo = self._new_photo(event, image_id, width, height, captured_at)
            gallery.insert(index, photo)
            return photo

    def add_photo(
        self,
        org_id: int,
        event_id: int,
        *,
        captured_at: datetime | None,
        image_id: str | None = None,
        width: int | None = 3240,
        height: int | None = 4860,
    ) -> int:
        """Upload a photo at the position its capture time gives it; returns that index."""
        with self._lock:
            event = self.event(org_id, event_id)
            photo = self._new_photo(event, image_id, width, height, captured_at)
            index = event.gallery.position_for(captured_at)
            event.gallery.insert(index, photo)
            return index

    def delete_photo(self, org_id: int, event_id: int, index: int) -> Photo:
        """Remove and return the photo at gallery position `index`."""
        return self._with_gallery(org_id, event_id, lambda g: g.delete(index))

    def set_size(
        self, org_id: int, event_id: int, index: int, width: int | None, height: int | None
    ) -> None:
        """Replace the dimensions of the photo at gallery position `index`."""
        self._with_gallery(org_id, event_id, lambda g: g.set_size(index, width, height))
