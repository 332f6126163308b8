"""History across nights: what each snapshot added and removed, and when a photo was first seen.

The history is its own record: the photos an event had at its last recorded snapshot are those
whose additions outnumber their removals in `image_changes`, and each was first seen at its
first addition. A snapshot is compared with that state, whatever night it was recorded and
whatever was published since (a best-effort read kept under drift records nothing). A snapshot
that adds and removes nothing (a retry, a re-run, a night without uploads) appends nothing, so
re-running a night can never count a change twice.

The last published `images` hold that same state whenever the run that published them kept no
drifted read; the caller then passes them instead (`published_history`), so that a night need
not read a million changes back, and the photos are found in their capture order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.tables.lookup import first_rows, rows_in_order
from ninepic_pipeline.tables.schemas import GALLERY_SNAPSHOTS, IMAGE_CHANGES, TIMESTAMP
from ninepic_pipeline.tables.streamed import StreamedTable

# What is read back from the warehouse to rebuild the recorded state.
CHANGE_COLUMNS = ["image_id", "change", "detected_at"]
IMAGE_COLUMNS = ["image_id", "capture_rank", "first_seen_at"]
# Changes are written a slice at a time: a first snapshot of a million photos is a million
# additions, whose repeated columns need not all be in memory at once.
CHANGE_BATCH_ROWS = 64 * 1024
_STATE = pa.schema([pa.field("image_id", pa.string()), pa.field("first_seen_at", TIMESTAMP)])


@dataclass(frozen=True)
class History:
    """The event's photos as its history last recorded them (`image_id`, `first_seen_at`);
    `snapshot_at` is None when nothing was recorded yet. `published` is the last published
    `images` (`image_id`, and `capture_rank` unless the ranks are the row order), where a
    removed photo's last rank is looked up;
    `in_capture_order` says `photos` are those very rows, in their capture order."""

    photos: pa.Table
    snapshot_at: datetime | None
    published: pa.Table | None = None
    in_capture_order: bool = False
    # For photos the state lacks, their first addition in `image_changes` if they had one: a
    # photo removed and added again was first seen when first added. Needed when `photos` are
    # the published images, which know nothing of the photos they lack.
    earlier_additions: Callable[[pa.ChunkedArray], pa.Array] | None = None

    @property
    def recorded(self) -> bool:
        return self.snapshot_at is not None

    def published_ranks(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Each id's rank in the last published `images` (its first row there), null where
        that file lacks it."""
        if self.published is None or not len(ids):
            return pa.nulls(len(ids), pa.int64())
        # The ids asked for are the few removed photos: the lookup hashes them and scans the
        # published million, where hashing those would cost over 100 MB.
        wanted = pc.unique(ids)
        rows = first_rows(self.published["image_id"], wanted)
        at = pa.array(rows, mask=rows < 0)
        if "capture_rank" in self.published.column_names:
            ranks = pc.take(self.published["capture_rank"], at)
        else:  # ranks 1, 2, ... in row order (`published_history`)
            ranks = pc.add(at, 1)
        return pc.take(ranks, pc.index_in(ids, value_set=wanted))


def recorded_history(
    changes: pa.Table | None,
    snapshot_at: datetime | None,
    images: pa.Table | None,
    earlier_additions: Callable[[pa.ChunkedArray], pa.Array] | None = None,
) -> History | None:
    """The history from the event's `image_changes` and its last published `images`; an
    `images` file with no history yet (written before the history existed) still gives each
    photo's first sighting, as its `first_seen_at` or else its `fetched_at`.
    `earlier_additions` (`first_additions` over the changes) covers the photos that come back."""
    if changes is None or snapshot_at is None:
        return None if images is None else published_history(images, None)
    published = None if images is None else images.select(["image_id", "capture_rank"])
    state = _present(changes).cast(_STATE)
    return History(state, snapshot_at, published, earlier_additions=earlier_additions)


def published_history(
    images: pa.Table,
    snapshot_at: datetime | None,
    earlier_additions: Callable[[pa.ChunkedArray], pa.Array] | None = None,
) -> History:
    """The history as the last published `images` hold it. When their run trusted its read
    and recorded them, they are the recorded state itself (every photo added and not removed,
    first seen at its first addition), without reading the changes back; `earlier_additions`
    (`first_additions` over the changes) covers the photos that come back."""
    if "first_seen_at" not in images.column_names:
        images = images.append_column("first_seen_at", images.column("fetched_at"))
    state = images.select(_STATE.names).cast(_STATE)
    # Ranks that are the row order, as a read publishes them, are not held (8 MB at 1M photos).
    ranks = images["capture_rank"].to_numpy()
    in_row_order = np.array_equal(ranks, np.arange(1, len(ranks) + 1))
    published = images.select(["image_id"] if in_row_order else ["image_id", "capture_rank"])
    return History(state, snapshot_at, published, True, earlier_additions)


def first_additions(changes: pa.Table, ids: pa.Array) -> pa.Array:
    """Each id's first addition among `changes` (`image_id`, `change`, `detected_at`), null
    where it was never added."""
    added = changes.filter(pc.equal(changes["change"], "added"))
    earliest = added.group_by("image_id").aggregate([("detected_at", "min")])
    where = pc.index_in(ids, value_set=earliest["image_id"])
    return pc.take(earliest["detected_at_min"], where).combine_chunks().cast(TIMESTAMP)


def _present(changes: pa.Table) -> pa.Table:
    """image_id and first_seen_at of the photos whose additions outnumber their removals."""
    added = pc.equal(changes["change"], "added")
    removed_ids = pc.unique(changes.filter(pc.invert(added))["image_id"])
    # Most photos were added once and never removed: only the few that were removed need
    # counting, and a million-row group-by costs hundreds of megabytes.
    touched = pc.is_in(changes["image_id"], removed_ids)
    once = changes.filter(pc.and_(added, pc.invert(touched)))
    counted = _count_changes(changes.filter(touched))
    return pa.concat_tables(
        [
            pa.table({"image_id": once["image_id"], "first_seen_at": once["detected_at"]}),
            counted,
        ]
    )


def _count_changes(changes: pa.Table) -> pa.Table:
    added = pc.equal(changes["change"], "added")
    signed = pa.table(
        {
            "image_id": changes["image_id"],
            "delta": pc.if_else(added, 1, -1),
            "first_seen_at": pc.if_else(added, changes["detected_at"], None),
        }
    )
    totals = signed.group_by("image_id").aggregate([("delta", "sum"), ("first_seen_at", "min")])
    present = totals.filter(pc.equal(totals["delta_sum"], 1))
    return pa.table(
        {
            "image_id": present["image_id"],
            "first_seen_at": present["first_seen_at_min"].cast(TIMESTAMP),
        }
    )


def rows_in_history(
    ids: pa.ChunkedArray, history: History | None
) -> pa.Array | pa.ChunkedArray | None:
    """For each id, its row in the history's photos, null where the history lacks it.

    The one lookup a snapshot makes against its history: `first_seen_at` and
    `added_and_removed` both take it, where each hashing a million ids of its own would cost
    over 100 MB a time. A history in capture order is searched in that order
    (`tables.lookup`), which hashes only the photos out of step."""
    if history is None:
        return None
    if history.in_capture_order:
        return rows_in_order(ids, history.photos["image_id"])
    return pc.index_in(ids, value_set=history.photos["image_id"])


def first_seen_at(
    ids: pa.ChunkedArray,
    history: History | None,
    now: datetime,
    rows: pa.Array | pa.ChunkedArray | None = None,
) -> pa.Array:
    """Each photo's first sighting: the history's where it has one, else now. `rows`, from
    `rows_in_history`, saves looking the ids up again."""
    stamp = pa.scalar(now, TIMESTAMP)
    if history is None:
        return pa.repeat(stamp, len(ids))
    where = rows_in_history(ids, history) if rows is None else rows
    # One contiguous column taken from, and no copy filled where nothing is missing: at a
    # million photos each copy is 8 MB more at the snapshot's busiest moment.
    seen = pc.take(history.photos["first_seen_at"].combine_chunks(), where)
    if isinstance(seen, pa.ChunkedArray):
        seen = seen.combine_chunks()
    if seen.null_count and history.earlier_additions is not None:
        new = pc.is_null(seen)
        seen = pc.replace_with_mask(seen, new, history.earlier_additions(ids.filter(new)))
    return pc.fill_null(seen, stamp) if seen.null_count else seen


def added_and_removed(
    current: pa.Table, history: History | None, rows: pa.Array | pa.ChunkedArray | None = None
) -> tuple[pa.Table, pa.Table]:
    """The photos of `current` (image_id, capture_rank) not in the recorded state, and those of
    the state not in `current` (with their last published rank); with nothing recorded yet,
    every photo is an addition. `rows`, from `rows_in_history`, saves looking the ids up."""
    if history is None or not history.recorded:
        return current, current.schema.empty_table()
    before = history.photos["image_id"]
    where = rows_in_history(current["image_id"], history) if rows is None else rows
    added = current.filter(pc.is_null(where))
    # The rows of the state that some current photo matched stay; the others were removed.
    gone = np.ones(len(before), dtype=bool)
    gone[pc.drop_null(where).to_numpy()] = False
    removed = before.filter(pa.array(gone))
    if len(removed):
        # A state holding an id twice (a history written by racing runs) matched only its first
        # row; the photo is still here. The removed rows are few: look them up, not `current`.
        here = pc.is_in(current["image_id"], value_set=removed)
        if pc.any(here).as_py():
            back = current["image_id"].filter(here)
            removed = removed.filter(pc.invert(pc.is_in(removed, value_set=back)))
    ranks = history.published_ranks(removed)
    return added, pa.table([removed, ranks], schema=current.schema)


def image_changes(
    current: pa.Table, added: pa.Table, removed: pa.Table, snapshot_at: datetime, run_id: str
) -> StreamedTable:
    """The `image_changes` rows of one snapshot: its additions, then its removals.

    An addition is a late upload when a photo of `current` seen before has a later rank.
    """
    last_seen_rank = _last_seen_rank(current, added)

    def batches() -> Iterator[pa.RecordBatch]:
        for change, rows in (("added", added), ("removed", removed)):
            for start in range(0, rows.num_rows, CHANGE_BATCH_ROWS):
                part = rows.slice(start, CHANGE_BATCH_ROWS)
                yield _change_batch(change, part, snapshot_at, run_id, last_seen_rank)

    return StreamedTable(IMAGE_CHANGES, added.num_rows + removed.num_rows, batches)


def _last_seen_rank(current: pa.Table, added: pa.Table) -> int:
    """The latest rank among the photos of `current` seen before; 0 when none was."""
    # `added` is rows of `current`, whose ranks are unique: the photos seen before are the
    # ranks not added, found among integers rather than by hashing a million ids again.
    ranks = current["capture_rank"].to_numpy()
    seen_before = ranks[~np.isin(ranks, added["capture_rank"].to_numpy())]
    return int(seen_before.max()) if seen_before.size else 0


def _change_batch(
    change: str, rows: pa.Table, at: datetime, run_id: str, last_seen_rank: int
) -> pa.RecordBatch:
    n = rows.num_rows
    ranks, no_ranks = rows["capture_rank"].combine_chunks(), pa.nulls(n, pa.int64())
    added = change == "added"
    return pa.record_batch(
        [
            rows["image_id"].combine_chunks(),
            pa.repeat(pa.scalar(change), n),
            pa.repeat(pa.scalar(at, TIMESTAMP), n),
            pa.repeat(pa.scalar(run_id), n),
            ranks if added else no_ranks,
            no_ranks if added else ranks,
            pc.less(ranks, last_seen_rank) if added else pa.nulls(n, pa.bool_()),
        ],
        schema=IMAGE_CHANGES,
    )


@dataclass(frozen=True)
class SnapshotFacts:
    """What a snapshot's row says beyond its changes."""

    snapshot_at: datetime
    run_id: str
    photos: int
    api_total: int
    pages: int
    read_passes: int


def gallery_snapshot_row(
    facts: SnapshotFacts, added: int, removed: int, history: History | None
) -> pa.Table:
    """The snapshot's one row of `gallery_snapshots`."""
    row = {
        "snapshot_at": facts.snapshot_at,
        "run_id": facts.run_id,
        "photos": facts.photos,
        "added": added,
        "removed": removed,
        "api_total": facts.api_total,
        "pages": facts.pages,
        "read_passes": facts.read_passes,
        "previous_snapshot_at": history.snapshot_at if history is not None else None,
    }
    return pa.Table.from_pylist([row], schema=GALLERY_SNAPSHOTS)
