"""`NinepicApi`: the 9pic API as a Dagster resource, configured from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from ninepic_pipeline.api import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONCURRENCY,
    NinepicClient,
    NinepicError,
    RetryPolicy,
    SnapshotPolicy,
    Timeouts,
)


class NinepicApi(dg.ConfigurableResource):
    """One organisation's 9pic API. Give `api_key` as `EnvVar` so the UI shows only its name."""

    # Optional so that an unset variable reaches `open` and gets its one-line error there,
    # rather than a config traceback before the run starts.
    api_key: str | None = Field(
        default=None, description="9pic API key (from NINEPIC_API_KEY through EnvVar)"
    )
    org_id: str | None = Field(default=None, description="9pic organisation id (NINEPIC_ORG_ID)")
    base_url: str = Field(default=DEFAULT_BASE_URL, description="API base URL (NINEPIC_BASE_URL)")
    page_size: int = Field(default=100, description="Photos per page asked for; 100 is the max")
    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY,
        description="Page requests in flight at once (NINEPIC_MAX_CONCURRENCY)",
    )
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    retry_attempts: int = Field(default=6, description="Attempts per request on transient faults")
    backoff_base_s: float = Field(default=0.5, description="First retry's backoff ceiling")
    retry_max_wait_s: float = Field(default=300.0, description="Total wait allowed per request")
    max_read_passes: int = Field(default=6, description="Reads of a changing gallery to try")
    confirm_reads: bool = Field(
        default=True,
        description="Trust a read only when a second one agrees (NINEPIC_CONFIRM_READS=0: off)",
    )
    accept_drift: bool = Field(
        default=False,
        description="Keep the best read when none is consistent (NINEPIC_ACCEPT_DRIFT=1)",
    )
    trust_recorded: bool = Field(
        default=False,
        description="Trust a first read that matches the last recorded snapshot without a "
        "second read (NINEPIC_TRUST_RECORDED=1; see the README for what it cannot see)",
    )

    @contextmanager
    def open(self) -> Iterator[NinepicClient]:
        """A client for the block; any API error leaves it as a one-line `Failure`.

        Client errors (4xx, bad configuration) are marked not worth a run retry; exhausted
        throttling, server and network errors are.
        """
        try:
            client = NinepicClient(
                api_key=self.api_key or "",
                org_id=self.org_id or "",
                base_url=self.base_url,
                page_size=self.page_size,
                max_concurrency=self.max_concurrency,
                timeouts=Timeouts(self.connect_timeout_s, self.read_timeout_s),
                retry=RetryPolicy(
                    max_attempts=self.retry_attempts,
                    backoff_base_s=self.backoff_base_s,
                    max_total_wait_s=self.retry_max_wait_s,
                ),
                snapshot=SnapshotPolicy(
                    max_passes=self.max_read_passes,
                    confirm=self.confirm_reads,
                    on_drift="accept" if self.accept_drift else "fail",
                    trust_recorded=self.trust_recorded,
                ),
            )
        except (NinepicError, ValueError) as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        try:
            yield client
        except NinepicError as error:
            raise dg.Failure(description=str(error), allow_retries=error.retryable) from None
        finally:
            client.close()
