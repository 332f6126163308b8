"""CLI: run the sandbox in the foreground until SIGINT or SIGTERM.

python -m ninepic_pipeline.sandbox --port 8765 --key dev-key
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .defaults import DOCS_ORG_ID
from .server import SandboxServer


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
        "--latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="delay before answering each request, in milliseconds (default: 0)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.latency_ms < 0:
        print("error: --latency-ms must not be negative", file=sys.stderr)
        return 2
    if args.key is not None and not args.key:
        print("error: --key must not be empty", file=sys.stderr)
        return 2
    keys = {DOCS_ORG_ID: args.key} if args.key else None
    server = SandboxServer(
        host=args.host, port=args.port, keys=keys, latency_s=args.latency_ms / 1000
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
        sys.stdout.flush()
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
