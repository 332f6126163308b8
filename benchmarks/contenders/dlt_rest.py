"""dlt's declarative `rest_api` source, configured the way its docs show for page-number APIs,
loaded as Parquet into a local filesystem destination.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.contenders._shared import RequestCounter, Stopwatch, emit, parquet_rows, parser

PIPELINE_NAME = "ninepic_bench"
DATASET = "ninepic"


def config(url: str, key: str, org: int, event: int) -> dict[str, Any]:
    """The `RESTAPIConfig` for All Photos (a plain dict: that is what the type describes)."""
    return {
        "client": {
            "base_url": f"{url.rstrip('/')}/api/v1/ext/{org}/",
            "auth": {"type": "api_key", "name": "X-API-Key", "api_key": key, "location": "header"},
            "paginator": {
                "type": "page_number",
                "base_page": 1,
                "page_param": "page",
                "total_path": "data.pagination.totalPages",
            },
        },
        "resources": [
            {
                "name": "images",
                "endpoint": {
                    "path": f"event/{event}/images",
                    "params": {"page_size": 100},
                    "data_selector": "data.images",
                },
                # Always null in All Photos, so dlt cannot infer its type and would drop the
                # column (its warning says to declare it); declared, every contender writes
                # the same columns.
                "columns": {"original_url": {"data_type": "text"}},
            }
        ],
    }


def isolate(out: Path) -> None:
    """Fresh dlt state for every run, so nothing (schemas, incremental state) carries over,
    and no telemetry leaves the machine while it is being timed. Must precede `import dlt`."""
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DLT_DATA_DIR"] = tempfile.mkdtemp(prefix="dlt-data-", dir=out)
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"


def run(url: str, key: str, org: int, event: int, out: Path) -> list[Path]:
    """Load the gallery; returns the Parquet files of the `images` table."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    bucket = out / "filesystem"
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.filesystem(bucket_url=bucket.resolve().as_uri()),
        dataset_name=DATASET,
        pipelines_dir=str(out / "pipelines"),
    )
    source = rest_api_source(config(url, key, org, event))  # type: ignore[arg-type]
    pipeline.run(source, loader_file_format="parquet")
    return sorted((bucket / DATASET / "images").rglob("*.parquet"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser("Read a gallery with dlt's rest_api source into Parquet files.").parse_args(argv)
    isolate(args.out)
    # Imported before the stopwatch starts, as the pipeline contender imports Dagster: work_s
    # is the read and the write, the process wall time includes the imports.
    importlib.import_module("dlt.sources.rest_api")
    counter = RequestCounter().install()
    watch = Stopwatch()
    files = run(args.url, args.key, args.org, args.event, args.out)
    emit(parquet_rows(files), counter, watch, files=len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
