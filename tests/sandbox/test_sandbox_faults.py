"""Scripted faults and the request log."""

from __future__ import annotations

import time

import pytest
import requests

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api


def test_429_with_retry_after_once(api: Api, sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=429, headers={"Retry-After": "1"}, path_contains="/images")
    first = api.get("/event/456/images")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.headers["Content-Type"] == "application/json"
    body = first.json()
    assert body["responseType"] == "error" and body["data"] is None
    assert api.get("/event/456/images").status_code == 200
    assert len(sandbox.faults) == 0


def test_times_and_path_filter(api: Api, sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=500, times=2, path_contains="/images")
    assert api.get("/event/456/ping").status_code == 200  # not matched, not consumed
    assert api.get("/event/456/images").status_code == 500
    assert api.get("/event/456/details").status_code == 200
    assert api.get("/event/456/images", page=2).status_code == 500
    assert api.get("/event/456/images", page=2).status_code == 200


def test_faults_are_fifo(api: Api, sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=503)
    sandbox.faults.push(status=502)
    assert [api.get("/event/456/ping").status_code for _ in range(3)] == [503, 502, 200]


def test_html_and_empty_bodies(api: Api, sandbox: SandboxServer) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    sandbox.faults.push(status=502, body=html)
    sandbox.faults.push(status=504, body="", content_type="text/plain")
    gateway = api.get("/event/456/images")
    assert gateway.status_code == 502
    assert gateway.text == html
    assert gateway.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        gateway.json()
    empty = api.get("/event/456/images")
    assert (empty.status_code, empty.text, empty.headers["Content-Type"]) == (504, "", "text/plain")


def test_faults_apply_before_auth(sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=429)
    assert requests.get(f"{sandbox.url}/api/v1/ext/903/events", timeout=5).status_code == 429


def test_unlimited_fault_until_cleared(api: Api, sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=500, times=None)
    assert [api.get("/events").status_code for _ in range(3)] == [500, 500, 500]
    sandbox.faults.clear()
    assert api.get("/events").status_code == 200


def test_disconnect_and_truncated_body(api: Api, sandbox: SandboxServer) -> None:
    sandbox.faults.push(status=502, disconnect=True)
    with pytest.raises(requests.ConnectionError):
        api.get("/event/456/images")
    sandbox.faults.push(status=200, body='{"responseType": "succ', headers={"Content-Length": "99"})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/event/456/images")
    assert api.get("/event/456/images").status_code == 200


def test_request_log(api: Api, sandbox: SandboxServer) -> None:
    sandbox.clear_log()
    sandbox.faults.push(status=429, path_contains="/images")
    api.get("/event/456/images", page=2, page_size=10)
    api.get("/event/456/images", page=2, page_size=10)
    requests.get(f"{sandbox.url}/api/v1/ext/903/events", timeout=5)
    log = sandbox.request_log
    assert [(e.method, e.path, e.query, e.status) for e in log] == [
        ("GET", "/api/v1/ext/903/event/456/images", {"page": "2", "page_size": "10"}, 429),
        ("GET", "/api/v1/ext/903/event/456/images", {"page": "2", "page_size": "10"}, 200),
        ("GET", "/api/v1/ext/903/events", {}, 401),
    ]
    assert sandbox.keys[903] not in repr(log)
    sandbox.clear_log()
    assert sandbox.request_log == []


def test_latency() -> None:
    with SandboxServer(latency_s=0.2) as slow:
        started = time.monotonic()
        assert Api(slow).get("/event/456/ping").status_code == 200
        assert time.monotonic() - started >= 0.2
