"""The default world: the docs' example event plus events that exercise the awkward cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from .data import Event, Photo
from .generate import MIXED_CAMERA_SIZES
from .world import World

DOCS_ORG_ID: Final = 903
DOCS_EVENT_ID: Final = 456
OTHER_ORG_ID: Final = 904

# Verbatim from the All Photos docs example (the second id is not valid hex: it is opaque).
DOCS_PHOTOS: Final = (
    Photo(
        "a4402318-0cf4-4e1e-b8e8-ac8e8f2fc244",
        3240,
        4860,
        datetime(2026, 1, 19, 6, 0, 0, tzinfo=UTC),
    ),
    Photo(
        "b5513429-1d05-5f2f-c9f9-bd9f9g3gd355",
        3240,
        4860,
        datetime(2026, 1, 19, 6, 0, 1, tzinfo=UTC),
    ),
)


def default_world() -> World:
    """A fresh, mutable copy of the default world (same content on every call)."""
    world = World()
    world.add_event(
        DOCS_ORG_ID,
        DOCS_EVENT_ID,
        "City Marathon 2026",
        event_date="2026-01-19T06:00:00",
        photos=1280,
        seed=456_2026,
        span_hours=6,
        # Start wave, then the bulk of the field, then the stragglers.
        hour_weights=(0.8, 1.9, 1.5, 1.0, 0.6, 0.3),
        untimestamped=20,
        lead_photos=DOCS_PHOTOS,
    )
    world.add_event(DOCS_ORG_ID, 457, "Winter Fun Run", event_date="2026-02-08T10:00:00", photos=0)
    world.add_event(
        DOCS_ORG_ID,
        458,
        "Mountain Trail Ultra",
        event_date="2026-03-14T05:00:00",
        photos=250,
        seed=458,
        # 05:00 to 03:00 next morning: the gallery straddles two UTC days.
        span_hours=22,
        untimestamped=4,
        timeline=False,
        sizes=MIXED_CAMERA_SIZES,
    )
    world.add_event(
        DOCS_ORG_ID,
        459,
        "Night Run",
        event_date="2026-04-04T19:00:00",
        photos=333,
        seed=459,
        span_hours=4,
        untimestamped=6,
        null_dims=17,
        sizes=MIXED_CAMERA_SIZES,
    )
    world.add_event(
        DOCS_ORG_ID,
        460,
        "Kids Dash",
        event_date="2026-05-01T09:30:00",
        status="draft",
        photos=37,
        seed=460,
        span_hours=1.5,
        untimestamped=3,
        null_dims=3,
        sizes=MIXED_CAMERA_SIZES,
        cover_image=None,
        selfie_search=False,
    )
    world.add_event(
        OTHER_ORG_ID,
        900,
        "Harbour 10K",
        event_date="2026-06-07T08:00:00",
        photos=50,
        seed=900,
        span_hours=3,
    )
    return world


def add_generated_event(
    world: World, event_id: int, photos: int, org_id: int = DOCS_ORG_ID
) -> Event:
    """Add a large generated event, shaped like the marathon, e.g. for benchmarks.

    Like the default events it has a seed of its own (its ids), a few untimestamped photos and
    a few unknown sizes, so a benchmark reads the same awkward cases at scale.
    """
    return world.add_event(
        org_id,
        event_id,
        f"Generated {photos} photos",
        event_date="2026-07-04T07:00:00",
        photos=photos,
        span_hours=8,
        untimestamped=photos // 100,
        null_dims=photos // 200,
        sizes=MIXED_CAMERA_SIZES,
    )
