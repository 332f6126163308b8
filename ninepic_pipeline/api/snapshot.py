"""Consistent snapshots of a gallery that may change while it is being paged.

9pic pages by offset over photos ordered by capture time, so a photo uploaded or removed between
two page requests shifts every later page: a photo is then read twice or never. A read ("pass")
is trusted only when it is self-consistent: every page reported the same `total`, every page was
full (the last one holding the remainder), no photo was seen twice, and the unique photos seen
equal that total.

One self-consistent read is not proof: a `total` that lags behind an upload can hide the shift
it caused. So by default (`confirm=True`) a read is trusted only when the next read returns the
very same photos, both consistent in their photos (a `total` that flickered while the photos
held still does not stop two reads from agreeing). A stable gallery costs two reads; one that
keeps changing is read until two agree, within `max_passes`. `confirm=False` trusts a single
fully consistent read and confirms only after drift was seen: half the requests, at the risk of
a stale `total` masking an upload, or of a deletion and an upload between two pages reading as a
gallery that never was.

Two reads can still agree on a gallery that never was when the last page is full: an upload
behind a lagging `total` pushes the last photo onto a page neither read plans for. So every read
asks for the page past a full last page, once its last page has answered, and a photo on it,
answered as that page, that is not a repeat of the last page or of page 1 makes the read
inconsistent (`_Pass.check_past_the_end`): one request and one round trip more a read of a
gallery whose size is a multiple of the page size. Every read, the first of a confirmed pair
too: a read is confirmed by the next one only if both were whole, since a deletion during the
next read can empty the page that would have shown the pushed photo (the photo is then on no
page either read asked for, and the two agree). An answer that fails after the transport's
retries fails the read, as any page's does.

Within a read the last planned page is asked for alone, once every other page has answered:
answered before a page ahead of it that a change then shifted, it would miss the shift. A
planned page refused as past the end (the gallery shrank under the plan) leaves the read
incomplete, and another read follows.

With `trust_recorded` (off by default), a read can also be confirmed by what was recorded
before: given the digest of a snapshot
trusted earlier (last night's, `IdsDigest.update_array` over its ids), a first read that is fully
consistent (no `total` moved either) and holds exactly those ids, in that order, is trusted
without a second read once one more round finds it still so: page 1 asked again answers the
same, and, when the last page was full, the page past it holds no other photo (an upload at the
very end behind a lagging `total` shifts no page, so only that page shows it). A gallery that
did not change since costs one read and a round. What it cannot see, where two whole reads
would: a change made since the record that a lagging `total` hides, combined with a change
during the read that brings the pages back to the recorded ids (an upload past the pages read,
behind a lagging total, and a deletion on a page already read: the read is the record, a state
the gallery did not have while it was read), or a photo that left the event and came back.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ninepic_pipeline.api.errors import (
    GalleryDriftError,
    GalleryReadError,
    NinepicBadRequestError,
    NinepicError,
    NinepicNotFoundError,
    NinepicValidationError,
    RequestScope,
)
from ninepic_pipeline.api.models import Gallery, PageRead, Pagination, PassReport
from ninepic_pipeline.api.records import (
    PhotoColumns,
    first_occurrence_rows,
    image_ids,
    photos_per_page,
)

DriftPolicy = Literal["fail", "accept"]

# How an API that refuses pages past the end answers one: no photo is there.
PAST_END_REFUSALS = (NinepicBadRequestError, NinepicNotFoundError, NinepicValidationError)


@dataclass(frozen=True, slots=True)
class PageResponse:
    """One page as the API answered it."""

    page: int
    items: list[Any]
    pagination: Pagination
    fetched_at: datetime


FetchPages = Callable[[Iterable[int]], Iterator[PageResponse]]


@dataclass(frozen=True)
class SnapshotPolicy:
    """How hard to try for a consistent read, and what to do when the gallery never holds still.

    `on_drift="accept"` keeps the best read after `max_passes` with `drift_accepted` set, for
    galleries that are uploaded to around the clock; the default fails the read instead.
    """

    max_passes: int = 6
    on_drift: DriftPolicy = "fail"
    max_pages: int = 20_000
    confirm: bool = True
    # Off by default: a match can be fooled where two whole reads are not (module docstring).
    trust_recorded: bool = False

    @property
    def min_passes(self) -> int:
        """Passes of a read whose gallery held still: a confirmed read needs two."""
        return 2 if self.confirm else 1

    def __post_init__(self) -> None:
        if self.max_passes < self.min_passes:
            raise ValueError(
                f"max_passes must be at least {self.min_passes} with confirm="
                f"{self.confirm}, got {self.max_passes}"
            )
        if self.on_drift not in ("fail", "accept"):
            raise ValueError(f"on_drift must be 'fail' or 'accept', got {self.on_drift!r}")


class IdsDigest:
    """blake2b of photo ids in order: two reads agree when their digests do, and a read matches
    a recorded snapshot whose ids give the same digest.

    Each id is its UTF-8 bytes and a NUL. An id that is empty or holds a NUL itself (opaque
    strings may) is a NUL, its length in 8 bytes and its bytes instead, so that no two lists
    of ids share a digest (`["a\\0b"]` and `["a", "b"]` would otherwise).
    """

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)

    def update(self, ids: list[str]) -> None:
        if not ids:
            return
        joined = "\0".join(ids)
        if all(ids) and joined.count("\0") == len(ids) - 1:
            self._hash.update(joined.encode() + b"\0")
        else:
            self._hash.update(b"".join(map(_escaped_id, ids)))

    def update_array(self, ids: pa.Array | pa.ChunkedArray) -> None:
        """The same as `update(ids.to_pylist())` for string ids without nulls, without a Python
        string per id (a million of them would cost more than the read they spare)."""
        if isinstance(ids, pa.ChunkedArray):
            for chunk in ids.chunks:
                self.update_array(chunk)
            return
        if ids.null_count:
            raise ValueError("photo ids cannot be null")
        if not len(ids):
            return
        ids = ids.cast(pa.large_string())
        offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[
            ids.offset : ids.offset + len(ids) + 1
        ]
        data = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if not np.diff(offsets).all() or not data.all():
            self.update(ids.to_pylist())  # an empty id or a NUL in one: escaped, one by one
            return
        # A NUL after each id: inserted at each id's end, the last one at the very end.
        self._hash.update(np.insert(data, offsets[1:] - offsets[0], 0).tobytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _escaped_id(image_id: str) -> bytes:
    if image_id and "\0" not in image_id:
        return image_id.encode() + b"\0"
    raw = image_id.encode()
    return b"\0" + len(raw).to_bytes(8, "big") + raw


class _Pass:
    """Accumulates one read into columns, noting everything that looks inconsistent."""

    def __init__(
        self, number: int, scope: RequestScope, org_id: int, event_id: int, ids_only: bool
    ) -> None:
        self.scope = scope
        self.report = PassReport(number=number)
        self.gallery = Gallery(org_id=org_id, event_id=event_id)
        # A read that can only confirm the one before it needs its ids, not its photos.
        self.ids_only = ids_only
        self._columns = None if ids_only else PhotoColumns()
        self._previous_ids: list[str] | None = None
        self._first_ids: list[str] | None = None
        # Reads are compared by a digest of their ordered ids, so no earlier read is kept.
        self._digest = IdsDigest()

    @property
    def last(self) -> Pagination:
        return self.gallery.pages[-1].pagination

    @property
    def last_page(self) -> int:
        return self.gallery.pages[-1].page

    def add(self, response: PageResponse) -> bool:
        """Take a page in; False when the pass must stop here (the listing ended or broke)."""
        pagination, page = response.pagination, response.page
        ids = image_ids(response.items, self.scope)
        if self._previous_ids and ids == self._previous_ids:
            if page <= pagination.total_pages:
                raise GalleryReadError(
                    f"{self.scope.describe()}: the API returned the same photos for pages "
                    f"{page - 1} and {page}; it seems to ignore the page parameter, so the gallery "
                    "cannot be read: report it to 9pic with the event id",
                    self.scope,
                )
            self._note(f"page {page} past the end repeated page {page - 1}")
            return False
        self._check_shape(response)
        if self._columns is not None:
            self._columns.add(response.items, ids, page)
        self._digest.update(ids)
        self.gallery.pages.append(PageRead(page, pagination, len(ids), 0, response.fetched_at))
        self.report.pages += 1
        self.report.totals.append(pagination.total)
        self._previous_ids = ids
        if self._first_ids is None:
            self._first_ids = ids
        return pagination.current_page != 0 and bool(ids)

    def _check_shape(self, response: PageResponse) -> None:
        pagination, page = response.pagination, response.page
        if self.report.totals and pagination.total != self.report.totals[-1]:
            self.report.total_moves.append(
                f"total moved {self.report.totals[-1]} -> {pagination.total} on page {page}"
            )
        if pagination.current_page == 0 and pagination.total == 0:
            return
        if pagination.current_page != page:
            self._note(f"page {page} was answered as page {pagination.current_page}")
        size = max(pagination.page_size, 1)
        if pagination.total_pages > math.ceil(pagination.total / size) + 1:
            raise GalleryReadError(
                f"{self.scope.describe()}: page {page} reports {pagination.total_pages} pages for "
                f"{pagination.total} photos at {size} a page, which cannot be; the listing cannot "
                "be trusted: report it to 9pic with the event id",
                self.scope,
            )

    def _note(self, anomaly: str) -> None:
        self.report.anomalies.append(anomaly)

    def refused(self, page: int, error: NinepicError) -> None:
        """A page the read planned was refused as past the end: the read is not whole."""
        self._note(f"page {page} was refused ({type(error).__name__}) before the planned end")

    def close(self) -> None:
        """Closes the read's URL spool, finished or not."""
        if self._columns is not None:
            self._columns.urls.close()
        self.gallery.close()

    def _keep_columns(self, columns: PhotoColumns) -> None:
        read = columns.table()
        keep = first_occurrence_rows(read.column("image_id"))
        photos = read if keep is None else read.take(keep)
        columns.urls.finish(keep)
        new = photos_per_page(photos)
        gallery = self.gallery
        gallery.photos, gallery.urls = photos, columns.urls
        gallery.pages = [replace(p, new_images=new.get(p.page, 0)) for p in gallery.pages]
        gallery.duplicates_dropped = self.report.duplicates = read.num_rows - photos.num_rows
        self.report.unique = photos.num_rows

    def _check_after_last(self) -> None:
        """Pages are answered in any order when read concurrently: a page answered after the
        last one that reports another total saw an upload or a deletion the last page did not
        (at the end of the gallery, it shifts no other page, so nothing else would tell)."""
        reads = self.gallery.pages
        if not reads:
            return
        last = reads[-1]
        for read in reads[:-1]:
            if read.fetched_at > last.fetched_at and read.pagination.total != last.pagination.total:
                self._note(
                    f"page {read.page}, answered after the last page, reports "
                    f"{read.pagination.total} photos where the last reported "
                    f"{last.pagination.total}"
                )
                return

    def _check_fill(self) -> None:
        """Every page full but the last, which holds the rest of the total reported at the end."""
        total, reads = self.report.final_total, self.gallery.pages
        for read in reads:
            size = max(read.pagination.page_size, 1)
            expected = min(size, max(total - (read.page - 1) * size, 0))
            if read.images != expected:
                self._note(f"page {read.page} held {read.images} photos where {expected} were due")

    def still_at_end(self, probes: Iterator[PageResponse]) -> bool:
        """Whether the gallery still looks as read, by page 1 asked again and then, if the
        last page was full, the page past it; what differs is noted as an anomaly."""
        first_total = self.report.totals[0]
        try:
            again = next(probes)
        except NinepicError as error:
            self._note(f"page 1, asked again after the last page, failed ({type(error).__name__})")
            return False
        if image_ids(again.items, self.scope) != self._first_ids or (
            again.pagination.total != first_total
        ):
            self._note("page 1, asked again after the last page, changed")
            return False
        past = self.last_page + 1
        try:
            beyond = next(probes, None)
        except PAST_END_REFUSALS:
            return True  # the API refuses pages past the end: none is there
        except NinepicError as error:
            self._note(f"page {past}, past the last, failed ({type(error).__name__})")
            return False
        if beyond is None:
            return True
        ids = image_ids(beyond.items, self.scope)
        # A page past the end may repeat the last, as that page itself: a clamped answer
        # (another currentPage) or another total says nothing of what lies past the end.
        repeat = ids == self._previous_ids and beyond.pagination.current_page == past
        if (ids and not repeat) or beyond.pagination.total != first_total:
            self._note(f"page {past}, past the last, holds photos or another total")
            return False
        return True

    def check_past_the_end(self, probe: Iterator[PageResponse]) -> None:
        """Notes photos on the page past a full last page, answered as that page, that are on
        neither the last page nor page 1. A `total` that lags behind an upload plans one page
        too few: the photo the upload pushed off the last page is on a page the read never
        asks for, and every page it does ask for is full and agrees with the lagging total (so
        would the next read's, within the lag). An empty page, a refusal, an answer that says
        it is another page (clamped, or a page repeated) and a repeat of the last page or of
        page 1 say nothing. Any other failure fails the read, as a failure of any other page
        does: a probe that could not be answered proves nothing, and two reads would agree
        on a gallery that never was if it were skipped."""
        past = self.last_page + 1
        try:
            beyond = next(probe, None)
        except PAST_END_REFUSALS:
            return
        if beyond is None or beyond.pagination.current_page != past:
            return
        ids = image_ids(beyond.items, self.scope)
        if ids and ids != self._previous_ids and ids != self._first_ids:
            self._note(
                f"page {past}, past the last full page, holds {len(ids)} photo(s) the read did "
                "not plan for"
            )

    @property
    def last_page_full(self) -> bool:
        last = self.gallery.pages[-1]
        return last.images > 0 and last.images >= last.pagination.page_size

    def finish(self) -> PassReport:
        if self._columns is None:
            # Its ids are only compared with the read before, by digest: a read that agrees
            # holds exactly that read's photos, repeats included, so none are counted here.
            self.report.unique = sum(read.images for read in self.gallery.pages)
        else:
            self._keep_columns(self._columns)
        self.report.digest = self._digest.hexdigest()
        if self.report.duplicates:
            self._note(f"{self.report.duplicates} photo(s) read twice")
        self._check_fill()
        self._check_after_last()
        last = self.last
        if last.has_next_page and self.gallery.pages[-1].page >= last.total_pages:
            self._note(f"hasNextPage still true on page {self.gallery.pages[-1].page}, the last")
        if self.report.unique != self.report.final_total:
            self._note(
                f"{self.report.unique} unique photos read where the API reports "
                f"{self.report.final_total}"
            )
        return self.report


class SnapshotReader:
    """Reads a gallery pass after pass until a read can be trusted (see the module docstring)."""

    def __init__(
        self,
        fetch_pages: FetchPages,
        scope: RequestScope,
        org_id: int,
        event_id: int,
        policy: SnapshotPolicy,
        recorded_digest: str | None = None,
    ) -> None:
        self._fetch_pages = fetch_pages
        self._scope = scope
        self._org_id = org_id
        self._event_id = event_id
        self._policy = policy
        # The ids of a snapshot trusted before (see the module docstring); None: none known.
        self._recorded_digest = recorded_digest

    def read(self) -> Gallery:
        reports: list[PassReport] = []
        # Only reports of earlier reads are kept, not their photos: at most the best read so
        # far (when drift may be accepted) and the last read, for the next one to confirm.
        best: _Pass | None = None
        confirmable: _Pass | None = None
        current: _Pass | None = None
        try:
            for number in range(1, self._policy.max_passes + 1):
                current = _Pass(
                    number, self._scope, self._org_id, self._event_id, confirmable is not None
                )
                self._read_pass(current)
                reports.append(current.finish())
                previous = reports[-2] if len(reports) > 1 else None
                if previous is None and self._matches_recorded(current):
                    _close_all_but(current, best, confirmable)
                    current.gallery.matches_recorded = True
                    return self._result(current.gallery, reports, drift_accepted=False)
                if self._trusted(previous, current.report):
                    kept = confirmable if current.ids_only and confirmable is not None else current
                    _close_all_but(kept, best, confirmable, current)
                    return self._result(kept.gallery, reports, drift_accepted=False)
                if current.ids_only:
                    # It disagreed with the read before: the next read is read whole again.
                    _close_all_but(best, confirmable)
                    confirmable = None
                    continue
                if self._policy.on_drift == "accept" and (
                    best is None or self._better(best, current) is current
                ):
                    _close_all_but(None, best)
                    best = current
                confirmable = current if current.report.photos_consistent else None
                if current is not best and current is not confirmable:
                    current.close()
            if best is not None:
                _close_all_but(best, confirmable)
                return self._result(best.gallery, reports, drift_accepted=True)
            raise self._drift_error(reports)
        except BaseException:
            # Failed reads, and the drift error too: whatever holds the error (a Dagster step
            # reports it later) must not hold the reads' temporary files open with it.
            _close_all_but(None, best, confirmable, current)
            raise

    def _drift_error(self, reports: list[PassReport]) -> GalleryDriftError:
        # The last reads say most about why the gallery would not settle; one line stays short.
        moved = "; ".join(
            f"read {report.number}: {report.findings[0]}"
            + (f" (+{len(report.findings) - 1} more)" if len(report.findings) > 1 else "")
            for report in reports[-3:]
            if report.findings
        )
        return GalleryDriftError(
            f"{self._scope.describe()}: the gallery kept changing over {len(reports)} reads "
            f"({moved}); re-run when uploads have settled, or accept the best read "
            "(NINEPIC_ACCEPT_DRIFT=1)",
            self._scope,
        )

    def _matches_recorded(self, current: _Pass) -> bool:
        """A first read, fully consistent, with the recorded snapshot's ids, and still so one
        round after its last page (`_Pass.still_at_end`)."""
        report = current.report
        if not (self._policy.confirm and self._policy.trust_recorded and report.consistent):
            return False
        if self._recorded_digest is None or report.digest != self._recorded_digest:
            return False
        probes = [1, current.last_page + 1] if current.last_page_full else [1]
        with contextlib.closing(self._fetch_pages(probes)) as responses:
            return current.still_at_end(responses)

    def _trusted(self, previous: PassReport | None, current: PassReport) -> bool:
        if previous is None:
            return current.consistent and not self._policy.confirm
        return (
            current.photos_consistent
            and previous.photos_consistent
            and previous.digest == current.digest
        )

    @staticmethod
    def _better(best: _Pass, current: _Pass) -> _Pass:
        """The later read consistent in its photos, else the one closest to its total."""
        if current.report.photos_consistent:
            return current
        if best.report.photos_consistent:
            return best

        def distance(candidate: _Pass) -> tuple[int, int]:
            report = candidate.report
            return abs(report.unique - report.final_total), len(report.findings)

        return current if distance(current) <= distance(best) else best

    def _result(self, gallery: Gallery, reports: list[PassReport], drift_accepted: bool) -> Gallery:
        gallery.passes = reports
        gallery.drift_accepted = drift_accepted
        return gallery

    def _read_pass(self, current: _Pass) -> None:
        if not self._read_pages(current):
            return
        # Every read, not only those that could be trusted: a read confirmed by the next one
        # must itself have been whole (a deletion during the next read can hide from it the
        # photo this read's probe would have found).
        if current.last_page_full:
            with contextlib.closing(self._fetch_pages([current.last_page + 1])) as probe:
                current.check_past_the_end(probe)

    def _read_pages(self, current: _Pass) -> bool:
        """Every page into `current`; False when the listing ended or broke before its end."""
        # Page 1 alone first, in every read: it says how many pages there are, and it is
        # answered before any other page is asked for, so no page answered after the last one
        # can be page 1 (asking for a later read's pages together gave, in the soak, reads that
        # two reads agreed on and a change made while they ran had left stale).
        first = next(self._fetch_pages([1]))
        if not current.add(first):
            return False
        last = first.pagination.total_pages
        self._guard_page_cap(last)
        # The last planned page alone, once every other page has answered: answered before
        # a page ahead of it that a change then shifted, it misses the shift, and behind a
        # lagging total two reads can agree on a gallery that never was (a review built one
        # with two requests in flight). A round trip more a read of three pages or more.
        for planned in (range(2, last), range(max(last, 2), last + 1)):
            if not self._add_pages(current, planned):
                return False
        # The gallery may have grown past the pages planned from page 1: follow it.
        while current.last.has_next_page and current.last_page < current.last.total_pages:
            page = current.last_page + 1
            self._guard_page_cap(page)
            if not self._add_pages(current, [page]):
                return False
        return True

    def _add_pages(self, current: _Pass, pages: Sequence[int]) -> bool:
        """The pages into `current`, in order; False when the listing ended or broke, or when
        the API refused a page as past its end (the gallery shrank under the plan): another
        read, not a failed run."""
        with contextlib.closing(self._fetch_pages(pages)) as responses:
            for page in pages:
                try:
                    response = next(responses)
                except PAST_END_REFUSALS as error:
                    current.refused(page, error)
                    return False
                if not current.add(response):
                    return False
        return True

    def _guard_page_cap(self, pages: int) -> None:
        if pages > self._policy.max_pages:
            raise GalleryReadError(
                f"{self._scope.describe()} has more than {self._policy.max_pages} pages (the API "
                f"reports {pages}); raise the page cap if the gallery really is that large",
                self._scope,
            )


def _close_all_but(kept: _Pass | None, *passes: _Pass | None) -> None:
    for other in passes:
        if other is not None and other is not kept:
            other.close()
