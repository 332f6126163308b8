"""Client for the 9pic external API: transport, endpoints, errors and record shapes.

Knows nothing of Dagster or pandas. Names are loaded on first use (PEP 562), so a module that
needs only the record shapes (`api.models`) does not pull in the HTTP stack with them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ninepic_pipeline.api.client": [
        "DEFAULT_BASE_URL",
        "DEFAULT_MAX_CONCURRENCY",
        "NinepicClient",
        "positive_id",
    ],
    "ninepic_pipeline.api.errors": [
        "GalleryDriftError",
        "GalleryReadError",
        "NinepicAuthMissingError",
        "NinepicBadRequestError",
        "NinepicConfigError",
        "NinepicConnectionError",
        "NinepicError",
        "NinepicForbiddenError",
        "NinepicNotFoundError",
        "NinepicRateLimitError",
        "NinepicResponseError",
        "NinepicServerError",
        "NinepicValidationError",
    ],
    "ninepic_pipeline.api.models": [
        "Event",
        "EventDetails",
        "Gallery",
        "PageRead",
        "Pagination",
        "PassReport",
        "Timeline",
    ],
    "ninepic_pipeline.api.retry": ["RetryPolicy", "parse_retry_after"],
    "ninepic_pipeline.api.snapshot": ["IdsDigest", "SnapshotPolicy"],
    "ninepic_pipeline.api.transport": ["Timeouts"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
