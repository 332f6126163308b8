"""Helpers for the Dagster wiring tests: run a partition, change the API settings, read files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.demo import failure_message
from tests.fixtures_pipeline import QUIET, load_defs

# Error paths retry quickly in tests; the production defaults wait minutes.
FAST_RETRY = {"retry_attempts": 2, "backoff_base_s": 0.01, "retry_max_wait_s": 1.0}
TABLES = [
    "images",
    "gallery_pages",
    "image_size_stats",
    "capture_order_stats",
    "capture_timeline",
]


def with_api_config(defs: dg.Definitions, **config: Any) -> dg.Definitions:
    """The same definitions with the API resource's settings changed (fast retries, drift...)."""
    current = defs.resources["ninepic"]
    ninepic = NinepicApi(
        api_key=current.api_key,
        org_id=current.org_id,
        base_url=current.base_url,
        **config,
    )
    return dg.Definitions(
        assets=defs.assets, jobs=defs.jobs, resources={**defs.resources, "ninepic": ninepic}
    )


def run_gallery(
    defs: dg.Definitions, instance: dg.DagsterInstance, key: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("events", [key])
    return defs.resolve_job_def("gallery_job").execute_in_process(
        instance=instance, partition_key=key, run_config=run_config or QUIET, raise_on_error=False
    )


def table_bytes(warehouse: Path, event_id: int) -> dict[str, bytes]:
    return {
        table: (warehouse / table / f"event_id={event_id}" / "part-0.parquet").read_bytes()
        for table in TABLES
    }


__all__ = ["QUIET", "failure_message", "load_defs"]
