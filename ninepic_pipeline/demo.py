"""The main job on the sandbox, end to end: `ninepic-demo` (the README's first command).

Starts the sandbox, materializes the events table, registers every event as a partition, runs
the gallery job for each through Dagster on the DAGSTER_HOME instance (real runs, visible in
the UI afterwards), builds `event_summary` (what automation does after each change), prints it
as read back from the DuckDB entry point, and stops the sandbox.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds

from ninepic_pipeline.catalog import DUCKDB_FILE
from ninepic_pipeline.sandbox import SandboxServer
from ninepic_pipeline.tables import to_frame

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_ORG = 903
# The runs' full logs are in the instance (and the UI); the terminal gets errors only.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ninepic-demo", description=__doc__.split("\n")[0])
    parser.add_argument("--org", type=int, default=SANDBOX_ORG, help="sandbox org (903 or 904)")
    parser.add_argument(
        "--warehouse",
        default=os.environ.get("NINEPIC_WAREHOUSE", str(PROJECT_ROOT / "warehouse")),
        help="where the Parquet tables go (default: NINEPIC_WAREHOUSE or ./warehouse)",
    )
    return parser.parse_args(argv)


def _read_table(warehouse: Path, table: str) -> pd.DataFrame | None:
    """A table as BI tools see it: the Hive-partitioned dataset, event_id from the path."""
    if not (warehouse / table).is_dir():
        return None
    dataset = ds.dataset(warehouse / table, format="parquet", partitioning="hive")
    return to_frame(dataset.to_table())


def failure_message(result) -> str:
    """The first step failure's own description, one line."""
    for event in result.all_events:
        if event.is_failure and event.step_failure_data is not None:
            user = event.step_failure_data.user_failure_data
            if user is not None and user.description:
                return user.description
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            return error.message.strip().splitlines()[-1]
    return "the run failed; open the Dagster UI for its logs"


def _run_all(warehouse: Path) -> int:
    """Materialize events, register them as partitions, run each gallery; failed runs count."""
    # Imported only now: the definitions read the environment the caller just set.
    from dagster import AssetKey, DagsterInstance

    from ninepic_pipeline.definitions import defs

    instance = DagsterInstance.get()
    result = defs.resolve_job_def("events_job").execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False
    )
    if not result.success:
        print(f"events_job failed: {failure_message(result)}", file=sys.stderr)
        return 1
    events = _read_table(warehouse, "events")
    keys = [str(event_id) for event_id in events["event_id"]] if events is not None else []
    instance.add_dynamic_partitions("events", keys)
    print(f"registered {len(keys)} event partition(s): {', '.join(keys)}")
    failed = 0
    gallery_job = defs.resolve_job_def("gallery_job")
    for key in keys:
        run = gallery_job.execute_in_process(
            instance=instance, partition_key=key, run_config=QUIET, raise_on_error=False
        )
        failed += not run.success
        state = "ok" if run.success else f"FAILED: {failure_message(run)}"
        print(f"  event {key}: run {run.run_id[:8]} {state}")
    summary = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance,
        asset_selection=[AssetKey("event_summary")],
        run_config=QUIET,
        raise_on_error=False,
    )
    if not summary.success:
        print(f"event_summary failed: {failure_message(summary)}", file=sys.stderr)
    return failed + (not summary.success)


SUMMARY_SQL = """
SELECT event_id, event_name, photos, pages_fetched AS pages, sized_count AS sized,
       portrait_count AS portrait, landscape_count AS landscape, square_count AS square,
       top_resolution, round(megapixels_median, 2) AS mp_median,
       untimestamped_count AS untimestamped, net_growth_1d AS growth_1d
FROM event_summary ORDER BY event_id
"""


def _print_summary(warehouse: Path) -> None:
    print(f"\nParquet tables in {warehouse}:")
    for table in sorted(p.name for p in warehouse.iterdir() if p.is_dir() and p.name[0] != "_"):
        print(f"  {table}/")
    database = warehouse / DUCKDB_FILE
    print(f"BI entry point: {database} (one view per table)")
    print(f"Dagster runs in {os.environ['DAGSTER_HOME']} (see README: opening the UI)\n")
    if not database.exists():
        print("no table was written: every run failed")
        return
    with duckdb.connect(str(database), read_only=True) as db:
        summary = db.execute(SUMMARY_SQL).df().astype(object)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(summary.where(summary.notna(), "-").to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    if not Path(os.environ["DAGSTER_HOME"]).is_absolute():
        print("DAGSTER_HOME must be an absolute path", file=sys.stderr)
        return 2
    warehouse = Path(args.warehouse).resolve()
    with SandboxServer() as sandbox:
        if args.org not in sandbox.keys:
            print(f"the sandbox has no org {args.org}; use one of {sorted(sandbox.keys)}")
            return 2
        print(f"sandbox API on {sandbox.url} (org {args.org})")
        # The key goes to this process's environment only: Dagster sees the variable's name.
        os.environ.update(
            NINEPIC_API_KEY=sandbox.keys[args.org],
            NINEPIC_ORG_ID=str(args.org),
            NINEPIC_BASE_URL=sandbox.url,
            NINEPIC_WAREHOUSE=str(warehouse),
        )
        failed = _run_all(warehouse)
    if warehouse.is_dir():
        _print_summary(warehouse)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
