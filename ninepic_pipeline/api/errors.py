"""Typed errors of the 9pic API client.

Every message is one line that names the org and event the request was for and says what to do.
None of them ever contains the API key: messages are built only from the request's scope and the
response's status, never from headers or the session.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestScope:
    """What a request was about, for messages: the org, and the event where there is one."""

    org_id: int
    event_id: int | None = None
    endpoint: str = ""

    def describe(self) -> str:
        where = f"org {self.org_id}"
        if self.event_id is not None:
            where += f", event {self.event_id}"
        return f"{self.endpoint} for {where}" if self.endpoint else where


class NinepicError(Exception):
    """Base of every error the client raises."""

    status: int | None = None
    retryable: bool = False

    def __init__(self, message: str, scope: RequestScope | None = None, status: int | None = None):
        super().__init__(message)
        self.scope = scope
        if status is not None:
            self.status = status


class NinepicConfigError(NinepicError):
    """The client was configured with values it cannot use (base URL, org id, key)."""


class NinepicBadRequestError(NinepicError):
    """400: the API rejected the request's validation."""

    status = 400


class NinepicAuthMissingError(NinepicError):
    """401: no API key reached the API."""

    status = 401


class NinepicForbiddenError(NinepicError):
    """403: key invalid or inactive, org/event not the key's, or a feature off for the event."""

    status = 403


class NinepicNotFoundError(NinepicError):
    """404: the event (or its configuration) does not exist for this org."""

    status = 404


class NinepicValidationError(NinepicError):
    """422: query parameters did not match the API's model."""

    status = 422


class NinepicRateLimitError(NinepicError):
    """429 after every retry allowed was spent."""

    status = 429
    retryable = True


class NinepicServerError(NinepicError):
    """500/502/503/504 after every retry allowed was spent."""

    retryable = True


class NinepicConnectionError(NinepicError):
    """Timeouts, resets and cut bodies after every retry allowed was spent."""

    retryable = True


class NinepicResponseError(NinepicError):
    """The API answered 200 with a body that breaks its documented shape."""


class GalleryReadError(NinepicError):
    """A gallery could not be read to a trustworthy end (page cap, a paging loop)."""


class GalleryDriftError(GalleryReadError):
    """The gallery kept changing over every read allowed; it may have settled by a later run."""

    retryable = True


def error_for_status(status: int, scope: RequestScope, api_message: str | None) -> NinepicError:
    """The typed, non-retryable error for a 4xx answer, with a message that says what to fix."""
    detail = f" (API said: {api_message})" if api_message else ""
    where = scope.describe()
    if status == 401:
        return NinepicAuthMissingError(
            f"9pic API 401 on {where}: no API key was sent; set NINEPIC_API_KEY{detail}",
            scope,
        )
    if status == 403:
        owned = f"org {scope.org_id}" + (" (or this event)" if scope.event_id is not None else "")
        return NinepicForbiddenError(
            f"9pic API 403 on {where}: the API key is invalid or inactive, or {owned} is not "
            f"the key's; check NINEPIC_API_KEY and NINEPIC_ORG_ID{detail}",
            scope,
        )
    if status == 404:
        advice = (
            f"check that the event id exists in org {scope.org_id}"
            if scope.event_id is not None
            else "check NINEPIC_BASE_URL (the API's root, e.g. https://api.9pic.ai) and "
            "NINEPIC_ORG_ID"
        )
        return NinepicNotFoundError(f"9pic API 404 on {where}: not found; {advice}{detail}", scope)
    if status == 422:
        return NinepicValidationError(
            f"9pic API 422 on {where}: query parameters rejected{detail}; fix the request "
            "parameters (page, page_size)",
            scope,
        )
    if status == 400:
        return NinepicBadRequestError(
            f"9pic API 400 on {where}: request rejected by validation{detail}; check the org "
            "and event ids",
            scope,
        )
    return NinepicError(
        f"9pic API {status} on {where}: an answer the API does not document{detail}; check that "
        "NINEPIC_BASE_URL points at the 9pic API, and report it with the event id if it does",
        scope,
        status,
    )
