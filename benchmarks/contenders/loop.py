"""The loop a user writes without a framework: one session, page after page, one DataFrame.

Deliberately plain (no retries, no concurrency, no consistency checks): it is the baseline
that shows what the pipeline's care costs or saves.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from benchmarks.contenders._shared import (
    IMAGES_PATH,
    RequestCounter,
    Stopwatch,
    emit,
    parquet_rows,
    parser,
)


def read_gallery(url: str, key: str, org: int, event: int) -> list[dict[str, Any]]:
    session = requests.Session()
    session.headers["X-API-Key"] = key
    endpoint = url.rstrip("/") + IMAGES_PATH.format(org=org, event=event)
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        response = session.get(endpoint, params={"page": page, "page_size": 100}, timeout=30)
        response.raise_for_status()
        data = response.json()["data"]
        records.extend(data["images"])
        if not data["pagination"]["hasNextPage"]:
            break
        page += 1
    return records


def run(url: str, key: str, org: int, event: int, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "images.parquet"
    pd.DataFrame(read_gallery(url, key, org, event)).to_parquet(path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parser("Read a gallery with a plain requests loop into one Parquet file.").parse_args(
        argv
    )
    counter = RequestCounter().install()
    watch = Stopwatch()
    path = run(args.url, args.key, args.org, args.event, args.out)
    emit(parquet_rows([path]), counter, watch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
