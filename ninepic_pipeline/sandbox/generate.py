"""Deterministic generation of photo galleries.

Every gallery gets its own `random.Random(seed)`: the global generator is never touched, so the
same seed gives the same photos on every start, whatever else the process does.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from .data import Gallery, Photo, to_micros

Sizes = Sequence[tuple[tuple[int, int], float]]

# Event-photographer output: portrait and landscape frames of one body, a few odd crops.
MARATHON_SIZES: Final[Sizes] = (
    ((3240, 4860), 62.0),
    ((4860, 3240), 30.0),
    ((2160, 3240), 3.0),
    ((3240, 3240), 2.0),
    ((4000, 6000), 2.0),
    ((1080, 1620), 1.0),
)

# Several photographers with different bodies and phones.
MIXED_CAMERA_SIZES: Final[Sizes] = (
    ((6000, 4000), 25.0),
    ((4000, 6000), 20.0),
    ((5472, 3648), 15.0),
    ((3648, 5472), 10.0),
    ((4032, 3024), 12.0),
    ((3024, 4032), 8.0),
    ((3000, 3000), 6.0),
    ((8192, 5464), 2.0),
    ((1920, 1080), 2.0),
)

_SECOND: Final = 1_000_000


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def parse_event_date(event_date: str) -> datetime:
    """Read the API's zone-less local `event_date` as UTC (the sandbox has no time zones)."""
    moment = datetime.fromisoformat(event_date)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_uuid(bits: int) -> str:
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def upload_id(upload_seed: str, n: int) -> str:
    """Id of the n-th photo uploaded after start: stable for a given seed and n."""
    return format_uuid(random.Random(f"{upload_seed}/{n}").getrandbits(128))


def _capture_seconds(
    rng: random.Random,
    count: int,
    lo: int,
    end: int,
    hour_starts: list[int],
    hour_weights: Sequence[float],
) -> list[int]:
    """`count` sorted capture times (whole epoch seconds) in [lo, end), weighted per hour.

    Whole seconds, like EXIF timestamps, so busy galleries contain ties: exactly the case the
    stable ordering has to handle.
    """
    windows: list[tuple[int, int]] = []
    weights: list[float] = []
    for start, weight in zip(hour_starts, hour_weights, strict=True):
        a, b = max(start, lo), min(start + 3600, end)
        if b > a and weight > 0:
            windows.append((a, b - a))
            # A window cut short by `lo` or `end` gets the matching share of its hour's weight.
            weights.append(weight * (b - a) / 3600)
    if count and not windows:
        raise ValueError("no time window left for timestamped photos")
    picks = rng.choices(windows, weights, k=count)
    r = rng.random
    seconds = [a + int(r() * width) for a, width in picks]
    seconds.sort()
    return seconds


def generate_gallery(
    photos: int,
    *,
    seed: int | str,
    start: datetime,
    span_hours: float = 6.0,
    hour_weights: Sequence[float] | None = None,
    untimestamped: int = 0,
    null_dims: int = 0,
    sizes: Sizes | None = None,
    lead_photos: Sequence[Photo] = (),
) -> Gallery:
    """A gallery of `photos` photos in gallery order.

    - `lead_photos` come first, verbatim, and count towards `photos`; one without a capture time
      is given `start` plus its position in seconds. The generated photos come after them.
    - Capture times fall in [start, start + span_hours), each hour weighted by `hour_weights`
      (default: random weights, so the per-hour counts are uneven).
    - `untimestamped` generated photos have no capture time and therefore come last.
    - `null_dims` generated photos lose their width, their height, or both (in turn).
    - `sizes`: ((width, height), weight) pairs; default MARATHON_SIZES.
    """
    lead = list(lead_photos)
    generated = photos - len(lead)
    if generated < 0:
        raise ValueError(f"{len(lead)} lead photos exceed the {photos} photos requested")
    if not 0 <= untimestamped <= generated:
        raise ValueError(f"untimestamped must be within 0..{generated}")
    if not 0 <= null_dims <= generated:
        raise ValueError(f"null_dims must be within 0..{generated}")
    rng = random.Random(seed)
    start_s = to_micros(start) // _SECOND
    end_s = start_s + math.ceil(span_hours * 3600)
    hour_starts = list(range(start_s, end_s, 3600))
    if hour_weights is None:
        hour_weights = [rng.uniform(0.3, 1.7) for _ in hour_starts]
    elif len(hour_weights) != len(hour_starts):
        raise ValueError(f"hour_weights needs {len(hour_starts)} values, got {len(hour_weights)}")

    ids: list[str] = []
    widths: list[int | None] = []
    heights: list[int | None] = []
    times: list[int | None] = []
    lo = start_s
    for i, photo in enumerate(lead):
        moment = photo.captured_at or start + timedelta(seconds=i)
        ids.append(photo.image_id)
        widths.append(photo.width)
        heights.append(photo.height)
        times.append(to_micros(moment))
        # Generated photos start strictly after the last lead photo, so the lead stays first.
        lo = max(lo, -(-to_micros(moment) // _SECOND) + 1)

    timed = generated - untimestamped
    seconds = _capture_seconds(rng, timed, lo, end_s, hour_starts, hour_weights)
    times.extend([s * _SECOND for s in seconds])
    times.extend([None] * untimestamped)

    bits = rng.getrandbits
    ids.extend([format_uuid(bits(128)) for _ in range(generated)])
    chosen = rng.choices(
        [s for s, _ in sizes or MARATHON_SIZES],
        [w for _, w in sizes or MARATHON_SIZES],
        k=generated,
    )
    first = len(lead)
    widths.extend([w for w, _ in chosen])
    heights.extend([h for _, h in chosen])
    for n, i in enumerate(sorted(rng.sample(range(generated), null_dims))):
        kind = n % 3
        if kind != 1:
            widths[first + i] = None
        if kind != 0:
            heights[first + i] = None
    return Gallery.from_columns(ids, widths, heights, times)
