"""The README's first command, run as a new user runs it (its own sandbox, fresh folders)."""

from __future__ import annotations

import sys

import pyarrow.parquet as pq

from ninepic_pipeline.demo import main
from ninepic_pipeline.sandbox.defaults import default_world


def test_the_demo_materializes_every_event_and_prints_the_summary(tmp_path, monkeypatch, capsys):
    # The demo's process imports the definitions after setting the sandbox's URL; earlier
    # tests in this one imported them for other servers.
    monkeypatch.delitem(sys.modules, "ninepic_pipeline.definitions", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert main(["--warehouse", str(tmp_path / "warehouse")]) == 0
    out = capsys.readouterr().out
    world = default_world()  # what the demo's sandbox serves
    for event in world.events(903):
        line = next(
            line for line in out.splitlines() if line.lstrip().startswith(f"{event.event_id} ")
        )
        assert f" {world.photo_count(903, event.event_id)} " in line
    summary = pq.read_table(tmp_path / "warehouse" / "event_summary" / "part-0.parquet")
    assert summary.num_rows == len(world.events(903))
