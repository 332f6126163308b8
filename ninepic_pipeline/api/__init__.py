"""Client for the 9pic external API: transport, endpoints, errors and record shapes.

Knows nothing of Dagster or pandas.
"""

from ninepic_pipeline.api.client import DEFAULT_BASE_URL, NinepicClient, positive_id
from ninepic_pipeline.api.errors import (
    GalleryReadError,
    NinepicAuthMissingError,
    NinepicBadRequestError,
    NinepicConfigError,
    NinepicConnectionError,
    NinepicError,
    NinepicForbiddenError,
    NinepicNotFoundError,
    NinepicRateLimitError,
    NinepicResponseError,
    NinepicServerError,
    NinepicValidationError,
)
from ninepic_pipeline.api.models import Event, EventDetails, Gallery, PageRead, Pagination, Timeline
from ninepic_pipeline.api.retry import RetryPolicy, parse_retry_after
from ninepic_pipeline.api.transport import Timeouts

__all__ = [
    "DEFAULT_BASE_URL",
    "Event",
    "EventDetails",
    "Gallery",
    "GalleryReadError",
    "NinepicAuthMissingError",
    "NinepicBadRequestError",
    "NinepicClient",
    "NinepicConfigError",
    "NinepicConnectionError",
    "NinepicError",
    "NinepicForbiddenError",
    "NinepicNotFoundError",
    "NinepicRateLimitError",
    "NinepicResponseError",
    "NinepicServerError",
    "NinepicValidationError",
    "PageRead",
    "Pagination",
    "RetryPolicy",
    "Timeline",
    "Timeouts",
    "parse_retry_after",
    "positive_id",
]
