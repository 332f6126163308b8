"""The code location: wires assets, jobs, schedules, sensors and resources into `defs`."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ninepic_pipeline.api import DEFAULT_BASE_URL
from ninepic_pipeline.defs.assets import (
    capture_order_stats_asset,
    events,
    fetch_gallery,
    image_size_stats_asset,
)
from ninepic_pipeline.defs.jobs import events_job, gallery_job
from ninepic_pipeline.defs.parquet_io_manager import ParquetWarehouseIOManager
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.defs.schedules import NIGHTLY_CRON, build_nightly_schedule
from ninepic_pipeline.defs.sensors import event_discovery_sensor

# In a checkout this is the repo root; an installed package should set NINEPIC_WAREHOUSE.
DEFAULT_WAREHOUSE = Path(__file__).resolve().parent.parent / "warehouse"

defs = dg.Definitions(
    assets=[events, fetch_gallery, image_size_stats_asset, capture_order_stats_asset],
    jobs=[gallery_job, events_job],
    schedules=[build_nightly_schedule(os.environ.get("NINEPIC_NIGHTLY_CRON", NIGHTLY_CRON))],
    sensors=[event_discovery_sensor],
    resources={
        "ninepic": NinepicApi(
            api_key=dg.EnvVar("NINEPIC_API_KEY"),
            org_id=dg.EnvVar.int("NINEPIC_ORG_ID"),
            base_url=os.environ.get("NINEPIC_BASE_URL", DEFAULT_BASE_URL),
        ),
        "io_manager": ParquetWarehouseIOManager(
            root=os.environ.get("NINEPIC_WAREHOUSE", str(DEFAULT_WAREHOUSE))
        ),
    },
)
