"""Scripted faults: canned responses that stand in for the real one, for retry/robustness tests.

They act like a gateway in front of the API, so they apply before authentication and routing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from .routes import JSON_TYPE, Response, error_response

HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class Fault:
    """One scripted response; `remaining` None means "until cleared"."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    remaining: int | None = 1
    # Matching requests let through untouched before the fault starts (to fail mid-gallery).
    skip: int = 0
    path_contains: str | None = None
    content_type: str | None = None
    disconnect: bool = False
    served: int = 0

    def matches(self, path: str) -> bool:
        return not self.path_contains or self.path_contains in path

    def response(self) -> Response:
        """The response to send. A Content-Length in `headers` is kept, even a wrong one."""
        if self.body is None:
            base = error_response(self.status)
            body, content_type = base.body, self.content_type or JSON_TYPE
        else:
            body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
            content_type = self.content_type or HTML_TYPE
        headers = {"Content-Type": content_type, **self.headers}
        return Response(self.status, body, headers)


class FaultQueue:
    """FIFO of faults; each request takes the first queued fault whose path filter matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def push(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        times: int | None = 1,
        path_contains: str | None = None,
        content_type: str | None = None,
        *,
        disconnect: bool = False,
        skip: int = 0,
    ) -> Fault:
        """Queue a fault for the next `times` requests whose path contains `path_contains`.

        `body` None sends a JSON error envelope; a str or bytes body is sent as-is (HTML, "",
        half a JSON document...). `times` None repeats until `clear()`. `disconnect` closes the
        connection without any response, as a reset or crashed upstream would. `skip` lets that
        many matching requests through untouched first.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for unlimited)")
        fault = Fault(
            status=status,
            headers=dict(headers or {}),
            body=body,
            remaining=times,
            path_contains=path_contains,
            content_type=content_type,
            disconnect=disconnect,
            skip=skip,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """Consume one use of the first fault matching `path`, if any."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.served += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            del self._faults[i]
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
