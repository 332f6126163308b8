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


def _severity(outcome: CheckOutcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.WARN if outcome.warning else dg.AssetCheckSeverity.ERROR


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    """The outcome as the gallery asset yields it, for its own partition."""
    return dg.AssetCheckResult(
        asset_key=outcome.spec.table,
        check_name=outcome.spec.name,
        passed=outcome.passed,
        severity=_severity(outcome),
        description=outcome.description,
        metadata=outcome.metadata,
    )


def check_evaluation(outcome: CheckOutcome, partition: str) -> dg.AssetCheckEvaluation:
    """The outcome as the batch logs it, for one of the many partitions of its run.

    The partition keeps each event's evaluation a row of its own in the check's history: a
    run keeps one execution per check and partition, so one run's later events would
    otherwise overwrite its earlier ones.
    """
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(outcome.spec.table),
        check_name=outcome.spec.name,
        passed=outcome.passed,
        severity=_severity(outcome),
        description=outcome.description,
        metadata=outcome.metadata,
        blocking=outcome.spec.blocking,
        partition=partition,
    )
