"""Changes to the world drawn from a random generator: live uploads, deletions, unknown sizes.

Every function takes the caller's `random.Random`, so a seeded caller replays the same changes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from .data import DEFAULT_START, Event, Photo, from_micros, to_micros
from .generate import MARATHON_SIZES, parse_event_date
from .world import World

# How far before the first (or after the last) timed photo an upload at the edge may be taken.
_EDGE: Final = timedelta(minutes=10)
_SECOND: Final = 1_000_000

EventKey = tuple[int, int]


def null_some_side(
    rng: random.Random, width: int | None, height: int | None
) -> tuple[int | None, int | None]:
    """The size with its width, its height or both made unknown (one third each)."""
    kind = rng.randrange(3)
    return (None if kind != 1 else width, None if kind != 0 else height)


def _time_between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    # Whole seconds, like the generated photos, whenever one fits between the neighbours.
    lo_us, hi_us = to_micros(lo), to_micros(hi)
    first, last = -(-lo_us // _SECOND), hi_us // _SECOND
    if first > last:
        return lo
    return from_micros(rng.randint(first, last) * _SECOND)


def _upload_time(rng: random.Random, event: Event, index: int) -> datetime | None:
    """A capture time that puts a new photo exactly at `index` of the event's gallery."""
    gallery = event.gallery
    timed = gallery.timed_count
    if index > timed:
        return None  # among the untimestamped photos, which have no order to keep
    if index < timed:
        after = gallery.photo(index).captured_at
        assert after is not None
        before = gallery.photo(index - 1).captured_at if index > 0 else after - _EDGE
        assert before is not None
        return _time_between(rng, before, after)
    if timed:
        last = gallery.photo(timed - 1).captured_at
        assert last is not None
        return _time_between(rng, last, last + _EDGE)
    return parse_event_date(event.event_date) if event.event_date else DEFAULT_START


def insert_random(
    world: World,
    key: EventKey,
    rng: random.Random,
    *,
    p_null_size: float = 0.0,
    p_missing_size: float = 0.0,
) -> tuple[Photo, bool]:
    """Upload one photo at a random position; returns it and whether its size keys go missing.

    The size comes from the event's cameras; the new photo is subject to the same size faults
    as the photos there at the start, so those stay a stable share of the gallery.
    """
    with world.locked():
        event = world.event(*key)
        index = rng.randint(0, len(event.gallery))
        captured_at = _upload_time(rng, event, index)
        sizes = event.camera_sizes or MARATHON_SIZES
        width, height = rng.choices([s for s, _ in sizes], [w for _, w in sizes])[0]
        missing = p_missing_size > 0 and rng.random() < p_missing_size
        w: int | None = None if missing else width
        h: int | None = None if missing else height
        if not missing and p_null_size > 0 and rng.random() < p_null_size:
            w, h = null_some_side(rng, width, height)
        # The event's own upload ids, not a draw from `rng`: a caller seeds `rng` as the
        # gallery was generated (the soak does), and a draw at the right point replayed the id
        # of a photo the gallery had.
        photo = world.insert_photo(*key, index, width=w, height=h, captured_at=captured_at)
        return photo, missing


def delete_random(world: World, key: EventKey, rng: random.Random) -> Photo:
    """Delete one photo at a random position; the gallery must not be empty."""
    with world.locked():
        return world.delete_photo(*key, rng.randrange(world.photo_count(*key)))


def damage_sizes(
    world: World, rng: random.Random, p_null_size: float, p_missing_size: float
) -> tuple[int, dict[EventKey, set[str]]]:
    """Make sizes unknown in the world, a share of each event's photos for each probability.

    `p_null_size` nulls the width, the height or both; `p_missing_size` nulls both and returns
    those photos' ids, whose width and height keys the responses are to leave out. Returns the
    number of photos nulled and those ids per event.
    """
    nulled = 0
    missing: dict[EventKey, set[str]] = {}
    with world.locked():
        for org_id in world.org_ids:
            for event in world.events(org_id):
                key = (org_id, event.event_id)
                gallery = event.gallery
                n = len(gallery)
                for index in rng.sample(range(n), round(p_null_size * n)):
                    photo = gallery.photo(index)
                    gallery.set_size(index, *null_some_side(rng, photo.width, photo.height))
                    nulled += 1
                for index in rng.sample(range(n), round(p_missing_size * n)):
                    gallery.set_size(index, None, None)
                    missing.setdefault(key, set()).add(gallery.photo(index).image_id)
    return nulled, missing
