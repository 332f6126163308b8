"""The API key never leaks: every error path at debug level, then a search of everything."""

from __future__ import annotations

import logging
import secrets

import dagster as dg
import pytest

from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import KIDS_DASH, ORG
from tests.defs.conftest import FAST_RETRY, failure_message, load_defs, with_api_config

DEBUG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}

# (what the server does, how many requests it takes)
ERROR_PATHS = [
    ("ok", None),
    ("401", {"status": 401}),
    ("403", {"status": 403}),
    ("404", {"status": 404}),
    ("422", {"status": 422}),
    ("429 storm", {"status": 429, "headers": {"Retry-After": "0.01"}}),
    ("500", {"status": 500}),
    ("502 html", {"status": 502, "body": "<html>bad gateway</html>"}),
    ("503 empty", {"status": 503, "body": ""}),
    ("504", {"status": 504}),
    ("cut body", {"status": 200, "body": '{"responseType": "succ'}),
    ("reset", {"status": 200, "disconnect": True}),
]


@pytest.fixture
def keyed_server():
    """A sandbox whose key is made here, so the search knows exactly what to look for."""
    key = "k-" + secrets.token_urlsafe(24)
    with SandboxServer(keys={ORG: key}) as server:
        yield server, key


def test_key_appears_nowhere(keyed_server, tmp_path, monkeypatch, caplog, capfd):
    server, key = keyed_server
    home, warehouse = tmp_path / "dagster_home", tmp_path / "warehouse"
    home.mkdir()
    for name, value in {
        "NINEPIC_API_KEY": key,
        "NINEPIC_ORG_ID": str(ORG),
        "NINEPIC_BASE_URL": server.url,
        "NINEPIC_WAREHOUSE": str(warehouse),
    }.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        defs = with_api_config(load_defs(), **FAST_RETRY, read_timeout_s=0.2)
        instance.add_dynamic_partitions("events", [str(KIDS_DASH)])
        job = defs.resolve_job_def("gallery_job")
        for name, fault in [*ERROR_PATHS, ("timeout", "slow")]:
            server.faults.clear()
            server.latency_s = 0.5 if fault == "slow" else 0.0
            if isinstance(fault, dict):
                server.faults.push(times=None, path_contains="/images", **fault)
            result = job.execute_in_process(
                instance=instance,
                partition_key=str(KIDS_DASH),
                run_config=DEBUG,
                raise_on_error=False,
            )
            assert result.success == (name == "ok"), name
            texts.append(failure_message(result) if not result.success else "")
            texts += [str(event) for event in result.all_events]
        server.latency_s = 0.0
        for record in instance.fetch_materializations(dg.AssetKey("images"), limit=100).records:
            texts.append(str(record.asset_materialization.metadata))
        assert len(texts) > len(ERROR_PATHS)
    captured = capfd.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    assert [i for i, text in enumerate(texts) if key in text] == []
    hits = [p for p in tmp_path.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert hits == []
    # The search itself works: the key is there to be found where it belongs.
    assert key in str(server.keys)
