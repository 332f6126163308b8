"""The code location: wires assets, jobs, schedules, sensors and resources into `defs`."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ninepic_pipeline.api import DEFAULT_BASE_URL, DEFAULT_MAX_CONCURRENCY
from ninepic_pipeline.defs.assets import events, gallery_snapshot_asset
from ninepic_pipeline.defs.batch import build_nightly_batch_job
from ninepic_pipeline.defs.event_summary import event_summary
from ninepic_pipeline.defs.jobs import events_job, gallery_job
from ninepic_pipeline.defs.resources import NinepicApi
from ninepic_pipeline.defs.schedules import (
    NIGHTLY_CRON,
    build_nightly_batch_schedule,
    build_nightly_schedule,
)
from ninepic_pipeline.defs.sensors import event_discovery_sensor
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource

# In a checkout this is the repo root; an installed package should set NINEPIC_WAREHOUSE.
DEFAULT_WAREHOUSE = Path(__file__).resolve().parent.parent / "warehouse"
NIGHTLY = os.environ.get("NINEPIC_NIGHTLY_CRON", NIGHTLY_CRON)

# Resolved when the batch runs, from the finished `defs` below.
nightly_batch_job = build_nightly_batch_job(lambda: defs.resolve_job_def(gallery_job.name))

defs = dg.Definitions(
    assets=[events, gallery_snapshot_asset, event_summary],
    jobs=[gallery_job, events_job, nightly_batch_job],
    schedules=[
        build_nightly_schedule(NIGHTLY),
        build_nightly_batch_schedule(nightly_batch_job, NIGHTLY),
    ],
    sensors=[event_discovery_sensor],
    resources={
        "ninepic": NinepicApi(
            # EnvVar: the UI and run config show the variable's name, never the key.
            api_key=dg.EnvVar("NINEPIC_API_KEY") if "NINEPIC_API_KEY" in os.environ else None,
            org_id=dg.EnvVar("NINEPIC_ORG_ID") if "NINEPIC_ORG_ID" in os.environ else None,
            base_url=os.environ.get("NINEPIC_BASE_URL", DEFAULT_BASE_URL),
            accept_drift=os.environ.get("NINEPIC_ACCEPT_DRIFT", "0") in ("1", "true", "yes"),
            max_concurrency=int(
                os.environ.get("NINEPIC_MAX_CONCURRENCY", str(DEFAULT_MAX_CONCURRENCY))
            ),
            confirm_reads=os.environ.get("NINEPIC_CONFIRM_READS", "1") not in ("0", "false", "no"),
            trust_recorded=os.environ.get("NINEPIC_TRUST_RECORDED", "0") in ("1", "true", "yes"),
        ),
        "warehouse": WarehouseResource(
            root=os.environ.get("NINEPIC_WAREHOUSE", str(DEFAULT_WAREHOUSE))
        ),
    },
)
