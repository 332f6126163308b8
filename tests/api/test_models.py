"""Defensive parsing of the API's record shapes."""

from __future__ import annotations

import pytest

from ninepic_pipeline.api import NinepicResponseError, parse_retry_after
from ninepic_pipeline.api.errors import RequestScope
from ninepic_pipeline.api.models import Event, Pagination, pixels

SCOPE = RequestScope(org_id=903, event_id=456, endpoint="All Photos")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3240, 3240),
        (3240.0, 3240),
        (None, None),
        (0, None),
        (-5, None),
        (True, None),
        ("3240", None),
        (12.5, None),
        (10**20, None),
        (1e300, None),
        (1_000_000, 1_000_000),
    ],
)
def test_pixels_keeps_only_positive_integers(raw, expected):
    assert pixels(raw) == expected


def test_pagination_without_total_is_a_response_error_naming_the_event():
    with pytest.raises(NinepicResponseError, match=r"org 903, event 456.*'total'"):
        Pagination.from_json({"currentPage": 1}, SCOPE)


def test_event_ignores_unknown_fields_and_wrong_types():
    event = Event.from_json(
        {"event_id": 7, "event_name": 5, "extra": [1], "status": "active"}, SCOPE
    )
    assert (event.event_id, event.event_name, event.status, event.cover_image) == (
        7,
        None,
        "active",
        None,
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("1.5", 1.5),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
