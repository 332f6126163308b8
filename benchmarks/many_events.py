"""What a nightly run costs per event beyond the API: 200 small events, two ways of running them.

    .venv/bin/python -m benchmarks.many_events [--events 200] [--photos 20] [--sample 10]
        [--latency-ms 0] [--instance dagster_home/dagster.production.yaml]  # with DAGSTER_PG_*

The sandbox (latency 0 unless `--latency-ms`) runs in a thread of this process, so its request
log tells how many requests each run made. The Dagster instance is a temporary DAGSTER_HOME
whose dagster.yaml is a copy of the checkout's (`--instance`: another instance file, such as the
production one on PostgreSQL, whose database should be empty). Then:

(a) in-process sequential: one child process runs `gallery_job` with `execute_in_process` for
    every partition, one after the other: the cheapest way through Dagster.
(b) one process per run: for a sample of partitions, `dagster job execute` in a process of its
    own, as the default run launcher starts one process per run the schedule requests.
(c) the batch: `nightly_batch_job`, one run that publishes every partition in its one step
    (what `nightly_galleries_batched` launches), in a child process on a fresh instance and
    warehouse, so that it too reads every event for the first time.

A bare read of each event with the project's client (no Dagster, no tables) gives the API's own
share, so "overhead" is what Dagster, the tables and the process cost on top of it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    KEY,
    ORG,
    PYTHON,
    ROOT,
    Measured,
    clean_env,
    fmt,
    machine_lines,
    markdown_table,
    progress,
    run_measured,
)

FIRST_EVENT = 2001
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


DEFAULT_INSTANCE = ROOT / "dagster_home" / "dagster.yaml"


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def event_ids(count: int) -> list[int]:
    return list(range(FIRST_EVENT, FIRST_EVENT + count))


def pipeline_env(url: str, home: Path, warehouse: Path) -> dict[str, str]:
    return clean_env(
        NINEPIC_API_KEY=KEY,
        NINEPIC_ORG_ID=str(ORG),
        NINEPIC_BASE_URL=url,
        NINEPIC_WAREHOUSE=str(warehouse),
        DAGSTER_HOME=str(home),
    )


def bare_reads(url: str, events: list[int]) -> dict[str, Any]:
    """In a child: each event read with the project's client alone, as a run reads it."""
    from ninepic_pipeline.api import NinepicClient

    seconds: list[float] = []
    with NinepicClient(KEY, ORG, url) as client:
        for event in events:
            start = time.perf_counter()
            gallery, _ = client.fetch_gallery_and_timeline(event)
            gallery.close()
            seconds.append(time.perf_counter() - start)
    return {"bare_s": seconds}


def sequential_runs(url: str, events: list[int]) -> dict[str, Any]:
    """(a) in a child: one `gallery_job` run per event, one after the other, each timed."""
    import dagster as dg

    from ninepic_pipeline.definitions import defs

    job = defs.resolve_job_def("gallery_job")
    instance = dg.DagsterInstance.get()
    walls: list[float] = []
    start_all = time.perf_counter()
    for event in events:
        start = time.perf_counter()
        result = job.execute_in_process(
            instance=instance,
            partition_key=str(event),
            run_config=QUIET,
            tags={"ninepic/event": str(event)},
        )
        walls.append(time.perf_counter() - start)
        if not result.success:
            raise RuntimeError(f"gallery_job failed for event {event}")
    return {"run_s": walls, "total_s": time.perf_counter() - start_all}


def batch_run(url: str, events: list[int]) -> dict[str, Any]:
    """(c) in a child: one run of `nightly_batch_job` over every partition, timed."""
    import dagster as dg

    from ninepic_pipeline.definitions import defs

    job = defs.resolve_job_def("nightly_batch_job")
    instance = dg.DagsterInstance.get()
    start = time.perf_counter()
    result = job.execute_in_process(instance=instance, run_config=QUIET)
    total = time.perf_counter() - start
    children = instance.get_runs(dg.RunsFilter(tags={"ninepic/batch_run": result.run_id}))
    if not result.success or children:
        raise RuntimeError(f"nightly_batch_job: success {result.success}, {len(children)} reruns")
    return {"total_s": total, "dagster_events": len(instance.all_logs(result.run_id))}


WORKERS = {"bare": bare_reads, "runs": sequential_runs, "batch": batch_run}


def fresh_home(instance_file: Path, home: Path, events: list[int]) -> None:
    import dagster as dg

    home.mkdir()
    shutil.copy(instance_file, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("events", [str(e) for e in events])


def requests_per_event(log: Sequence[Any], events: Sequence[int]) -> dict[int, int]:
    counts: Counter[int] = Counter()
    wanted = {f"/event/{e}/": e for e in events}
    for entry in log:
        for marker, event in wanted.items():
            if marker in entry.path:
                counts[event] += 1
                break
    return dict(counts)


def run(args: argparse.Namespace, scratch: Path) -> str:
    import dagster as dg

    from ninepic_pipeline.sandbox import SandboxServer, World

    events = event_ids(args.events)
    world = World()
    for event in events:
        world.add_event(ORG, event, name=f"Small {event}", photos=args.photos, seed=event)
    home = scratch / "dagster_home"
    fresh_home(args.instance, home, events)

    with SandboxServer(world, keys={ORG: KEY}, latency_s=args.latency_ms / 1000) as server:
        env = pipeline_env(server.url, home, scratch / "warehouse")
        worker_cmd = [PYTHON, "-m", "benchmarks.many_events", "--url", server.url]
        worker_cmd += ["--events", str(args.events), "--worker"]
        with progress(f"bare client reads of {len(events)} events"):
            bare = run_measured(
                [*worker_cmd, "bare"], env=env, workdir=scratch / "bare", timeout_s=3600
            )
        if bare.returncode != 0:
            raise RuntimeError(f"bare reads failed:\n{bare.stderr_tail()}")
        server.clear_log()
        with progress(f"(a) in-process sequential: {len(events)} runs in one process"):
            a = run_measured([*worker_cmd, "runs"], env=env, workdir=scratch / "a", timeout_s=3600)
        if a.returncode != 0:
            raise RuntimeError(f"(a) failed:\n{a.stderr_tail()}")
        a_result = {**a.result(), **bare.result()}
        a_requests = requests_per_event(server.request_log, events)
        server.clear_log()

        sample = events[:: max(1, len(events) // args.sample)][: args.sample]
        b_runs: list[Measured] = []
        for event in sample:
            tags = json.dumps({"dagster/partition": str(event), "ninepic/event": str(event)})
            cmd = [PYTHON, "-m", "dagster", "job", "execute", "-m", "ninepic_pipeline.definitions"]
            cmd += ["-j", "gallery_job", "--tags", tags]
            with progress(f"(b) dagster job execute, event {event}"):
                measured = run_measured(cmd, env=env, workdir=scratch / f"b-{event}", timeout_s=600)
            if measured.returncode != 0:
                raise RuntimeError(f"(b) failed for event {event}:\n{measured.stderr_tail()}")
            b_runs.append(measured)
        b_requests = requests_per_event(server.request_log, sample)
        server.clear_log()

        if args.instance != DEFAULT_INSTANCE:
            # Another instance file names one database: (c) needs it emptied.
            with dg.DagsterInstance.from_config(str(home)) as instance:
                instance.wipe()
        c_home = scratch / "dagster_home_c"
        fresh_home(args.instance, c_home, events)
        c_env = pipeline_env(server.url, c_home, scratch / "warehouse_c")
        with progress(f"(c) nightly_batch_job: {len(events)} events in one run"):
            c = run_measured(
                [*worker_cmd, "batch"], env=c_env, workdir=scratch / "c", timeout_s=3600
            )
        if c.returncode != 0:
            raise RuntimeError(f"(c) failed:\n{c.stderr_tail()}")
        c_requests = requests_per_event(server.request_log, events)
    for folder in ("warehouse", "warehouse_c"):
        for event in events:
            path = scratch / folder / "images" / f"event_id={event}" / "part-0.parquet"
            if not path.exists():
                raise RuntimeError(f"no images table for event {event} in {folder}")
    ways = Ways(a, a_result, a_requests, sample, b_runs, b_requests, c, c.result(), c_requests)
    return report(args, events, ways)


@dataclass(frozen=True)
class Ways:
    """What each way measured: its process(es), its worker's result, its requests per event."""

    a: Measured
    a_result: dict[str, Any]
    a_requests: dict[int, int]
    sample: list[int]
    b_runs: list[Measured]
    b_requests: dict[int, int]
    c: Measured
    c_result: dict[str, Any]
    c_requests: dict[int, int]


def report(args: argparse.Namespace, events: list[int], ways: Ways) -> str:
    bare = statistics.mean(ways.a_result["bare_s"])
    runs = ways.a_result["run_s"]
    per_run = statistics.mean(runs)
    b_walls = [m.wall_s for m in ways.b_runs]
    b_mean = statistics.mean(b_walls)
    # The process's whole wall, start-up included: the batch pays it once for every event.
    c_per_event = ways.c.wall_s / len(events)
    headers = [
        "way",
        "runs",
        "total wall s",
        "per-event wall s",
        "first / median / max s",
        "requests per event",
        "bare API read s",
        "per-event overhead s",
        "CPU s per event",
        "peak RSS MB",
    ]
    rows = [
        [
            "(a) in-process sequential",
            str(len(runs)),
            fmt(ways.a.wall_s),
            fmt(per_run, 3),
            f"{runs[0]:.3f} / {statistics.median(runs):.3f} / {max(runs):.3f}",
            fmt(statistics.mean(ways.a_requests.get(e, 0) for e in events), 1),
            fmt(bare, 4),
            fmt(per_run - bare, 3),
            # The imports are spread over the runs: they are paid once per process.
            fmt(ways.a.cpu_s / len(runs), 3),
            fmt(ways.a.peak_rss_mb, 0),
        ],
        [
            "(b) `dagster job execute`, a process per run",
            str(len(ways.b_runs)),
            fmt(sum(b_walls)),
            fmt(b_mean, 3),
            f"{b_walls[0]:.3f} / {statistics.median(b_walls):.3f} / {max(b_walls):.3f}",
            fmt(statistics.mean(ways.b_requests.get(e, 0) for e in ways.sample), 1),
            fmt(bare, 4),
            fmt(b_mean - bare, 3),
            fmt(statistics.mean(m.cpu_s for m in ways.b_runs), 3),
            fmt(max(m.peak_rss_mb for m in ways.b_runs), 0),
        ],
        [
            "(c) `nightly_batch_job`, one run for all",
            "1",
            fmt(ways.c.wall_s),
            fmt(c_per_event, 3),
            "-",
            fmt(statistics.mean(ways.c_requests.get(e, 0) for e in events), 1),
            fmt(bare, 4),
            fmt(c_per_event - bare, 3),
            fmt(ways.c.cpu_s / len(events), 3),
            fmt(ways.c.peak_rss_mb, 0),
        ],
    ]
    return "\n".join(
        [
            f"# Per-event cost of a nightly run: {len(events)} events of {args.photos} photos",
            "",
            *machine_lines(),
            f"- sandbox: a thread of the benchmark process, latency {args.latency_ms:g} ms; "
            "Dagster instance: a copy "
            f"of {_shown(args.instance)} in a temporary DAGSTER_HOME",
            "",
            markdown_table(headers, rows),
            "",
            "- (a) total wall is its one process from spawn to exit, imports included; the runs "
            f"alone took {ways.a_result['total_s']:.2f} s. CPU s per event: that process's CPU "
            "over the runs; for (b) each process's own.",
            "- (c) total wall is its process, imports included, and per-event wall is that over "
            f"{len(events)}; the run alone took {ways.c_result['total_s']:.2f} s and logged "
            f"{ways.c_result['dagster_events']} Dagster events; no event needed a run of its own.",
            "- bare API read: the project's client alone (`fetch_gallery_and_timeline`, no "
            "Dagster, no tables) on the same event; the API's own share of a run. Overhead = "
            "per-event wall - bare read.",
            f"- at these rates {len(events)} events cost ~{per_run * len(events):.0f} s as runs "
            f"one after the other in one process, ~{b_mean * len(events):.0f} s as a process per "
            "run (before the run queue's concurrency of 2, which at most halves it on 2+ cores), "
            f"~{ways.c_result['total_s']:.0f} s as one batch run.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.many_events", description=None)
    parser.add_argument("--events", type=int, default=200, help="number of events (default 200)")
    parser.add_argument("--photos", type=int, default=20, help="photos per event (default 20)")
    parser.add_argument("--sample", type=int, default=10, help="runs of (b) (default 10)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="sandbox latency per request (default 0)"
    )
    parser.add_argument(
        "--instance",
        type=Path,
        default=DEFAULT_INSTANCE,
        help="the dagster.yaml to copy (default: dagster_home/dagster.yaml)",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.url, event_ids(args.events))))
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="ninepic-many-"))
    try:
        text = run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
