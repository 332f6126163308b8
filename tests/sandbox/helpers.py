"""Helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import requests

from ninepic_pipeline.sandbox import SandboxServer


class Api:
    """A keyed client for one org of a sandbox: `api.get("/events", page=2)`."""

    def __init__(self, server: SandboxServer, org_id: int = 903, key: str | None = None) -> None:
        self.server = server
        self.org_id = org_id
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = key if key is not None else server.keys[org_id]

    def url(self, path: str) -> str:
        return f"{self.server.url}/api/v1/ext/{self.org_id}{path}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params, timeout=10)

    def json(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def assert_error(response: requests.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"responseType", "message", "data"}
    assert body["responseType"] == "error"
    assert body["data"] is None
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message
