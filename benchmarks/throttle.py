"""How well the project's client keeps to a rate limit it is not told: throughput and 429 share.

    .venv/bin/python -m benchmarks.throttle [--rps 50] [--burst 5] [--photos N] [--concurrency C]
        [--latency-ms 0]

The sandbox (in a thread, so its request log is at hand) answers 429 to every request beyond a
token bucket of `--rps` per second and `--burst` tokens, with a Retry-After of the seconds to
the next token. The client reads one gallery with `NinepicClient.fetch_gallery`; a good client
sustains close to the limit (target: at least 0.9 x rps in successful requests per second)
while drawing few 429s (target: at most 5% of its requests). With `--latency-ms`, every answer
(429s included) comes that much later, as across a network: the rate a client learns must be
the gateway's, not its own round trip's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import EVENT, KEY, ORG, fmt, machine_lines, markdown_table, progress

THROUGHPUT_TARGET = 0.9
SHARE_429_TARGET = 0.05
# Long enough that the initial burst and the ramp-up are a small part of the measurement.
DEFAULT_SECONDS_OF_PAGES = 10


@dataclass(frozen=True)
class Outcome:
    rps: float
    photos: int
    wall_s: float
    statuses: Counter[int | None]
    read: int
    error: str = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def sustained(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0

    @property
    def share_429(self) -> float:
        return self.statuses[429] / self.requests if self.requests else 0.0

    def passed(self) -> bool:
        return (
            not self.error
            and self.sustained >= THROUGHPUT_TARGET * self.rps
            and self.share_429 <= SHARE_429_TARGET
        )


def measure(
    rps: float, burst: int, photos: int, concurrency: int | None, latency_ms: float = 0.0
) -> Outcome:
    from ninepic_pipeline.api import NinepicClient
    from ninepic_pipeline.sandbox import Chaos, SandboxServer, World

    world = World()
    world.add_event(ORG, EVENT, name="Throttle", photos=photos, seed=1)
    chaos = Chaos(rate_limit_rps=rps, rate_limit_burst=burst, latency_ms=latency_ms)
    # Only passed when asked for: the client's signature is still moving.
    options: dict[str, Any] = {} if concurrency is None else {"max_concurrency": concurrency}
    with SandboxServer(world, keys={ORG: KEY}, chaos=chaos) as server:
        client = NinepicClient(KEY, ORG, server.url, **options)
        error, read = "", 0
        start = time.perf_counter()
        try:
            read = len(client.fetch_gallery(EVENT))
        except Exception as exc:  # a given-up read is a result to report, not a crash
            error = f"{type(exc).__name__}: {exc}"
        finally:
            wall = time.perf_counter() - start
            client.close()
        statuses = Counter(entry.status for entry in server.request_log)
    if not error and read != photos:
        error = f"read {read} photos of {photos}"
    return Outcome(rps, photos, wall, statuses, read, error)


def report(
    outcomes: Sequence[Outcome], burst: int, concurrency: int | None, latency_ms: float = 0.0
) -> str:
    headers = [
        "limit rps",
        "photos",
        "wall s",
        "requests",
        "200",
        "429",
        "sustained rps (200s / wall)",
        f"≥ {THROUGHPUT_TARGET:g} x limit",
        "429 share",
        f"≤ {SHARE_429_TARGET:.0%}",
        "result",
    ]
    rows = [
        [
            fmt(o.rps, 0),
            f"{o.photos:,}",
            fmt(o.wall_s),
            f"{o.requests:,}",
            f"{o.ok:,}",
            f"{o.statuses[429]:,}",
            fmt(o.sustained, 1),
            "yes" if o.sustained >= THROUGHPUT_TARGET * o.rps else "NO",
            f"{o.share_429:.1%}",
            "yes" if o.share_429 <= SHARE_429_TARGET else "NO",
            "pass" if o.passed() else f"FAIL{': ' + o.error if o.error else ''}",
        ]
        for o in outcomes
    ]
    client = "default" if concurrency is None else str(concurrency)
    return "\n".join(
        [
            "# Reading under an unpublished rate limit",
            "",
            *machine_lines(),
            f"- sandbox token bucket: burst {burst}, latency {latency_ms:g} ms; client: "
            f"`NinepicClient(key, {ORG}, url)."
            f"fetch_gallery({EVENT})`, concurrency {client}, confirmed reads (its default)",
            "",
            markdown_table(headers, rows),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throttle")
    parser.add_argument("--rps", default="50", help="rate limit(s), comma-separated (default: 50)")
    parser.add_argument("--burst", type=int, default=5, help="token bucket size (default: 5)")
    parser.add_argument(
        "--photos",
        type=int,
        help=f"gallery size (default: {DEFAULT_SECONDS_OF_PAGES} s of pages at the limit)",
    )
    parser.add_argument("--concurrency", type=int, help="client max_concurrency (default: its own)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before each answer (default: 0)"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    outcomes = []
    for rps in (float(x) for x in args.rps.split(",") if x.strip()):
        photos = args.photos or int(rps * DEFAULT_SECONDS_OF_PAGES) * 100
        with progress(f"{photos:,} photos under {rps:g} rps"):
            outcomes.append(measure(rps, args.burst, photos, args.concurrency, args.latency_ms))
    text = report(outcomes, args.burst, args.concurrency, args.latency_ms)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if all(o.passed() for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
