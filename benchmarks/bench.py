"""Read one gallery with every contender, at several sizes and latencies, and tabulate the cost.

    .venv/bin/python -m benchmarks.bench [--sizes 10000,100000,1000000] [--latencies 0,50]
        [--concurrency 16] [--contenders loop,dlt,pipeline,pipeline-single,pipeline-nightly]
        [--out benchmarks/results.md]

For each size and latency: one sandbox in its own process, warmed by one untimed read, then
each contender in a fresh process of its own, one after the other. A contender's numbers are
its own process's: wall time from spawn to exit (so imports count), and user+sys CPU and peak
RSS from wait4. Each prints how many requests it made and how many photos it wrote; a count
other than the gallery's size fails the benchmark.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from benchmarks.harness import (
    EVENT,
    KEY,
    PYTHON,
    ROOT,
    Measured,
    SandboxProcess,
    clean_env,
    fmt,
    machine_lines,
    markdown_table,
    pages_of,
    progress,
    read_all_pages,
    run_measured,
)
from ninepic_pipeline.api.client import DEFAULT_MAX_CONCURRENCY


@dataclass(frozen=True)
class Contender:
    name: str
    module: str
    args: tuple[str, ...] = ()
    # Reads page after page; its time is at least pages x latency.
    sequential: bool = False
    concurrent: bool = False
    # Measured on its second run into the same output, the first one untimed: a night after
    # one that recorded the same gallery.
    second_night: bool = False

    def command(self, url: str, out: Path, concurrency: int) -> list[str]:
        cmd = [PYTHON, "-m", f"benchmarks.contenders.{self.module}", "--url", url]
        cmd += ["--key", KEY, "--event", str(EVENT), "--out", str(out), *self.args]
        if self.concurrent:
            cmd += ["--concurrency", str(concurrency)]
        return cmd


CONTENDERS: Final = {
    c.name: c
    for c in (
        Contender("loop", "loop", sequential=True),
        Contender("dlt", "dlt_rest", sequential=True),
        Contender("pipeline", "pipeline", concurrent=True),
        Contender("pipeline-single", "pipeline", ("--single-read",), concurrent=True),
        Contender(
            "pipeline-nightly",
            "pipeline",
            ("--trust-recorded",),
            concurrent=True,
            second_night=True,
        ),
    )
}
# A sequential read slower than this is skipped: 15 minutes holds 1M photos at 50 ms (500 s).
MAX_SEQUENTIAL_S: Final = 15 * 60
# What one request costs a sequential client on top of the latency, for the estimate only.
PER_REQUEST_OVERHEAD_S: Final = 0.002


@dataclass
class Row:
    size: int
    latency_ms: float
    contender: str
    measured: Measured | None = None
    result: dict[str, object] = field(default_factory=dict)
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.measured is None and not self.note.startswith("skipped")


def parse_list(text: str, kind: type[int] | type[float]) -> list[float]:
    try:
        return [kind(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        type=lambda s: [int(x) for x in parse_list(s, int)],
        help="gallery sizes in photos (default: 10000,100000,1000000)",
    )
    parser.add_argument(
        "--latencies",
        default="0,50",
        type=lambda s: parse_list(s, float),
        help="sandbox latency per request in ms (default: 0,50)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_MAX_CONCURRENCY,
        help="NINEPIC_MAX_CONCURRENCY for the pipeline contenders (default: the pipeline's, "
        f"{DEFAULT_MAX_CONCURRENCY})",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        type=lambda s: [c.strip() for c in s.split(",") if c.strip()],
        help=f"comma-separated subset of {','.join(CONTENDERS)} (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results.md",
        help="Markdown file to write (default: benchmarks/results.md)",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=3600.0, help="per contender run (default: 3600)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each run's output folder (printed at the end)"
    )
    return parser


def run_contender(
    contender: Contender,
    server: SandboxProcess,
    size: int,
    latency_ms: float,
    args: argparse.Namespace,
    scratch: Path,
) -> Row:
    row = Row(size, latency_ms, contender.name)
    estimate = pages_of(size) * (latency_ms / 1000 + PER_REQUEST_OVERHEAD_S)
    if contender.sequential and estimate > MAX_SEQUENTIAL_S:
        row.note = f"skipped: ~{estimate / 60:.0f} min sequential"
        return row
    workdir = scratch / f"{size}-{latency_ms:g}ms-{contender.name}"
    out = workdir / "out"
    if contender.second_night:
        with progress(f"{contender.name}: the night before, untimed"):
            before = run_measured(
                contender.command(server.url, out, args.concurrency),
                env=clean_env(),
                workdir=workdir / "night-before",
                timeout_s=args.timeout_s,
                server=server,
            )
        if before.returncode != 0:
            row.note = f"FAILED: the night before, exit {before.returncode}"
            print(f"{contender.name} failed:\n{before.stderr_tail()}", file=sys.stderr)
            return row
    with progress(f"{contender.name}: {size:,} photos at {latency_ms:g} ms"):
        measured = run_measured(
            contender.command(server.url, out, args.concurrency),
            env=clean_env(),
            workdir=workdir,
            timeout_s=args.timeout_s,
            server=server,
        )
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    if measured.returncode != 0:
        row.note = f"FAILED: exit {measured.returncode}"
        print(f"{contender.name} failed:\n{measured.stderr_tail()}", file=sys.stderr)
        return row
    try:
        result = measured.result()
    except ValueError:
        row.note = "FAILED: no JSON result line"
        print(f"{contender.name}: {row.note}:\n{measured.stderr_tail()}", file=sys.stderr)
        return row
    photos = result.get("photos")
    if photos != size:
        row.note = f"FAILED: read {photos} photos of {size}"
        print(f"{contender.name}: {row.note}", file=sys.stderr)
        return row
    row.measured, row.result = measured, result
    return row


HEADERS: Final = (
    "photos",
    "latency ms",
    "contender",
    "wall s",
    "work s",
    "paging s",
    "requests",
    "CPU s",
    "CPU µs/photo",
    "work CPU µs/photo",
    "peak RSS MB",
    "server CPU s",
    "wall ÷ pipeline wall",
    "pipeline wall ÷ floor",
    "floor s",
    "floor (requests) s",
    "paging ÷ floor (requests)",
    "note",
)


def table_rows(rows: Sequence[Row], concurrency: int) -> list[list[str]]:
    walls = {
        (r.size, r.latency_ms): r.measured.wall_s
        for r in rows
        if r.contender == "pipeline" and r.measured
    }
    out: list[list[str]] = []
    for r in rows:
        m = r.measured
        if m is None:
            out.append(
                [
                    f"{r.size:,}",
                    f"{r.latency_ms:g}",
                    r.contender,
                    *["—"] * (len(HEADERS) - 4),
                    r.note,
                ]
            )
            continue
        requests = int(str(r.result.get("requests", 0)))
        work_cpu = float(str(r.result.get("work_cpu_s", "nan")))
        pipeline_wall = walls.get((r.size, r.latency_ms))
        ratio = m.wall_s / pipeline_wall if pipeline_wall else None
        paging = r.result.get("paging_s")
        floor = floor_req = vs_floor = paging_vs_floor = None
        if r.contender.startswith("pipeline") and r.latency_ms > 0:
            # One read's pages: what a perfectly parallel single read would cost at best.
            floor = pages_of(r.size) * r.latency_ms / 1000 / concurrency
            floor_req = requests * r.latency_ms / 1000 / concurrency
            vs_floor = m.wall_s / floor
            if paging is not None:
                paging_vs_floor = float(str(paging)) / floor_req
        out.append(
            [
                f"{r.size:,}",
                f"{r.latency_ms:g}",
                r.contender,
                fmt(m.wall_s),
                fmt(float(str(r.result.get("work_s", "nan")))),
                fmt(None if paging is None else float(str(paging))),
                f"{requests:,}",
                fmt(m.cpu_s),
                fmt(m.cpu_s * 1e6 / r.size, 1),
                fmt(work_cpu * 1e6 / r.size, 1),
                fmt(m.peak_rss_mb, 0),
                fmt(m.server_cpu_s),
                fmt(ratio, 2, "x"),
                fmt(vs_floor, 2, "x"),
                fmt(floor),
                fmt(floor_req),
                fmt(paging_vs_floor, 2, "x"),
                r.note or _passes_note(r),
            ]
        )
    return out


def _passes_note(row: Row) -> str:
    passes = row.result.get("read_passes")
    return f"{passes} read(s)" if passes is not None else ""


def report(rows: Sequence[Row], args: argparse.Namespace, argv: Sequence[str]) -> str:
    command = " ".join(["python -m benchmarks.bench", *argv])
    return "\n".join(
        [
            "# Gallery read benchmark",
            "",
            f"Command: `{command}`",
            "",
            *machine_lines(),
            f"- pipeline concurrency (NINEPIC_MAX_CONCURRENCY): {args.concurrency}",
            "",
            markdown_table(HEADERS, table_rows(rows, args.concurrency)),
            "",
            "- wall s: the contender's process from spawn to exit (interpreter start-up and "
            "imports included); work s: the read and the write alone, timed inside it.",
            "- CPU s and peak RSS: the contender's process alone (wait4 rusage), user + sys; "
            "work CPU: process time inside it over the read and the write alone. MB are 10^6 "
            "bytes (tables before d3f359f show MiB under that heading: 4.9% lower).",
            "- requests: HTTP requests the contender sent (counted at urllib3's connection for "
            "the loop and dlt, at aiohttp's session for the pipeline since the multiplexed "
            "transport; retries included); every contender reads pages of 100.",
            "- server CPU s: the sandbox process's CPU while the contender ran; the sandbox's "
            "page cache was warmed by one untimed read first, so every contender meets it warm.",
            "- pipeline: `gallery_job` on a fresh instance and warehouse, the first night, "
            "confirmed reads (the default); pipeline-single: one read (NINEPIC_CONFIRM_READS=0); "
            "pipeline-nightly: NINEPIC_TRUST_RECORDED=1 (opt-in), measured on its second run "
            "into the same instance and warehouse (the first untimed), a night on which the "
            "gallery had not changed, whose one read matches the snapshot recorded the night "
            "before.",
            "- wall ÷ pipeline wall: above 1x the pipeline is that many times faster.",
            "- floor = pages of one read x latency ÷ concurrency; floor (requests) = requests "
            "x latency ÷ concurrency. No floor at 0 ms.",
            "- paging s: from the first request sent to the last response's headers, timed at "
            "the same place inside the contender, every request included; paging ÷ "
            "floor (requests): how near the paging comes to the floor of the requests it "
            "made, without start-up, the Dagster run around it, or the write after it.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    unknown = [c for c in args.contenders if c not in CONTENDERS]
    if unknown:
        print(f"error: unknown contender(s) {unknown}; choose from {list(CONTENDERS)}")
        return 2
    contenders = [CONTENDERS[name] for name in args.contenders]
    scratch = Path(tempfile.mkdtemp(prefix="ninepic-bench-"))
    rows: list[Row] = []
    try:
        for size in args.sizes:
            for latency in args.latencies:
                with progress(f"sandbox: {size:,} photos at {latency:g} ms"):
                    server = SandboxProcess(size, latency, log=scratch / f"sandbox-{size}.log")
                with server:
                    with progress("warm-up read of every page"):
                        read_all_pages(server.url, KEY, size)
                    for contender in contenders:
                        rows.append(run_contender(contender, server, size, latency, args, scratch))
    finally:
        text = report(rows, args, argv)
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"written to {args.out}", file=sys.stderr)
        if args.keep:
            print(f"run folders kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    failed = [r for r in rows if r.failed]
    if failed:
        for r in failed:
            print(f"FAILED {r.contender} at {r.size:,}/{r.latency_ms:g} ms: {r.note}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
