"""Each status of the API's table, over HTTP: what is retried, what fails at once, and how."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime, timedelta

import pytest

from ninepic_pipeline.api import (
    NinepicAuthMissingError,
    NinepicBadRequestError,
    NinepicClient,
    NinepicConfigError,
    NinepicConnectionError,
    NinepicError,
    NinepicForbiddenError,
    NinepicNotFoundError,
    NinepicRateLimitError,
    NinepicServerError,
    NinepicValidationError,
    RetryPolicy,
    Timeouts,
)
from ninepic_pipeline.sandbox import SandboxServer
from tests.conftest import MARATHON, ORG, OTHER_ORG, RecordingSleep


def _requests(server) -> int:
    return len(server.request_log)


def _assert_one_line_without_key(error: Exception, key: str) -> str:
    text = str(error)
    assert "\n" not in text
    assert key not in text
    return text


@pytest.mark.parametrize(
    ("status", "error_type", "advice"),
    [
        (400, NinepicBadRequestError, "check the org and event ids"),
        (401, NinepicAuthMissingError, "set NINEPIC_API_KEY"),
        (403, NinepicForbiddenError, "check NINEPIC_API_KEY and NINEPIC_ORG_ID"),
        (404, NinepicNotFoundError, "check that the event id exists"),
        (422, NinepicValidationError, "fix the request parameters"),
    ],
)
def test_client_errors_fail_at_once_with_advice(server, client, sleeps, status, error_type, advice):
    server.faults.push(status, path_contains="/images")
    with pytest.raises(error_type) as caught:
        client.fetch_gallery(MARATHON)
    text = _assert_one_line_without_key(caught.value, server.keys[ORG])
    assert f"9pic API {status}" in text
    assert f"org {ORG}, event {MARATHON}" in text
    assert advice in text
    assert _requests(server) == 1
    assert sleeps.waits == []


def test_wrong_key_is_403_and_names_the_org(server, fast_retry):
    client = NinepicClient("not-the-key", ORG, server.url, retry=fast_retry)
    with client, pytest.raises(NinepicForbiddenError) as caught:
        client.fetch_gallery(MARATHON)
    assert "not-the-key" not in str(caught.value)
    assert f"org {ORG}" in str(caught.value)


def test_key_of_another_org_is_refused(server, fast_retry):
    client = NinepicClient(server.keys[OTHER_ORG], ORG, server.url, retry=fast_retry)
    with client, pytest.raises(NinepicForbiddenError):
        client.list_events()


def test_unknown_event_is_404_naming_the_event(server, client):
    with pytest.raises(NinepicNotFoundError, match=f"org {ORG}, event 999999"):
        client.fetch_gallery(999999)


def test_missing_key_is_refused_before_any_request(server):
    with pytest.raises(NinepicConfigError, match="set NINEPIC_API_KEY"):
        NinepicClient("  ", ORG, server.url)
    assert _requests(server) == 0


@pytest.mark.parametrize(
    "url", ["ftp://api.9pic.ai", "api.9pic.ai", "http://api.9pic.ai", "http://10.0.0.5:8000"]
)
def test_base_url_must_be_https_or_loopback_http(url):
    with pytest.raises(NinepicConfigError, match="NINEPIC_BASE_URL"):
        NinepicClient("k", ORG, url)


@pytest.mark.parametrize("bad", [0, -3, "1.5", "abc", "", True])
def test_org_id_must_be_a_positive_integer(bad):
    with pytest.raises(NinepicConfigError, match="positive integer"):
        NinepicClient("k", bad, "https://api.9pic.ai")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_then_succeed(server, client, sleeps, status):
    server.faults.push(status, times=2, path_contains="/images")
    gallery = client.fetch_gallery(MARATHON)
    assert len(gallery) == 1280
    assert gallery.retries == 2
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>", ""])
def test_gateway_error_without_json_is_retried(server, client, body):
    server.faults.push(502, body=body, content_type="text/html", path_contains="/images")
    assert len(client.fetch_gallery(MARATHON)) == 1280


def test_retry_after_in_seconds_is_honoured(server, client, sleeps):
    server.faults.push(429, headers={"Retry-After": "3"}, path_contains="/images")
    server.faults.push(429, headers={"Retry-After": "1.5"}, path_contains="/images")
    client.fetch_gallery(MARATHON)
    assert sleeps.waits == [3.0, 1.5]


def test_retry_after_as_http_date_is_honoured(server, client, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=30)
    header = email.utils.format_datetime(when, usegmt=True)
    server.faults.push(429, headers={"Retry-After": header}, path_contains="/images")
    client.fetch_gallery(MARATHON)
    # The header has whole seconds and was read during the fetch, before this line.
    earliest = (when.replace(microsecond=0) - datetime.now(UTC)).total_seconds()
    assert len(sleeps.waits) == 1
    assert earliest - 1 <= sleeps.waits[0] <= 30


@pytest.mark.parametrize("header", ["0", "86400", "soon", "-5"])
def test_absent_zero_absurd_or_bad_retry_after_falls_back_to_backoff(server, sleeps, header):
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.2, backoff_max_s=0.2)
    with NinepicClient(
        server.keys[ORG], ORG, server.url, retry=retry, sleep=sleeps, limiter=None
    ) as client:
        server.faults.push(429, headers={"Retry-After": header}, path_contains="/images")
        client.fetch_gallery(MARATHON)
    assert len(sleeps.waits) == 1
    assert 0.1 <= sleeps.waits[0] <= 0.2


def test_backoff_grows_exponentially_with_jitter(server, sleeps):
    retry = RetryPolicy(max_attempts=5, backoff_base_s=1.0, backoff_max_s=100.0)
    with NinepicClient(
        server.keys[ORG], ORG, server.url, retry=retry, sleep=sleeps, limiter=None
    ) as client:
        server.faults.push(500, times=4, path_contains="/images")
        client.fetch_gallery(MARATHON)
    for n, wait in enumerate(sleeps.waits, start=1):
        assert 2 ** (n - 1) / 2 <= wait <= 2 ** (n - 1)


def test_retries_are_bounded_in_attempts(server, fast_retry, sleeps):
    with NinepicClient(
        server.keys[ORG], ORG, server.url, retry=fast_retry, sleep=sleeps, limiter=None
    ) as c:
        server.faults.push(503, times=None, path_contains="/images")
        with pytest.raises(NinepicServerError, match="after 4 attempt") as caught:
            c.fetch_gallery(MARATHON)
    _assert_one_line_without_key(caught.value, server.keys[ORG])
    assert _requests(server) == 4


def test_retries_are_bounded_in_total_wait(server, sleeps):
    retry = RetryPolicy(max_attempts=50, max_total_wait_s=10.0)
    with NinepicClient(
        server.keys[ORG], ORG, server.url, retry=retry, sleep=sleeps, limiter=None
    ) as c:
        server.faults.push(429, headers={"Retry-After": "4"}, times=None, path_contains="/images")
        with pytest.raises(NinepicRateLimitError, match="kept throttling"):
            c.fetch_gallery(MARATHON)
    assert sleeps.waits == [4.0, 4.0]
    assert _requests(server) == 3


def test_read_timeouts_are_retried_then_reported():
    with SandboxServer(latency_s=0.5) as slow:
        retry = RetryPolicy(max_attempts=2, backoff_base_s=0.001, backoff_max_s=0.001)
        with (
            NinepicClient(
                slow.keys[ORG],
                ORG,
                slow.url,
                retry=retry,
                timeouts=Timeouts(connect_s=1.0, read_s=0.1),
                sleep=RecordingSleep(),
                limiter=None,
            ) as client,
            pytest.raises(NinepicConnectionError, match="timeout") as caught,
        ):
            client.ping(MARATHON)
    _assert_one_line_without_key(caught.value, slow.keys[ORG])


def test_connection_refused_is_a_connection_error(fast_retry):
    with SandboxServer() as gone:
        url, key = gone.url, gone.keys[ORG]
    client = NinepicClient(key, ORG, url, retry=fast_retry, sleep=RecordingSleep(), limiter=None)
    with client, pytest.raises(NinepicConnectionError, match="connection error"):
        client.ping(MARATHON)


def test_cut_body_is_retried(server, client):
    server.faults.push(
        200, body='{"responseType": "success", "data": {"ima', path_contains="/images"
    )
    assert len(client.fetch_gallery(MARATHON)) == 1280


def test_redirect_is_not_followed_so_the_key_stays_home(server, client):
    server.faults.push(302, headers={"Location": "http://127.0.0.2:9/steal"}, body="")
    with pytest.raises(NinepicConfigError, match=r"redirect \(HTTP 302\).*NINEPIC_BASE_URL"):
        client.ping(MARATHON)
    assert _requests(server) == 1


def test_api_message_quoting_part_of_the_key_is_withheld(server, client):
    key = server.keys[ORG]
    body = json.dumps(
        {"responseType": "error", "message": f"key {key[3:15]}... is inactive", "data": None}
    )
    server.faults.push(403, body=body, content_type="application/json")
    with pytest.raises(NinepicForbiddenError) as caught:
        client.ping(MARATHON)
    assert key[3:15] not in str(caught.value)
    assert "message withheld" in str(caught.value)


def test_api_message_is_kept_when_it_does_not_quote_the_key(server, client):
    body = json.dumps({"responseType": "error", "message": "page: bad\nvalue", "data": None})
    server.faults.push(422, body=body, content_type="application/json")
    with pytest.raises(NinepicValidationError, match=r"\(API said: page: bad value\)"):
        client.fetch_gallery(MARATHON)


def test_404_without_an_event_points_at_the_base_url(server, client):
    server.faults.push(404, path_contains="/events")
    with pytest.raises(NinepicNotFoundError, match="check NINEPIC_BASE_URL"):
        client.list_events()


def test_undocumented_status_says_what_to_check(server, client):
    server.faults.push(418)
    with pytest.raises(NinepicError, match=r"does not document.*NINEPIC_BASE_URL") as caught:
        client.ping(MARATHON)
    assert caught.value.status == 418


def test_events_without_a_positive_id_are_skipped(server, client, caplog):
    body = json.dumps(
        {
            "responseType": "success",
            "message": "ok",
            "data": {
                "events": [{"event_id": 0}, "junk", {"event_id": 5, "event_name": "Five"}],
                "pagination": {
                    "total": 3,
                    "currentPage": 1,
                    "totalPages": 1,
                    "hasNextPage": False,
                    "hasPreviousPage": False,
                    "page_size": 100,
                },
            },
        }
    )
    server.faults.push(200, body=body, content_type="application/json", path_contains="/events")
    events = client.list_events()
    assert [(e.event_id, e.event_name) for e in events] == [(5, "Five")]
    assert sum("skipped" in r.getMessage() for r in caplog.records) == 2


def test_a_key_a_header_cannot_carry_is_refused_without_quoting_it():
    with pytest.raises(NinepicConfigError, match="copied whole") as caught:
        NinepicClient("SECRETKEY\nPART2", ORG, "https://api.9pic.ai")
    assert "SECRET" not in str(caught.value)
