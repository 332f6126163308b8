"""A local, stdlib-only server that speaks the 9pic.ai external API over generated data.

    from ninepic_pipeline.sandbox import SandboxServer

    with SandboxServer() as server:          # default world, random keys, free port
        requests.get(f"{server.url}/api/v1/ext/903/event/456/images",
                     headers={"X-API-Key": server.keys[903]})

`SandboxServer(chaos=Chaos(...))` (or `Chaos.everything(seed)`) adds seeded fault modes.

It must not import the rest of ninepic_pipeline: it stands in for the real service in tests
of that code, so it has to stand alone.
"""

from .chaos import STAT_KINDS, Chaos, ChaosEngine
from .data import AUTO, Event, Gallery, Photo, TimelineDay, TimelineHour, image_url
from .defaults import (
    DOCS_EVENT_ID,
    DOCS_ORG_ID,
    DOCS_PHOTOS,
    OTHER_ORG_ID,
    add_generated_event,
    default_world,
)
from .faults import Fault, FaultQueue
from .generate import MARATHON_SIZES, MIXED_CAMERA_SIZES
from .server import RequestLogEntry, SandboxServer
from .world import World

__all__ = [
    "AUTO",
    "DOCS_EVENT_ID",
    "DOCS_ORG_ID",
    "DOCS_PHOTOS",
    "MARATHON_SIZES",
    "MIXED_CAMERA_SIZES",
    "OTHER_ORG_ID",
    "STAT_KINDS",
    "Chaos",
    "ChaosEngine",
    "Event",
    "Fault",
    "FaultQueue",
    "Gallery",
    "Photo",
    "RequestLogEntry",
    "SandboxServer",
    "TimelineDay",
    "TimelineHour",
    "World",
    "add_generated_event",
    "default_world",
    "image_url",
]
