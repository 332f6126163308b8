"""One event's gallery read and published: the work behind the gallery asset and the batch.

The asset reports what this returns as `MaterializeResult`s of its own partition; the batch
(`defs/batch.py`) reports it as partition-scoped materializations and check evaluations of a
run that covers many events. Both publish through the same transaction and history.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.api import Gallery, IdsDigest, NinepicClient, Timeline
from ninepic_pipeline.defs.metadata import appended_metadata, table_metadata
from ninepic_pipeline.defs.warehouse_resource import WarehouseResource
from ninepic_pipeline.memory import configure_allocators, return_freed_memory
from ninepic_pipeline.tables import TABLE_SCHEMAS
from ninepic_pipeline.tables.checks import CheckOutcome, check_schema
from ninepic_pipeline.tables.history import (
    CHANGE_COLUMNS,
    IMAGE_COLUMNS,
    History,
    first_additions,
    published_history,
    recorded_history,
)
from ninepic_pipeline.tables.lookup import sharing_read_ids
from ninepic_pipeline.tables.snapshot import (
    GALLERY_TABLES,
    HISTORY_TABLES,
    GallerySnapshot,
    gallery_snapshot,
)
from ninepic_pipeline.warehouse import Warehouse, appended_part

# The tables one gallery step publishes: replaced whole, then appended to.
PUBLISHED = (*GALLERY_TABLES, *HISTORY_TABLES)

Context = dg.AssetExecutionContext | dg.OpExecutionContext
# What reading a damaged or half-written table of the warehouse raises; where a table is read
# only to spare work (the recorded digest, the history from the images), it costs that saving.
UNREADABLE = (OSError, KeyError, ValueError, pa.ArrowException)


@dataclass(frozen=True)
class PublishedTable:
    """A table as one event's snapshot left it: what its materialization says, and its checks."""

    name: str
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)


class BlockingChecksFailed(Exception):
    """A blocking check failed, so no table was changed; `outcomes` are every check's result."""

    def __init__(self, outcomes: list[CheckOutcome], failed: list[str]) -> None:
        self.outcomes = outcomes
        self.failure = dg.Failure(
            description=f"blocking check(s) failed: {', '.join(failed)}; no table was changed",
            allow_retries=False,
        )
        super().__init__(self.failure.description)


def publish_gallery(
    context: Context, client: NinepicClient, warehouse: WarehouseResource, event_id: int
) -> list[PublishedTable]:
    """Read a consistent snapshot of the event's gallery and publish its tables together.

    Raises the client's `NinepicError` when the read fails, `dg.Failure` when the commit does,
    `BlockingChecksFailed` when a blocking check stops it: the previous tables stay whole.
    """
    configure_allocators()
    store = warehouse.open()
    recorded = (
        _last_snapshot_digest(context, store, event_id) if client.snapshot.trust_recorded else None
    )
    gallery, timeline = client.fetch_gallery_and_timeline(event_id, recorded)
    return_freed_memory()
    with gallery:
        if not timeline.available:
            context.log.warning(
                f"event {event_id}: Photo Timeline is disabled; untimestamped_count is null"
            )
        if gallery.drift_accepted:
            context.log.warning(
                f"event {event_id}: no consistent read; the best one was kept, and recorded in "
                "no history (it may lack photos)"
            )
        snapshot, schema = _publish_snapshot(context.run.run_id, gallery, timeline, store, event_id)
        context.log.info(
            f"event {event_id}: {len(gallery)} photos in {len(gallery.pages)} page(s), "
            f"{len(gallery.passes)} read(s)"
            + (", as recorded before" if gallery.matches_recorded else "")
            + f", {gallery.retries} retr(ies)"
        )
        return _published(snapshot, [*snapshot.checks, schema], gallery, timeline, store, event_id)


def _last_snapshot_digest(context: Context, store: Warehouse, event_id: int) -> str | None:
    """`_recorded_digest` of the event's published tables, none half-published: under the
    event's lock, a crashed commit finished first, and none while a commit is still pending
    (one cut short within the last minute is left to its owner). It only spares a read, so a
    warehouse it cannot read costs a warning and a confirming read, not the run."""
    try:
        with store.event_lock(event_id):
            store.recover()
            if store.commit_pending():
                return None
            return _recorded_digest(store, event_id)
    except UNREADABLE as error:
        context.log.warning(
            f"event {event_id}: the last snapshot could not be read to spare a confirming "
            f"read ({type(error).__name__}: {str(error).splitlines()[0][:200]}); the gallery "
            "is read twice"
        )
        return None


def _recorded_digest(store: Warehouse, event_id: int) -> str | None:
    """The digest of the photos the warehouse holds for the event (`IdsDigest`), for the read
    to match in place of a confirming read; None when there is no snapshot to trust: none yet,
    one kept under drift (it may lack photos), or ranks out of order."""
    if not _images_are_a_trusted_read(store, event_id):
        return None
    digest, expected = IdsDigest(), 1
    for batch in store.read_batches("images", event_id, ["image_id", "capture_rank"]):
        ranks = batch.column("capture_rank").to_numpy()
        if not np.array_equal(ranks, np.arange(expected, expected + len(ranks))):
            return None
        digest.update_array(batch.column("image_id"))
        expected += len(ranks)
    return digest.hexdigest()


def _images_are_a_trusted_read(store: Warehouse, event_id: int) -> bool:
    """Whether the event's published `images` come from a read that was trusted, not one kept
    under drift (which may lack photos)."""
    if not (store.exists("images", event_id) and store.exists("capture_order_stats", event_id)):
        return False
    stats_key = store.key("capture_order_stats", event_id)
    if "drift_accepted" not in store.read_schema(stats_key).names:
        return False  # written before the flag: whether its read was trusted is unknown
    drift = store.read("capture_order_stats", event_id, ["drift_accepted"]).column(0).to_pylist()
    return drift == [False]


def _read_numbers(gallery: Gallery) -> dict[str, Any]:
    """What the UI plots across runs."""
    return {
        "photos": len(gallery),
        "api_total": gallery.api_total,
        "pages": len(gallery.pages),
        "duplicates_dropped": gallery.duplicates_dropped,
        "retries": gallery.retries,
        "read_passes": len(gallery.passes),
        "matches_recorded": gallery.matches_recorded,
    }


def _recorded_history(store: Warehouse, event_id: int, read_ids: pa.ChunkedArray) -> History | None:
    """The event's history as the warehouse holds it (see `tables.history`): the last
    published `images` when they are the recorded state, their ids held once where the new
    read's `read_ids` repeat them; else its `image_changes`."""
    images = _published_images(store, event_id)
    recorded = store.exists("gallery_snapshots", event_id) and store.exists(
        "image_changes", event_id
    )
    if not recorded:
        return recorded_history(None, None, images.read() if images else None)
    snapshots = store.read("gallery_snapshots", event_id, ["snapshot_at", "photos"])
    latest = pc.index(snapshots["snapshot_at"], pc.max(snapshots["snapshot_at"])).as_py()
    snapshot_at = snapshots["snapshot_at"][latest].as_py()
    # A commit still pending may have moved its images but not yet its stats (or its history);
    # the count is one more sign that the images are the state the history last recorded.
    if (
        images is not None
        and images.has_first_seen
        and not store.commit_pending()
        and _trusted_if_readable(store, event_id)
        and store.row_count("images", event_id) == snapshots["photos"][latest].as_py()
    ):
        return published_history(
            images.read_sharing(read_ids), snapshot_at, _earlier_additions(store, event_id)
        )
    changes = store.read("image_changes", event_id, CHANGE_COLUMNS)
    published = images.read() if images else None
    return recorded_history(changes, snapshot_at, published, _earlier_additions(store, event_id))


def _trusted_if_readable(store: Warehouse, event_id: int) -> bool:
    """`_images_are_a_trusted_read`, false when the flag cannot be read: the history is then
    read from its changes, and the unreadable table is replaced by this run's."""
    try:
        return _images_are_a_trusted_read(store, event_id)
    except UNREADABLE:
        return False


@dataclass(frozen=True)
class _PublishedImages:
    """The columns of the event's `images` file that the history reads, as that file has them."""

    store: Warehouse
    event_id: int
    schema: pa.Schema  # the file's, from its footer

    @property
    def columns(self) -> list[str]:
        return [c for c in (*IMAGE_COLUMNS, "fetched_at") if c in self.schema.names]

    @property
    def has_first_seen(self) -> bool:
        return "first_seen_at" in self.columns

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.store.read("images", self.event_id, columns or self.columns)

    def read_sharing(self, read_ids: pa.ChunkedArray) -> pa.Table:
        """`IMAGE_COLUMNS` in one pass over the file, its ids held once as far as the new read
        repeats them (`tables.lookup.sharing_read_ids`)."""
        others = [name for name in IMAGE_COLUMNS if name != "image_id"]
        kept: list[pa.RecordBatch] = []

        def ids() -> Iterator[pa.Array]:
            for batch in self.store.read_batches("images", self.event_id, IMAGE_COLUMNS):
                kept.append(batch.select(others))
                yield batch.column("image_id")

        shared = sharing_read_ids(ids(), read_ids)
        if not kept:  # a file of no rows gives no batch
            return self.read(IMAGE_COLUMNS)
        # The file's own field for the ids: its nullability and description, as a read has them.
        id_field = self.schema.field("image_id")
        return pa.Table.from_batches(kept).add_column(0, id_field, shared.cast(id_field.type))


def _earlier_additions(store: Warehouse, event_id: int) -> Callable[[pa.ChunkedArray], pa.Array]:
    """`first_additions` of the ids among the event's changes, read for those ids alone."""

    def earlier_additions(ids: pa.ChunkedArray) -> pa.Array:
        wanted = ids.combine_chunks()
        changes = store.read_rows_of("image_changes", event_id, CHANGE_COLUMNS, wanted)
        return first_additions(changes, wanted)

    return earlier_additions


def _published_images(store: Warehouse, event_id: int) -> _PublishedImages | None:
    if not store.exists("images", event_id):
        return None
    return _PublishedImages(store, event_id, store.read_schema(store.key("images", event_id)))


def _publish_snapshot(
    run_id: str, gallery: Gallery, timeline: Timeline, store: Warehouse, event_id: int
) -> tuple[GallerySnapshot, CheckOutcome]:
    # One run of an event at a time from here to the commit: each reads the history the one
    # before it left. A crashed commit is finished first, so the history read is complete.
    with store.event_lock(event_id):
        store.recover()
        last_recorded = store.latest_part("gallery_snapshots", event_id)
        snapshot_at = datetime.now(UTC)
        # The history is passed, not bound to a name here: `gallery_snapshot` lets it go before
        # the statistics, which a reference held in this frame would prevent.
        snapshot = gallery_snapshot(
            gallery,
            timeline,
            snapshot_at,
            run_id,
            _recorded_history(store, event_id, gallery.photos.column("image_id")),
        )
        failed = [f"{o.spec.table}.{o.spec.name}" for o in snapshot.blocking_failures]
        if failed:
            raise BlockingChecksFailed(snapshot.checks, failed)
        schema = _commit(store, snapshot, event_id, snapshot_at, run_id, last_recorded)
    return snapshot, schema


def _commit(
    store: Warehouse,
    snapshot: GallerySnapshot,
    event_id: int,
    snapshot_at: datetime,
    run_id: str,
    last_recorded: str | None,
) -> CheckOutcome:
    """Stage every table and the history's new files, then publish them together."""
    part = appended_part(snapshot_at, run_id)
    with store.transaction() as transaction:
        staged = {
            name: transaction.stage(name, table, event_id)
            for name, table in snapshot.tables.items()
        }
        for name, table in snapshot.appended.items():
            transaction.stage(name, table, event_id, part)
        schema = check_schema(store.read_schema(staged["images"]), TABLE_SCHEMAS["images"])
        if schema.stops_the_run:
            raise BlockingChecksFailed(
                [*snapshot.checks, schema], ["images.schema_matches_declared"]
            )
        if store.latest_part("gallery_snapshots", event_id) != last_recorded:
            # Another run of the event (where no lock reaches, an object store) recorded a
            # snapshot meanwhile: this one's changes were computed against an older state.
            raise dg.Failure(
                description=f"event {event_id}: another run published a snapshot meanwhile; "
                "nothing was changed by this one, re-run it",
                allow_retries=True,
            )
    return schema


def _published(
    snapshot: GallerySnapshot,
    outcomes: list[CheckOutcome],
    gallery: Gallery,
    timeline: Timeline,
    store: Warehouse,
    event_id: int,
) -> list[PublishedTable]:
    published = []
    for name in PUBLISHED:
        if name in snapshot.tables:
            metadata = table_metadata(snapshot.tables[name], store.path(name, event_id))
        else:
            metadata = appended_metadata(
                snapshot.appended.get(name),
                TABLE_SCHEMAS[name],
                store.row_count(name, event_id),
                store.folder(name, event_id),
            )
        if name == "images":
            metadata.update(_read_numbers(gallery))
        if name == "capture_timeline":
            metadata["timeline_available"] = timeline.available
            if not timeline.available:
                metadata["note"] = "The event's Photo Timeline is disabled: no hours to show."
        checks = [o for o in outcomes if o.spec.table == name]
        published.append(PublishedTable(name, metadata, checks))
    return published
