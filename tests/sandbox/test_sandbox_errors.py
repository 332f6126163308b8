"""Status codes and error envelopes, and the order in which checks apply."""

from __future__ import annotations

import pytest
import requests

from ninepic_pipeline.sandbox import SandboxServer

from .helpers import Api, assert_error


def test_missing_key_is_401(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/api/v1/ext/903/event/456/images"
    assert_error(requests.get(url, timeout=5), 401, "API key is missing")
    assert_error(requests.get(url, headers={"X-API-Key": ""}, timeout=5), 401)


def test_wrong_key_is_403(sandbox: SandboxServer) -> None:
    assert_error(Api(sandbox, 903, key="not-a-key").get("/event/456/images"), 403)


def test_other_orgs_key_is_403(sandbox: SandboxServer) -> None:
    foreign = Api(sandbox, 903, key=sandbox.keys[904])
    assert_error(foreign.get("/event/456/images"), 403)
    assert_error(foreign.get("/events"), 403)
    # ...while that key works for its own org.
    assert Api(sandbox, 904).get("/event/900/ping").status_code == 200


def test_unknown_org_is_403(sandbox: SandboxServer) -> None:
    assert_error(Api(sandbox, 905, key=sandbox.keys[903]).get("/events"), 403)


def test_auth_is_checked_before_event_lookup(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/api/v1/ext/903/event/999999/details"
    assert_error(requests.get(url, timeout=5), 401)
    assert_error(requests.get(url, headers={"X-API-Key": "wrong"}, timeout=5), 403)


@pytest.mark.parametrize("suffix", ["details", "images", "timeline/days", "ping"])
def test_unknown_event_is_404(api: Api, suffix: str) -> None:
    assert_error(api.get(f"/event/999999/{suffix}"), 404, "Event not found")


def test_event_of_another_org_is_404(api: Api) -> None:
    assert_error(api.get("/event/900/details"), 404, "Event not found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ext/abc/events",
        "/api/v1/ext/9.03/events",
        "/api/v1/ext/903/event/abc/details",
        "/api/v1/ext/903/event/-456/images",
        "/api/v1/ext/903/event/4%2056/ping",
    ],
)
def test_non_integer_path_parameter_is_400(sandbox: SandboxServer, path: str) -> None:
    response = requests.get(sandbox.url + path, headers={"X-API-Key": "x"}, timeout=5)
    assert_error(response, 400)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "page: value is not a valid integer"),
        ({"page": ""}, "page: value is not a valid integer"),
        ({"page": "1.5"}, "page: value is not a valid integer"),
        ({"page_size": "ten"}, "page_size: value is not a valid integer"),
        ({"page": "0"}, "page: ensure this value is greater than or equal to 1"),
        ({"page_size": "-3"}, "page_size: ensure this value is greater than or equal to 1"),
        (
            {"page": "x", "page_size": "0"},
            "page: value is not a valid integer; "
            "page_size: ensure this value is greater than or equal to 1",
        ),
    ],
)
def test_bad_query_parameters_are_422(api: Api, params: dict[str, str], message: str) -> None:
    assert_error(api.get("/event/456/images", **params), 422, message)
    assert_error(api.get("/events", **params), 422, message)


def test_unknown_paths_are_404(sandbox: SandboxServer, api: Api) -> None:
    for path in ("/", "/api/v1/ext/903", "/api/v1/ext/903/event/456", "/api/v1/ext/903/events/"):
        assert_error(requests.get(sandbox.url + path, timeout=5), 404)
    assert_error(api.get("/event/456/unknown"), 404)


def test_non_get_method_is_405(api: Api) -> None:
    response = api.session.post(api.url("/event/456/images"), json={}, timeout=5)
    assert_error(response, 405)
    assert response.headers["Allow"] == "GET"
    # The connection is still usable after a request with a body.
    assert api.get("/event/456/ping").status_code == 200
