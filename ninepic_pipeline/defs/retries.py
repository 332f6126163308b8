"""Run retries only where a retry can help.

A production instance retries failed runs (`dagster_home/dagster.production.yaml`). A run that
failed on throttling, a server error, the network or a gallery that kept changing may well pass
an hour later; one that failed on a bad key, an unknown event or bad configuration never will,
so such a run is tagged not to be retried before it fails.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

# Dagster's own tag: a run that carries "false" is not retried after an asset's failure.
RETRY_ON_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"


@contextmanager
def retried_only_if_transient(
    context: dg.AssetExecutionContext | dg.OpExecutionContext,
) -> Iterator[None]:
    try:
        yield
    except dg.Failure as failure:
        if not failure.allow_retries:
            context.instance.add_run_tags(context.run.run_id, {RETRY_ON_FAILURE_TAG: "false"})
        raise
