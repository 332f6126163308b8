"""CLI: run the sandbox in the foreground until SIGINT or SIGTERM.

python -m ninepic_pipeline.sandbox --port 8765 --key dev-key
python -m ninepic_pipeline.sandbox --chaos everything --chaos-seed 7 --photos 100000
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .cache import DEFAULT_MAX_BYTES
from .chaos import Chaos
from .chaos_cli import add_chaos_arguments, chaos_from_args, describe
from .defaults import DOCS_ORG_ID, add_generated_event, default_world
from .server import SandboxServer
from .world import World

DEFAULT_GENERATED_EVENT_ID = 1000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ninepic-sandbox",
        description=(
            "Serve a local 9pic.ai external API (/api/v1/ext/{org_id}/...) over deterministic "
            "generated events. Prints the URL and one API key per organisation, then serves "
            "until interrupted (SIGINT or SIGTERM)."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="TCP port; 0 picks a free one (default: 8765)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--key",
        help=f"API key for org {DOCS_ORG_ID} (default: random); other orgs get random keys",
    )
    parser.add_argument(
        "--photos",
        type=int,
        metavar="N",
        help=f"add one generated event of N photos to org {DOCS_ORG_ID}, e.g. for benchmarks",
    )
    parser.add_argument(
        "--event-id",
        type=int,
        metavar="E",
        help=f"event id of the --photos event (default: {DEFAULT_GENERATED_EVENT_ID})",
    )
    parser.add_argument(
        "--page-cache-mb",
        type=float,
        metavar="MB",
        default=DEFAULT_MAX_BYTES / 2**20,
        help="memory for cached All Photos page bodies, in MiB; 0 turns the cache off "
        f"(default: {DEFAULT_MAX_BYTES // 2**20})",
    )
    add_chaos_arguments(parser)
    return parser


def _generated_event_id(args: argparse.Namespace) -> int:
    return DEFAULT_GENERATED_EVENT_ID if args.event_id is None else int(args.event_id)


def _world(args: argparse.Namespace) -> World:
    """The default world, plus the --photos event; raises ValueError for a bad request."""
    world = default_world()
    if args.photos is None:
        if args.event_id is not None:
            raise ValueError("--event-id needs --photos")
        return world
    if args.photos < 1:
        raise ValueError("--photos must be at least 1")
    event_id = _generated_event_id(args)
    if event_id < 1:
        raise ValueError("--event-id must be a positive integer")
    if world.find_event(DOCS_ORG_ID, event_id) is not None:
        raise ValueError(f"--event-id {event_id}: org {DOCS_ORG_ID} already has that event")
    add_generated_event(world, event_id, args.photos)
    return world


def _settings(args: argparse.Namespace) -> tuple[World, Chaos]:
    if args.latency_ms is not None and args.latency_ms < 0:
        raise ValueError("--latency-ms must not be negative")
    if args.key is not None and not args.key:
        raise ValueError("--key must not be empty")
    if args.page_cache_mb < 0:
        raise ValueError("--page-cache-mb must not be negative")
    return _world(args), chaos_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        world, chaos = _settings(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    keys = {DOCS_ORG_ID: args.key} if args.key else None
    server = SandboxServer(
        world,
        host=args.host,
        port=args.port,
        keys=keys,
        chaos=chaos,
        page_cache_bytes=int(args.page_cache_mb * 2**20),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    try:
        print(f"9pic sandbox listening on {server.url}")
        for org_id, key in sorted(server.keys.items()):
            print(f"org {org_id} key: {key}")
        if args.photos is not None:
            event_id = _generated_event_id(args)
            print(f"org {DOCS_ORG_ID} event {event_id}: {args.photos} photos")
        if chaos.active:
            print(f"chaos: {describe(chaos)}")
        sys.stdout.flush()
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
