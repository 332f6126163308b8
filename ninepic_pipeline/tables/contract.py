"""The table contract: what each table is, generated from the declared schemas.

`docs/tables.md` is this module's output (`python -m ninepic_pipeline.tables.contract`), and a
test fails when the two differ, so the document cannot drift from the code. Dagster's asset
descriptions and column schemas come from the same `TABLE_DOCS` and `TABLE_SCHEMAS`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pyarrow as pa

from ninepic_pipeline.tables.schemas import TABLE_SCHEMAS


@dataclass(frozen=True)
class TableDoc:
    name: str
    description: str
    grain: str
    key: str
    computed: str
    partitioned: bool = True
    # Appended to, one file per snapshot, never rewritten; otherwise replaced whole.
    appended: bool = False

    @property
    def layout(self) -> str:
        folder = f"{self.name}/event_id={{id}}" if self.partitioned else self.name
        return (
            f"{folder}/part-{{snapshot}}.parquet" if self.appended else f"{folder}/part-0.parquet"
        )


TABLE_DOCS = {
    doc.name: doc
    for doc in [
        TableDoc(
            "images",
            "One row per photo of the event, in the API's capture order.",
            "one row per photo of an event",
            "event_id (path), image_id",
            "Every page of All Photos, read until two reads agree (see the README); repeated "
            "image_ids after the first dropped; sizes of zero or less, or over a million pixels, "
            "are unknown. Replaced whole by each snapshot; `first_seen_at` comes from the "
            "history (the photo's first addition in `image_changes`).",
        ),
        TableDoc(
            "image_changes",
            "One row per photo added to or removed from the gallery, snapshot after snapshot.",
            "one row per photo added or removed between two successive snapshots of an event",
            "event_id (path), detected_at, image_id",
            "Each snapshot against the event's recorded state (the photos whose additions "
            "outnumber their removals here): photos not in it are added (every photo, on the "
            "first snapshot), photos no longer listed are removed. A snapshot that adds and "
            "removes nothing (a retry, a re-run, a night without uploads) appends nothing, so "
            "re-running a night never counts a change twice; a best-effort read kept under "
            "drift appends nothing either. One file per snapshot, never rewritten.",
            appended=True,
        ),
        TableDoc(
            "gallery_snapshots",
            "One row per recorded snapshot of the gallery: how it grew, night after night.",
            "one row per snapshot that added or removed photos (and the first), per event",
            "event_id (path), snapshot_at",
            "Appended with the snapshot's `image_changes`, counting them; a snapshot that "
            "changes nothing appends nothing (the materialization says `appended_rows: 0`). "
            "One file per snapshot, never rewritten.",
            appended=True,
        ),
        TableDoc(
            "gallery_pages",
            "One row per page request of the gallery read that made `images`.",
            "one row per page request of the kept read",
            "event_id (path), page",
            "The pagination object of each page as the API answered it.",
        ),
        TableDoc(
            "image_size_stats",
            "One row per event: how large its photos are and how they are oriented.",
            "one row per event",
            "event_id (path)",
            "From `images`. Each side's statistics leave out that side's unknown values, as SQL "
            "aggregates do; megapixels statistics use photos with both sides known; "
            "percentiles interpolate linearly (numpy's default).",
        ),
        TableDoc(
            "capture_order_stats",
            "One row per event: how the gallery was read and how photos run through it.",
            "one row per event",
            "event_id (path)",
            "From `images`, `gallery_pages` and the Photo Timeline. Runs and switches compare "
            "neighbours in capture order; an unknown size or orientation counts as a value.",
        ),
        TableDoc(
            "capture_timeline",
            "One row per UTC hour with photos, plus one row of photos without a capture time.",
            "one row per UTC date and hour with photos, and one untimestamped row, per event",
            "event_id (path), capture_date, capture_hour",
            "From the Photo Timeline days; the untimestamped row is the API's total minus the "
            "timeline's. A disabled timeline gives an empty table and a note on the "
            "materialization, not a failed run.",
        ),
        TableDoc(
            "event_summary",
            "One row per event: its latest statistics and its growth; what a dashboard reads "
            "first.",
            "one row per event listed by the API or with tables in the warehouse",
            "event_id",
            "`events` joined with each event's `image_size_stats`, `capture_order_stats` and "
            "`gallery_snapshots`. Growth sums the snapshots of the last night (`_1d`: the UTC "
            "date of `computed_at`) and of the last 7 nights (`_7d`: the 7 UTC dates ending "
            "on it); the first snapshot counts every photo as added. Rebuilt by Declarative "
            "Automation whenever one of those tables changes (turn on "
            "`default_automation_condition_sensor`), or by hand.",
            partitioned=False,
        ),
        TableDoc(
            "events",
            "One row per event of the organisation, from every page of List Events.",
            "one row per event of the organisation",
            "event_id",
            "Every page of List Events; an item without a positive event_id is skipped.",
            partitioned=False,
        ),
    ]
}


def _description(field: pa.Field) -> str:
    return (field.metadata or {}).get(b"description", b"").decode()


def render_contract() -> str:
    lines = [
        "# Tables",
        "",
        "Generated by `python -m ninepic_pipeline.tables.contract > docs/tables.md` from the "
        "schemas in `ninepic_pipeline/tables/schemas.py`; a test fails when this file and the "
        "code differ. Every file has exactly these column types in every partition and every "
        "night. Partitioned tables keep `event_id` in the path only (Hive layout: read with "
        "Hive partitioning on, where it is an integer column).",
        "",
    ]
    for name, doc in TABLE_DOCS.items():
        lines += [
            f"## `{name}`",
            "",
            doc.description,
            "",
            f"- grain: {doc.grain}",
            f"- key: {doc.key}",
            f"- file: `{{warehouse}}/{doc.layout}`",
            f"- computed: {doc.computed}",
            "",
            "| column | type | nullable | meaning |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{f.name}` | {f.type} | {'yes' if f.nullable else 'no'} | {_description(f)} |"
            for f in TABLE_SCHEMAS[name]
        ]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render_contract())
