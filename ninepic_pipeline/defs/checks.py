"""The tables' quality checks as Dagster asset checks (the checks themselves: `tables.checks`)."""

from __future__ import annotations

import dagster as dg

from ninepic_pipeline.tables.checks import ALL_CHECKS, CheckOutcome

check_specs = [
    dg.AssetCheckSpec(
        spec.name, asset=spec.table, description=spec.description, blocking=spec.blocking
    )
    for spec in ALL_CHECKS
]


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.WARN if outcome.warning else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        asset_key=outcome.spec.table,
        check_name=outcome.spec.name,
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata=outcome.metadata,
    )
