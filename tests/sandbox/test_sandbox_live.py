"""Live uploads drawn from a caller's generator (`sandbox/live.py`)."""

from __future__ import annotations

import random

from ninepic_pipeline.sandbox import World
from ninepic_pipeline.sandbox.generate import upload_id
from ninepic_pipeline.sandbox.live import insert_random

ORG, EVENT = 903, 1


def test_an_upload_takes_the_events_own_upload_id_whatever_generator_places_it() -> None:
    # The soak seeds its chaos like the gallery; an upload whose id came from the chaos's
    # generator once drew the id of a photo the gallery had. The id is the event's n-th upload
    # id, the same whichever generator chose where the photo goes.
    for placing_seed in (7, 8):
        world = World()
        world.add_event(ORG, EVENT, name="Live", photos=50, seed=7)
        rng = random.Random(placing_seed)
        uploads = [insert_random(world, (ORG, EVENT), rng)[0] for _ in range(2)]
        event = world.event(ORG, EVENT)
        assert [p.image_id for p in uploads] == [upload_id(event.upload_seed, n) for n in (1, 2)]
        ids = world.photo_ids(ORG, EVENT)
        assert len(ids) == len(set(ids)) == 52
