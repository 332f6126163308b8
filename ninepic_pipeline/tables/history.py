"""History across nights: what each snapshot added and removed, and when a photo was first seen.

A snapshot is compared with the last one published for the event, whatever night that was. A
snapshot that lists exactly the photos of the last one, in the same order (a retry, a re-run,
a night without uploads) records nothing: the history holds one entry per state the gallery
was seen in, so re-running a night can never count a change twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from ninepic_pipeline.tables.schemas import GALLERY_SNAPSHOTS, IMAGE_CHANGES, TIMESTAMP

# What the previous snapshot must tell: read from the event's published `images`.
PREVIOUS_COLUMNS = ["image_id", "capture_rank", "first_seen_at"]


@dataclass(frozen=True)
class PreviousSnapshot:
    """The event's last published snapshot: its photos and, when recorded, its time."""

    images: pa.Table
    snapshot_at: datetime | None

    @classmethod
    def from_images(cls, images: pa.Table, snapshot_at: datetime | None) -> PreviousSnapshot:
        """From a published `images` file; one written before `first_seen_at` existed gives
        each photo's `fetched_at` instead, the earliest the pipeline is known to have seen it."""
        if "first_seen_at" not in images.column_names:
            images = images.append_column("first_seen_at", images.column("fetched_at"))
        return cls(images.select(PREVIOUS_COLUMNS), snapshot_at)


def unchanged(ids: pa.ChunkedArray, previous: PreviousSnapshot | None) -> bool:
    """True when the snapshot lists exactly the previous one's photos, in the same order."""
    return previous is not None and ids.equals(previous.images.column("image_id"))


def first_seen_at(
    ids: pa.ChunkedArray, previous: PreviousSnapshot | None, snapshot_at: datetime
) -> pa.Array:
    """Each photo's first sighting: the previous snapshot's where it was there, else now."""
    now = pa.scalar(snapshot_at, TIMESTAMP)
    if previous is None:
        return pa.repeat(now, len(ids))
    where = pc.index_in(ids, value_set=previous.images.column("image_id"))
    seen = pc.take(previous.images.column("first_seen_at"), where)
    return pc.fill_null(seen, now).combine_chunks()


def image_changes(
    current: pa.Table, previous: PreviousSnapshot | None, snapshot_at: datetime, run_id: str
) -> pa.Table:
    """One row per photo of `current` (image_id, capture_rank) not in `previous`, then one per
    photo of `previous` not in `current`; every photo is an addition on the first snapshot."""
    before = (
        previous.images
        if previous is not None
        else pa.table(
            {"image_id": pa.array([], pa.string()), "capture_rank": pa.array([], pa.int64())}
        )
    )
    added = current.filter(pc.invert(pc.is_in(current["image_id"], before["image_id"])))
    removed = before.filter(pc.invert(pc.is_in(before["image_id"], current["image_id"])))
    n_added, n_removed = added.num_rows, removed.num_rows
    return pa.table(
        {
            "image_id": pa.concat_arrays(
                [added["image_id"].combine_chunks(), removed["image_id"].combine_chunks()]
            ),
            "change": pa.concat_arrays(
                [pa.repeat(pa.scalar("added"), n_added), pa.repeat(pa.scalar("removed"), n_removed)]
            ),
            "detected_at": pa.repeat(pa.scalar(snapshot_at, TIMESTAMP), n_added + n_removed),
            "run_id": pa.repeat(pa.scalar(run_id), n_added + n_removed),
            "capture_rank": pa.concat_arrays(
                [added["capture_rank"].combine_chunks(), pa.nulls(n_removed, pa.int64())]
            ),
            "previous_capture_rank": pa.concat_arrays(
                [pa.nulls(n_added, pa.int64()), removed["capture_rank"].combine_chunks()]
            ),
        },
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
    drift_accepted: bool


def gallery_snapshot_row(
    facts: SnapshotFacts, changes: pa.Table, previous: PreviousSnapshot | None
) -> pa.Table:
    """The snapshot's one row of `gallery_snapshots`."""
    change = changes.column("change")
    row = {
        "snapshot_at": facts.snapshot_at,
        "run_id": facts.run_id,
        "photos": facts.photos,
        "added": pc.sum(pc.equal(change, "added")).as_py() or 0,
        "removed": pc.sum(pc.equal(change, "removed")).as_py() or 0,
        "api_total": facts.api_total,
        "pages": facts.pages,
        "read_passes": facts.read_passes,
        "drift_accepted": facts.drift_accepted,
        "previous_snapshot_at": previous.snapshot_at if previous is not None else None,
    }
    return pa.Table.from_pylist([row], schema=GALLERY_SNAPSHOTS)
