"""The fault soak at a small size: every fault mode on, nothing lost, nothing doubled."""

from __future__ import annotations

from tests.soak import SoakReport, soak, soak_run


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


def test_live_uploads_never_repeat_an_id_of_the_gallery():
    # In these seeds a live upload drew its id from the chaos's generator, seeded like the
    # gallery's own, and drew the id of a photo the gallery had: every read then held that
    # photo twice, and a gallery that had stopped changing failed as "kept changing".
    report = SoakReport()
    for seed in (20037, 20090, 20389):
        soak_run(seed, report)
    assert report.failed_runs == 0, report.failures
    assert report.faults["insert"] > 0
    assert (report.lost, report.doubled, report.phantom, report.wrong_size) == (0, 0, 0, 0)
