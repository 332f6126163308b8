"""The command-line flags of `Chaos`: one per field, and `--chaos everything` as a preset."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Final

from .chaos import Chaos
from .transient import RETRY_AFTER_MODES

# (flag, Chaos field, type, metavar, help). Defaults are None so that a flag given on the
# command line can be told from one left out, which then keeps the preset's value.
_FLAGS: Final[tuple[tuple[str, str, type, str | None, str], ...]] = (
    ("--chaos-seed", "seed", int, "N", "seed of every random chaos choice (default: 0)"),
    (
        "--latency-ms",
        "latency_ms",
        float,
        "MS",
        "delay before answering each request, in milliseconds (default: 0)",
    ),
    (
        "--latency-jitter-ms",
        "latency_jitter_ms",
        float,
        "MS",
        "uniform random extra delay of 0..MS per request (default: 0)",
    ),
    ("--p-429", "p_429", float, "P", "probability of a 429 on any request (default: 0)"),
    (
        "--retry-after",
        "retry_after",
        str,
        None,
        "Retry-After of those 429s: absent (no header), seconds (1 or 2), zero (0), fraction "
        "(0.1-0.9), date (an HTTP date 1-2 s ahead), absurd (86400), garbage (soon), or mixed: "
        "one of the others per 429 (default: mixed)",
    ),
    (
        "--rate-limit-rps",
        "rate_limit_rps",
        float,
        "RPS",
        "token-bucket rate limit over all requests, in requests per second; a request without "
        "a token gets 429 with Retry-After = seconds to the next token (default: 0 = off)",
    ),
    (
        "--rate-limit-burst",
        "rate_limit_burst",
        int,
        "N",
        "size of the rate-limit bucket, full at start (default: 5)",
    ),
    ("--p-500", "p_500", float, "P", "probability of a 500 JSON error (default: 0)"),
    (
        "--p-gateway",
        "p_gateway",
        float,
        "P",
        "probability of a 502/503/504 with an HTML or empty body (default: 0)",
    ),
    (
        "--p-cut-body",
        "p_cut_body",
        float,
        "P",
        "probability that a 200 body stops after about half its Content-Length and the "
        "connection closes (default: 0)",
    ),
    (
        "--mutations",
        "mutations",
        int,
        "N",
        "budget of live uploads/deletions in All Photos galleries; once spent the galleries are "
        "stable (default: 0, or 20 with --chaos everything)",
    ),
    (
        "--p-mutation",
        "p_mutation",
        float,
        "P",
        "probability, per All Photos request while the budget lasts, of inserting a photo at a "
        "random position or deleting one, 50/50 (default: 0.3)",
    ),
    (
        "--p-total-drift",
        "p_total_drift",
        float,
        "P",
        "probability that an All Photos page reports total off by -3..+3, totalPages and "
        "hasNextPage following it, the images unchanged (default: 0)",
    ),
    (
        "--total-lag-answers",
        "total_lag_answers",
        int,
        "N",
        "after each live upload or deletion, N All Photos answers still report the total from "
        "before it, totalPages and hasNextPage following it (default: 0, with --chaos "
        "everything too)",
    ),
    (
        "--p-null-size",
        "p_null_size",
        float,
        "P",
        "share of each event's photos whose width and/or height become null, set once at "
        "start (default: 0)",
    ),
    (
        "--p-missing-size",
        "p_missing_size",
        float,
        "P",
        "share of each event's photos whose width and height keys are left out of the JSON, "
        "set once at start (default: 0)",
    ),
)
_SWITCHES: Final = (
    (
        "--past-end-repeats-last",
        "past_end_repeats_last",
        "an All Photos page past totalPages repeats the last page's images",
    ),
    (
        "--extra-fields",
        "extra_fields",
        "add undocumented fields to envelopes, data, pagination and items",
    ),
)


def add_chaos_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "chaos",
        "Seeded fault modes, all off by default. Transient faults (latency, rate limit, 429, "
        "500, gateway, cut body) hit every endpoint, at most one failure per request; "
        "mutations, total drift and past-end repeats only All Photos. The same seed replays "
        "the same faults for a sequential client (except the clock-driven rate limit).",
    )
    group.add_argument(
        "--chaos",
        choices=("off", "everything"),
        default="off",
        help="preset: everything turns on every mode at modest rates (429 5%%, 500 3%%, "
        "gateway 3%%, cut body 3%%, total drift 5%%, null size 3%%, missing size 2%%, extra "
        "fields, past-end repeats, 20 mutations), no latency or rate limit; the flags below "
        "override it (default: off)",
    )
    for flag, _, kind, metavar, text in _FLAGS:
        extra: dict[str, Any] = {"choices": RETRY_AFTER_MODES} if flag == "--retry-after" else {}
        group.add_argument(flag, type=kind, default=None, metavar=metavar, help=text, **extra)
    for flag, _, text in _SWITCHES:
        group.add_argument(flag, action="store_true", default=None, help=text)


def chaos_from_args(args: argparse.Namespace) -> Chaos:
    """The chaos the flags ask for; raises ValueError for an out-of-range value."""
    named = [(flag, name) for flag, name, *_ in _FLAGS]
    named += [(flag, name) for flag, name, _ in _SWITCHES]
    given: dict[str, Any] = {}
    for flag, name in named:
        value = getattr(args, field_dest(flag))
        if value is not None:
            given[name] = value
    if args.chaos == "everything":
        return Chaos.everything(**given)
    return Chaos(**given)


def field_dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def describe(chaos: Chaos) -> str:
    """The fields that differ from the defaults, as `name=value` words."""
    default = Chaos()
    return " ".join(
        f"{f.name}={getattr(chaos, f.name)}"
        for f in dataclasses.fields(chaos)
        if getattr(chaos, f.name) != getattr(default, f.name) or f.name == "seed"
    )
