"""The fault soak at a small size: every fault mode on, nothing lost, nothing doubled."""

from __future__ import annotations

from tests.soak import soak


def test_soak_loses_and_doubles_nothing():
    report = soak(runs=25, first_seed=1000)
    assert report.runs == 25
    assert report.failed_runs == 0, report.failures
    assert report.expected > 2000
    # Every mode was exercised, or the soak proves less than it claims.
    for kind in ("429", "500", "cut_body", "insert", "delete", "total_drift", "null_size"):
        assert report.faults[kind] > 0, kind
    counts = (report.lost, report.doubled, report.phantom, report.wrong_size)
    assert counts == (0, 0, 0, 0), report.failures
