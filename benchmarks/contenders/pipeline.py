"""This project's materialization: `gallery_job` for one event partition, in process, on a fresh
Dagster instance, exactly as the README's environment variables configure it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.contenders._shared import RequestCounter, Stopwatch, emit, parquet_rows, parser

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def configure(
    url: str,
    key: str,
    org: int,
    out: Path,
    *,
    concurrency: int | None = None,
    confirm_reads: bool = True,
    trust_recorded: bool = False,
) -> Path:
    """Set the environment the definitions read at import; returns the warehouse folder.

    Must run before `ninepic_pipeline.definitions` is imported.
    """
    home = out / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    # Default SQLite storage in the folder, nothing from the checkout; telemetry off so that no
    # request leaves the machine and no banner lands in the output while it is timed.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = out / "warehouse"
    os.environ.update(
        NINEPIC_API_KEY=key,
        NINEPIC_ORG_ID=str(org),
        NINEPIC_BASE_URL=url,
        NINEPIC_WAREHOUSE=str(warehouse.resolve()),
        DAGSTER_HOME=str(home.resolve()),
        NINEPIC_CONFIRM_READS="1" if confirm_reads else "0",
        NINEPIC_TRUST_RECORDED="1" if trust_recorded else "0",
    )
    if concurrency is not None:
        os.environ["NINEPIC_MAX_CONCURRENCY"] = str(concurrency)
    return warehouse


def materialize(event: int) -> None:
    """One `gallery_job` run for the event's partition; raises if the run failed."""
    import dagster as dg

    from ninepic_pipeline.definitions import defs

    instance = dg.DagsterInstance.get()
    partition = str(event)
    instance.add_dynamic_partitions("events", [partition])
    result = defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=partition, run_config=QUIET, raise_on_error=True
    )
    if not result.success:
        raise RuntimeError(f"gallery_job for event {event} failed")


def read_stats(warehouse: Path, event: int) -> dict[str, Any]:
    """What the pipeline says about its own read, from its capture_order_stats table."""
    import pyarrow.parquet as pq

    path = warehouse / "capture_order_stats" / f"event_id={event}" / "part-0.parquet"
    row = pq.read_table(path).to_pylist()[0]
    return {"read_passes": row.get("read_passes"), "pages_fetched": row.get("pages_fetched")}


def main(argv: Sequence[str] | None = None) -> int:
    ap = parser("Materialize gallery_job for one event, in process, on a fresh instance.")
    ap.add_argument(
        "--concurrency",
        type=int,
        help="NINEPIC_MAX_CONCURRENCY: concurrent page requests (default: the pipeline's own)",
    )
    ap.add_argument(
        "--single-read",
        action="store_true",
        help="NINEPIC_CONFIRM_READS=0: trust one consistent read instead of confirming it",
    )
    ap.add_argument(
        "--trust-recorded",
        action="store_true",
        help="NINEPIC_TRUST_RECORDED=1: a first read matching the last snapshot needs no second",
    )
    args = ap.parse_args(argv)
    warehouse = configure(
        args.url,
        args.key,
        args.org,
        args.out,
        concurrency=args.concurrency,
        confirm_reads=not args.single_read,
        trust_recorded=args.trust_recorded,
    )
    # Imported before the stopwatch, like dlt in its contender: work_s is the run itself.
    importlib.import_module("ninepic_pipeline.definitions")
    counter = RequestCounter().install()
    watch = Stopwatch()
    materialize(args.event)
    images = warehouse / "images" / f"event_id={args.event}" / "part-0.parquet"
    emit(parquet_rows([images]), counter, watch, **read_stats(warehouse, args.event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
