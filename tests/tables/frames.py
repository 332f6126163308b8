"""Hand-built inputs for the statistics tests."""

from __future__ import annotations

Size = tuple[int | None, int | None]


def orientation_of(width: int | None, height: int | None) -> str | None:
    """The orientation rule, written out independently of `tables.images.orientation`."""
    if width is None or height is None:
        return None
    if height > width:
        return "portrait"
    return "landscape" if width > height else "square"
