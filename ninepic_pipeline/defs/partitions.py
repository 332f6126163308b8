"""Event partitions: one partition per 9pic event, keyed by its id in decimal."""

from __future__ import annotations

import dagster as dg

event_partitions = dg.DynamicPartitionsDefinition(name="events")


def event_id_from_key(key: str) -> int:
    """The event id a partition key names; a Failure before any request or file when it is bad.

    Only the canonical decimal form counts ("456", not "0456", "+456" or "4.5e2"), so one event
    never has two partitions and a key can never steer a path (`../x`).
    """
    if key.isascii() and key.isdigit() and not key.startswith("0"):
        return int(key)
    raise dg.Failure(
        description=(
            f"partition key {key!r} is not an event id: use the event's id as a positive "
            "decimal integer, such as 456"
        ),
        allow_retries=False,
    )
