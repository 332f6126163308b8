"""Each bad input gets one line that says what to fix, never a traceback or a wrong number."""

from __future__ import annotations

import pytest

from tests.conftest import KIDS_DASH, ORG, OTHER_ORG
from tests.defs.conftest import FAST_RETRY, failure_message, load_defs, run_gallery, with_api_config


def _fails_with(instance, key: str, expected: str) -> str:
    defs = with_api_config(load_defs(), **FAST_RETRY)
    result = run_gallery(defs, instance, key)
    assert not result.success
    message = failure_message(result)
    assert "\n" not in message and "Traceback" not in message
    assert expected in message, message
    return message


def test_org_the_key_does_not_own(ninepic_env, instance, monkeypatch):
    monkeypatch.setenv("NINEPIC_ORG_ID", str(OTHER_ORG))
    _fails_with(
        instance, str(KIDS_DASH), f"403 on All Photos for org {OTHER_ORG}, event {KIDS_DASH}"
    )


def test_wrong_key(ninepic_env, instance, monkeypatch):
    monkeypatch.setenv("NINEPIC_API_KEY", "not-a-key-of-this-org")
    message = _fails_with(instance, str(KIDS_DASH), "check NINEPIC_API_KEY and NINEPIC_ORG_ID")
    assert "not-a-key-of-this-org" not in message


def test_missing_key(ninepic_env, instance, monkeypatch):
    monkeypatch.delenv("NINEPIC_API_KEY")
    _fails_with(instance, str(KIDS_DASH), "NINEPIC_API_KEY")


def test_blank_key(ninepic_env, instance, monkeypatch):
    monkeypatch.setenv("NINEPIC_API_KEY", "   ")
    _fails_with(instance, str(KIDS_DASH), "no 9pic API key configured; set NINEPIC_API_KEY")


def test_unknown_event(ninepic_env, instance):
    _fails_with(instance, "999999", f"404 on All Photos for org {ORG}, event 999999: not found")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://api.9pic.ai", "is not an http(s) URL"),
        ("api.9pic.ai", "is not an http(s) URL"),
        ("http://api.9pic.ai", "plain http to a non-loopback host"),
    ],
)
def test_base_url_that_is_not_https(ninepic_env, instance, monkeypatch, url, expected, server):
    monkeypatch.setenv("NINEPIC_BASE_URL", url)
    _fails_with(instance, str(KIDS_DASH), expected)
    assert server.request_log == []


@pytest.mark.parametrize("key", ["../x", "1.5", "-3", "abc"])
def test_bad_partition_key(ninepic_env, instance, key):
    _fails_with(instance, key, f"partition key {key!r} is not an event id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "NINEPIC_ORG_ID is not set"), ("abc", "NINEPIC_ORG_ID must be a positive integer")],
)
def test_missing_or_bad_org(ninepic_env, instance, monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NINEPIC_ORG_ID")
    else:
        monkeypatch.setenv("NINEPIC_ORG_ID", value)
    _fails_with(instance, str(KIDS_DASH), expected)
