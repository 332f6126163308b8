"""The snapshot protocol: a gallery read is trusted only when it is consistent."""

from __future__ import annotations

import gc
import hashlib
import json

import pyarrow as pa
import pytest

from ninepic_pipeline.api import GalleryReadError, NinepicClient
from ninepic_pipeline.api.errors import GalleryDriftError, NinepicServerError
from ninepic_pipeline.api.snapshot import IdsDigest, SnapshotPolicy
from ninepic_pipeline.api.spool import UrlSpool
from ninepic_pipeline.sandbox import Chaos, SandboxServer, World
from tests.conftest import EMPTY, MARATHON, ORG

JSON = "application/json"
# How an API that refuses pages past the end answers one (with 422, 400 or 404).
REFUSAL = json.dumps({"responseType": "error", "message": "page: out of range", "data": None})


def _page_body(ids, page, total, total_pages, page_size=2, has_next=None):
    return json.dumps(
        {
            "responseType": "success",
            "message": "Records for all images",
            "data": {
                "images": [
                    {"image_id": i, "width": 100, "height": 50, "img_url": f"u/{i}"} for i in ids
                ],
                "pagination": {
                    "total": total,
                    "currentPage": page,
                    "totalPages": total_pages,
                    "hasNextPage": page < total_pages if has_next is None else has_next,
                    "hasPreviousPage": page > 1,
                    "page_size": page_size,
                },
            },
        }
    )


def _script(server, *bodies):
    for body in bodies:
        server.faults.push(200, body=body, content_type=JSON, path_contains="/images")


def _empty_past(page, total, total_pages, page_size=2):
    """The empty page an API answers past the end, which every read asks for when its last
    page is full (`_Pass.check_past_the_end`)."""
    return _page_body([], page, total, total_pages, page_size, has_next=False)


def _client(server, fast_retry, **policy) -> NinepicClient:
    return NinepicClient(
        server.keys[ORG],
        ORG,
        server.url,
        retry=fast_retry,
        snapshot=SnapshotPolicy(**policy),
        max_concurrency=1,
    )


def _image_pages(server) -> list[int]:
    return [int(e.query["page"]) for e in server.request_log if e.path.endswith("/images")]


def test_stable_gallery_is_read_and_confirmed(server, client):
    gallery = client.fetch_gallery(MARATHON)
    assert len(gallery.passes) == 2
    assert all(p.consistent for p in gallery.passes)
    assert not gallery.drift_accepted
    assert sorted(_image_pages(server)) == sorted(list(range(1, 14)) * 2)


def test_without_confirmation_a_stable_gallery_is_read_once(server, fast_retry):
    with _client(server, fast_retry, confirm=False) as client:
        gallery = client.fetch_gallery(MARATHON)
    assert len(gallery.passes) == 1 and len(gallery) == 1280
    assert sorted(_image_pages(server)) == list(range(1, 14))


def test_stale_total_hiding_an_upload_is_caught_by_the_confirmation(server, client):
    # Right after read 1, "x" is uploaded at the start and "d" deleted: the total stays 4.
    # Read 1 was consistent but is already stale; read 2 differs from it, and read 3 agrees.
    first = [_page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2)]
    _script(server, *first, _empty_past(3, 4, 2))
    now = [_page_body(["x", "a"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2), _empty_past(3, 4, 2)]
    _script(server, *now, *now)
    gallery = client.fetch_gallery(MARATHON)
    assert gallery.image_id == ["x", "a", "b", "c"]
    assert len(gallery.passes) == 3
    assert gallery.passes[0].consistent


def test_duplicate_from_an_upload_triggers_a_reread_and_a_confirmation(server, client):
    # A photo uploaded into page 1 between the two requests pushes "b" onto page 2 as well.
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2))
    gallery = client.fetch_gallery(MARATHON)
    first, second, third = gallery.passes
    assert first.duplicates == 1 and not first.consistent
    assert "3 unique photos read where the API reports 4" in first.anomalies
    assert second.consistent and third.consistent
    assert len(gallery) == 1280 and gallery.duplicates_dropped == 0


def test_duplicates_are_dropped_and_counted_when_drift_is_accepted(server, fast_retry):
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2))
    with _client(server, fast_retry, max_passes=1, on_drift="accept", confirm=False) as client:
        gallery = client.fetch_gallery(MARATHON)
    assert gallery.drift_accepted
    assert gallery.image_id == ["a", "b", "c"]
    assert gallery.column("page") == [1, 1, 2]
    assert gallery.duplicates_dropped == 1
    assert [p.new_images for p in gallery.pages] == [2, 1]


def test_total_that_flickers_while_photos_hold_still_is_confirmed_by_a_second_read(server, client):
    pages = [(["a", "b"], 1), (["c", "d"], 2), (["e", "f"], 3)]
    _script(server, *(_page_body(ids, n, 5 if n == 2 else 6, 3) for ids, n in pages))
    _script(server, _empty_past(4, 6, 3))
    _script(server, *(_page_body(ids, n, 6, 3) for ids, n in pages), _empty_past(4, 6, 3))
    gallery = client.fetch_gallery(MARATHON)
    # Pass 1's total flickered on page 2 with its photos in place; pass 2 agrees and is clean.
    assert gallery.image_id == ["a", "b", "c", "d", "e", "f"]
    assert len(gallery.passes) == 2
    assert gallery.passes[0].total_moves == [
        "total moved 6 -> 5 on page 2",
        "total moved 5 -> 6 on page 3",
    ]
    assert gallery.passes[0].photos_consistent
    # Both reads ask past their full last page, whatever the total did.
    assert _image_pages(server) == [1, 2, 3, 4, 1, 2, 3, 4]


def test_gallery_that_never_settles_fails_naming_what_moved(server, fast_retry):
    bodies = []
    for _ in range(3):
        bodies += [_page_body(["a", "b"], 1, 4, 2), _page_body(["c"], 2, 4, 2)]
    _script(server, *bodies)
    with _client(server, fast_retry, max_passes=3) as client, pytest.raises(GalleryReadError) as e:
        client.fetch_gallery(MARATHON)
    text = str(e.value)
    assert "kept changing over 3 reads" in text
    assert "read 3: page 2 held 1 photos where 2 were due (+1 more)" in text
    assert "NINEPIC_ACCEPT_DRIFT" in text and "\n" not in text


def test_best_read_is_kept_when_drift_is_accepted(server, fast_retry):
    _script(
        server,
        _page_body(["a", "b"], 1, 4, 2),
        _page_body(["c"], 2, 4, 2),  # pass 1: a short page, 3 of 4 read
        _page_body(["a", "b"], 1, 5, 3),
        _page_body(["c", "d"], 2, 5, 3),
        _page_body(["e", "e"], 3, 5, 3),  # pass 2: short of one, a duplicate
    )
    with _client(server, fast_retry, max_passes=2, on_drift="accept") as client:
        gallery = client.fetch_gallery(MARATHON)
    assert gallery.drift_accepted
    assert gallery.image_id == ["a", "b", "c", "d", "e"]


def test_page_repeating_the_previous_page_stops_with_an_error(server, client):
    _script(server, _page_body(["a", "b"], 1, 6, 3), _page_body(["a", "b"], 2, 6, 3))
    with pytest.raises(GalleryReadError, match="same photos for pages 1 and 2"):
        client.fetch_gallery(MARATHON)


def test_total_pages_that_cannot_fit_the_total_stops_with_an_error(server, client):
    _script(server, _page_body(["a", "b"], 1, 4, 1000))
    with pytest.raises(GalleryReadError, match="reports 1000 pages for 4 photos"):
        client.fetch_gallery(MARATHON)


def test_has_next_page_that_never_ends_is_not_followed(server, client):
    _script(server, _page_body(["a", "b"], 1, 2, 1, has_next=True), _empty_past(2, 2, 1))
    gallery = client.fetch_gallery(MARATHON)
    assert "hasNextPage still true on page 1, the last" in gallery.passes[0].anomalies
    # Page 2 is asked once, as the page past a full last page, and not followed further: the
    # second pass starts over.
    assert _image_pages(server)[:3] == [1, 2, 1]


def test_short_page_before_the_end_is_drift(server, client):
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c"], 2, 4, 2))
    gallery = client.fetch_gallery(MARATHON)
    assert "page 2 held 1 photos where 2 were due" in gallery.passes[0].anomalies


def test_live_uploads_between_pages_end_in_the_final_gallery(fast_retry):
    """Photos inserted and deleted while the gallery is paged: the read ends on the result."""
    world = World()
    world.add_event(ORG, 77, name="Live", photos=120, seed=5)
    chaos = Chaos(seed=3, mutations=6, p_mutation=0.5)
    with SandboxServer(world=world, chaos=chaos) as live:
        client = NinepicClient(live.keys[ORG], ORG, live.url, page_size=10, retry=fast_retry)
        with client:
            gallery = client.fetch_gallery(77)
        assert live.chaos_stats["insert"] + live.chaos_stats["delete"] == 6
        assert gallery.image_id == world.photo_ids(ORG, 77)
    assert len(gallery) == 120 + live.chaos_stats["insert"] - live.chaos_stats["delete"]
    assert not gallery.passes[0].consistent
    assert gallery.passes[-1].consistent and gallery.passes[-2].photos_consistent


def test_the_confirming_read_checks_ids_and_the_first_read_is_kept(server, fast_retry):
    # Two reads with the same photos in the same order: the second confirms the first by its
    # ids alone, and the photos kept (sizes, URLs) are the first read's.
    first = _page_body(["a", "b"], 1, 2, 1)
    second = first.replace('"width": 100', '"width": 300')
    _script(server, first, _empty_past(2, 2, 1), second, _empty_past(2, 2, 1))
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert len(gallery.passes) == 2
    assert gallery.column("width") == [100, 100]
    assert [b.column("img_url").to_pylist() for b in gallery.url_batches()] == [["u/a", "u/b"]]


def test_a_confirming_read_that_disagrees_is_followed_by_a_whole_read(server, fast_retry):
    _script(
        server,
        _page_body(["a", "b"], 1, 2, 1),
        _empty_past(2, 2, 1),
        _page_body(["a", "c"], 1, 2, 1),  # changed between the reads
        _empty_past(2, 2, 1),
        _page_body(["a", "c"], 1, 2, 1),  # read whole again: it agrees with the one before
        _empty_past(2, 2, 1),
    )
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert gallery.image_id == ["a", "c"]
    assert len(gallery.passes) == 3
    assert _image_pages(server) == [1, 2, 1, 2, 1, 2]


def _open_spools() -> int:
    """URL spools of this process not yet closed: each holds a temporary file."""
    gc.collect()
    return sum(isinstance(o, UrlSpool) and not o.closed for o in gc.get_objects())


@pytest.mark.parametrize(
    "scripted",
    [
        # The first read fails on its second page.
        [(200, _page_body(["a", "b"], 1, 4, 2)), (500, None)],
        # The first read is whole, and the confirming read fails on its second page.
        [
            (200, _page_body(["a", "b"], 1, 4, 2)),
            (200, _page_body(["c", "d"], 2, 4, 2)),
            (200, _page_body(["a", "b"], 1, 4, 2)),
            (500, None),
        ],
    ],
    ids=["first-read", "confirming-read"],
)
def test_a_read_that_fails_leaves_no_spool_open(server, fast_retry, scripted):
    # The error is held, as Dagster holds a step's error to report it: the reads' temporary
    # files must be closed by the read itself, not when the error is dropped.
    before = _open_spools()
    for status, body in scripted:
        times = 1 if status == 200 else None  # a lasting failure
        server.faults.push(
            status, body=body, content_type=JSON, path_contains="/images", times=times
        )
    with _client(server, fast_retry) as client, pytest.raises(NinepicServerError) as error:
        client.fetch_gallery(MARATHON)
    server.faults.clear()
    assert error.value.status == 500
    assert _open_spools() == before


def test_a_gallery_that_never_settles_leaves_no_spool_open(server, fast_retry):
    # Each read whole and consistent, each with other photos: the last one is still waiting
    # for a read to confirm it when the reads run out.
    before = _open_spools()
    past = _empty_past(2, 2, 1)
    _script(server, *(body for ids in "bcd" for body in (_page_body(["a", ids], 1, 2, 1), past)))
    with (
        _client(server, fast_retry, max_passes=3) as client,
        pytest.raises(GalleryDriftError) as error,
    ):
        client.fetch_gallery(MARATHON)
    assert "kept changing over 3 reads" in str(error.value)
    assert _open_spools() == before


def test_the_spool_check_sees_an_open_spool():
    # The same count over a spool left open, so that an unchanged count above means closed.
    before = _open_spools()
    spool = UrlSpool()
    assert _open_spools() == before + 1
    spool.close()
    assert _open_spools() == before


def _recorded(ids: list[str]) -> str:
    """The digest of a snapshot of `ids`, by its definition: blake2b-128 of each id's bytes and
    a NUL, or, for an id empty or holding a NUL, a NUL, its length in 8 bytes and its bytes."""
    parts = []
    for image_id in ids:
        raw = image_id.encode()
        plain = raw and b"\0" not in raw
        parts.append(raw + b"\0" if plain else b"\0" + len(raw).to_bytes(8, "big") + raw)
    return hashlib.blake2b(b"".join(parts), digest_size=16).hexdigest()


def test_a_read_matching_the_recorded_snapshot_needs_no_confirming_read(server, fast_retry):
    recorded = _recorded(server.world.photo_ids(ORG, MARATHON))
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(MARATHON, recorded)
    assert len(gallery.passes) == 1 and gallery.matches_recorded
    assert gallery.image_id == server.world.photo_ids(ORG, MARATHON)
    # Then page 1 once more; the last page (80 photos) is not full, so none past it.
    pages = _image_pages(server)
    assert sorted(pages[:-1]) == list(range(1, 14)) and pages[-1] == 1


@pytest.mark.parametrize("change", ["one photo fewer", "two photos swapped"])
def test_a_read_unlike_the_recorded_snapshot_is_confirmed_by_a_second_read(server, client, change):
    ids = server.world.photo_ids(ORG, MARATHON)
    recorded = ids[1:] if change == "one photo fewer" else [ids[1], ids[0], *ids[2:]]
    gallery = client.fetch_gallery(MARATHON, _recorded(recorded))
    assert len(gallery.passes) == 2 and not gallery.matches_recorded
    assert gallery.image_id == ids
    assert sorted(_image_pages(server)) == sorted(list(range(1, 14)) * 2)


def test_a_read_matching_the_recorded_ids_with_a_moving_total_is_confirmed(server, fast_retry):
    # The ids are the recorded ones, but the total moved between the pages: the gallery changed
    # while it was read, so the match proves nothing and the read must be confirmed.
    _script(
        server,
        _page_body(["a", "b"], 1, 3, 2),
        _page_body(["c", "d"], 2, 4, 2),
        _empty_past(3, 4, 2),
        _page_body(["a", "b"], 1, 4, 2),
        _page_body(["c", "d"], 2, 4, 2),
        _empty_past(3, 4, 2),
    )
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(
        MARATHON, _recorded(["a", "b", "c", "d"])
    )
    assert gallery.image_id == ["a", "b", "c", "d"]
    assert len(gallery.passes) == 2 and not gallery.matches_recorded
    first = gallery.passes[0]
    assert first.photos_consistent and first.total_moves == ["total moved 3 -> 4 on page 2"]


def test_without_confirmation_the_recorded_snapshot_changes_nothing(server, fast_retry):
    recorded = _recorded(server.world.photo_ids(ORG, MARATHON))
    with _client(server, fast_retry, confirm=False, trust_recorded=True) as client:
        gallery = client.fetch_gallery(MARATHON, recorded)
    assert len(gallery.passes) == 1 and not gallery.matches_recorded


def test_by_default_a_read_matching_the_record_is_still_confirmed(server, fast_retry):
    recorded = _recorded(server.world.photo_ids(ORG, MARATHON))
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON, recorded)
    assert len(gallery.passes) == 2 and not gallery.matches_recorded
    assert sorted(_image_pages(server)) == sorted(list(range(1, 14)) * 2)


@pytest.mark.parametrize(
    ("status", "body", "note"),
    [
        (503, None, "page 3, past the last, failed (NinepicServerError)"),
        (
            200,
            _page_body(["c", "d"], 2, 4, 2),
            "page 3, past the last, holds photos or another total",
        ),
        (200, _page_body([], 3, 5, 3), "page 3, past the last, holds photos or another total"),
    ],
    ids=["failing", "clamped-to-the-last", "another-total"],
)
def test_a_page_past_the_end_that_proves_nothing_calls_for_a_confirming_read(
    server, fast_retry, status, body, note
):
    # The read's own page past the end is empty; then the round: page 1 again answers alike,
    # and page 3 answers one of these; the reads after it (a whole one, then its
    # confirmation) find the same photos.
    pages = [_page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2)]
    past = _empty_past(3, 4, 2)
    _script(server, *pages, past, pages[0])
    times = fast_retry.max_attempts if status == 503 else 1
    server.faults.push(status, body=body, content_type=JSON, path_contains="/images", times=times)
    _script(server, *pages, past, *pages, past)
    client = _client(server, fast_retry, trust_recorded=True)
    gallery = client.fetch_gallery(MARATHON, _recorded(["a", "b", "c", "d"]))
    assert gallery.image_id == ["a", "b", "c", "d"] and not gallery.matches_recorded
    assert len(gallery.passes) == 3
    assert gallery.passes[0].anomalies == [note]


@pytest.mark.parametrize(
    "ids",
    [
        ["a"],
        ["b7e1-ü", "x", "Ω" * 40],
        [f"id-{n}" for n in range(1000)],
        ["a\0b", "c", "", "d\0"],
    ],
    ids=["one", "unicode", "many", "nul-and-empty"],
)
def test_a_recorded_digest_of_arrow_ids_is_the_digest_of_a_read_of_them(ids):
    array = pa.array(["dropped", *ids, "dropped too"]).slice(1, len(ids))
    from_arrow = IdsDigest()
    for start in range(0, len(ids), 300):  # in batches, as the warehouse reads them
        from_arrow.update_array(array.slice(start, 300))
    from_read = IdsDigest()
    from_read.update(ids[:1])
    from_read.update(ids[1:])
    from_read.update([])  # an empty page adds nothing
    assert from_arrow.hexdigest() == from_read.hexdigest() == _recorded(ids)
    large = IdsDigest()
    large.update_array(pa.array(ids, pa.large_string()))
    assert large.hexdigest() == _recorded(ids)


def test_a_recorded_digest_refuses_null_ids():
    with pytest.raises(ValueError, match="cannot be null"):
        IdsDigest().update_array(pa.array(["a", None]))


def test_no_two_lists_of_ids_share_a_digest_through_a_nul_or_an_empty_id():
    lists = [["a\0b"], ["a", "b"], ["", "x"], ["x"], ["x", ""], ["\0"], [""], ["", ""]]
    digests = []
    for ids in lists:
        digest = IdsDigest()
        digest.update(ids)
        digests.append(digest.hexdigest())
        chunked = IdsDigest()
        chunked.update_array(pa.chunked_array([pa.array(ids)]))
        assert chunked.hexdigest() == digests[-1]
    assert len(set(digests)) == len(lists)


def _past_the_end(page: int, ids: list[str]) -> str:
    return _page_body(ids, page, 4, 2, has_next=False)


@pytest.mark.parametrize("uploaded", ["before the read", "after the read"])
def test_an_upload_at_the_end_behind_a_lagging_total_is_found_past_the_last_page(
    server, fast_retry, uploaded
):
    # "p" sorts last (captured last, or with no time), behind a total lagging at 4: both pages
    # match the recorded snapshot and no total moves. Only the page past the last shows "p":
    # uploaded before the read, the read's own request for it makes the read inconsistent, so
    # it is never offered to the match; uploaded once the read's own request was answered
    # empty, the round's shows it. Either way two more reads agree on the gallery with "p".
    now = [_page_body(["a", "b"], 1, 5, 3), _page_body(["c", "d"], 2, 5, 3)]
    now.append(_page_body(["p"], 3, 5, 3))
    before = uploaded == "before the read"
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2))
    if before:
        _script(server, _past_the_end(3, ["p"]))
    else:  # the read's own page past the end, then the round: page 1 again, as it was
        _script(server, _empty_past(3, 4, 2), _page_body(["a", "b"], 1, 4, 2))
        _script(server, _past_the_end(3, ["p"]))
    _script(server, *now, *now)
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(
        MARATHON, _recorded(["a", "b", "c", "d"])
    )
    assert gallery.image_id == ["a", "b", "c", "d", "p"]
    assert len(gallery.passes) == 3 and not gallery.matches_recorded
    found = (
        "page 3, past the last full page, holds 1 photo(s) the read did not plan for"
        if before
        else "page 3, past the last, holds photos or another total"
    )
    assert gallery.passes[0].anomalies == [found]
    first_read = [1, 2, 3] if before else [1, 2, 3, 1, 3]
    assert _image_pages(server) == [*first_read, 1, 2, 3, 1, 2, 3]


def test_an_upload_that_pushed_a_photo_past_a_full_last_page_is_not_confirmed(server, fast_retry):
    # [a, b] in one full page, read whole (the page past it empty); then "x" is uploaded
    # first: [x, a, b], but the total lags at 2 for the next answers, so page 1 alone is
    # planned and "b" is on a page no read plans. Reads 2 and 3 would agree on [x, a], a
    # gallery that never was; the page past their full last page holds "b". Once the total
    # catches up, reads 4 and 5 agree on [x, a, b] (its last page is not full).
    lagging = [_page_body(["x", "a"], 1, 2, 1), _page_body(["b"], 2, 2, 1, has_next=False)]
    caught_up = [_page_body(["x", "a"], 1, 3, 2), _page_body(["b"], 2, 3, 2)]
    first = [_page_body(["a", "b"], 1, 2, 1), _empty_past(2, 2, 1)]
    _script(server, *first, *lagging, *lagging, *caught_up, *caught_up)
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert gallery.image_id == ["x", "a", "b"]
    assert len(gallery.passes) == 5
    found = "page 2, past the last full page, holds 1 photo(s) the read did not plan for"
    assert [p.anomalies for p in gallery.passes] == [[], [found], [found], [], []]
    assert _image_pages(server) == [1, 2] * 5


def test_a_read_after_one_that_saw_the_gallery_move_asks_past_its_full_last_page(
    server, fast_retry
):
    # [a, b, c, d]; "x" is uploaded first after read 1's page 1, behind a total lagging at 4:
    # read 1 reads "b" twice, and its page past the end holds "d". Read 2 reads [x, a, b, c]
    # and asks past its full last page too, where "d" still is: were it kept unchecked as the
    # read after a moving one, read 3 (after which "c" is deleted, emptying page 3) would
    # confirm it on [x, a, b, c], a gallery that never was. Reads 4 and 5 agree on
    # [x, a, b, d], the gallery once "c" is gone.
    d_past = _page_body(["d"], 3, 4, 2, has_next=False)
    lagging = [_page_body(["x", "a"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2)]
    settled = [_page_body(["x", "a"], 1, 4, 2), _page_body(["b", "d"], 2, 4, 2)]
    _script(
        server,
        *(_page_body(["a", "b"], 1, 4, 2), _page_body(["b", "c"], 2, 4, 2), d_past),
        *lagging,
        d_past,
        *lagging,
        _empty_past(3, 4, 2),
        *settled,
        _empty_past(3, 4, 2),
        *settled,
        _empty_past(3, 4, 2),
    )
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert gallery.image_id == ["x", "a", "b", "d"]
    assert len(gallery.passes) == 5 and not gallery.drift_accepted
    found = "page 3, past the last full page, holds 1 photo(s) the read did not plan for"
    assert found in gallery.passes[1].anomalies
    assert _image_pages(server) == [1, 2, 3] * 5


def test_one_read_trusted_alone_asks_past_its_full_last_page(server, fast_retry):
    # Unconfirmed reads: the one read asks, finds "b", and reads go on until two agree.
    lagging = _page_body(["x", "a"], 1, 2, 1)
    caught_up = [_page_body(["x", "a"], 1, 3, 2), _page_body(["b"], 2, 3, 2)]
    _script(server, lagging, _page_body(["b"], 2, 2, 1, has_next=False), *caught_up, *caught_up)
    gallery = _client(server, fast_retry, confirm=False).fetch_gallery(MARATHON)
    assert gallery.image_id == ["x", "a", "b"]
    assert len(gallery.passes) == 3
    assert _image_pages(server) == [1, 2, 1, 2, 1, 2]


@pytest.mark.parametrize("confirm", [True, False], ids=["confirmed", "one-read"])
def test_a_page_past_the_end_that_keeps_failing_fails_the_read(server, fast_retry, confirm):
    # [x, a] behind a total lagging at 2, "b" past the full last page: a probe that never
    # answers proves nothing, so the read fails as for any page, rather than being trusted.
    _script(server, _page_body(["x", "a"], 1, 2, 1))
    server.faults.push(500, path_contains="/images", times=fast_retry.max_attempts)
    with (
        _client(server, fast_retry, confirm=confirm) as client,
        pytest.raises(NinepicServerError) as error,
    ):
        client.fetch_gallery(MARATHON)
    assert error.value.status == 500 and "\n" not in str(error.value)
    assert _image_pages(server) == [1, *[2] * fast_retry.max_attempts]


@pytest.mark.parametrize(
    "beyond",
    [
        (200, _empty_past(4, 6, 3)),
        (200, _page_body(["e", "f"], 4, 6, 3, has_next=False)),  # the last page, as page 4
        (200, _page_body(["e", "f"], 3, 6, 3, has_next=False)),  # clamped to the last
        (200, _page_body(["c", "d"], 2, 6, 3)),  # another page repeated, as itself
        (200, _page_body(["a", "b"], 4, 6, 3, has_next=False)),  # page 1, as page 4
        (400, None),
        (404, None),
        (422, None),
    ],
    ids=["empty", "the-last-again", "clamped", "page-2-again", "page-1-again", "400", "404", "422"],
)
def test_a_page_past_the_end_with_no_photo_unseen_lets_the_confirmation_stand(
    server, fast_retry, beyond
):
    # How an API may answer a page past the end (docs/9pic-api.md: not specified) when nothing
    # is there: none of these is a photo the read did not plan for.
    pages = [
        _page_body(ids, n, 6, 3) for n, ids in enumerate([["a", "b"], ["c", "d"], ["e", "f"]], 1)
    ]
    status, body = beyond
    for _ in range(2):  # each read asks past its full last page
        _script(server, *pages)
        server.faults.push(status, body=body, content_type=JSON, path_contains="/images")
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert gallery.image_id == ["a", "b", "c", "d", "e", "f"]
    assert len(gallery.passes) == 2 and all(p.photos_consistent for p in gallery.passes)
    assert _image_pages(server) == [1, 2, 3, 4] * 2


def test_a_still_gallery_of_full_pages_costs_one_request_past_the_end_a_read(server, fast_retry):
    # 1280 photos in pages of 32: each read asks for page 41, which the sandbox answers empty,
    # as the API's documents allow.
    with NinepicClient(server.keys[ORG], ORG, server.url, page_size=32, retry=fast_retry) as client:
        gallery = client.fetch_gallery(MARATHON)
    assert gallery.image_id == server.world.photo_ids(ORG, MARATHON)
    assert len(gallery.passes) == 2
    assert sorted(_image_pages(server)) == sorted([*range(1, 42)] * 2)


def test_a_first_page_that_changed_by_the_end_of_the_read_is_not_trusted(server, fast_retry):
    # Recorded [a, b, c, d]; before the read d left the event and p came: [a, b, p, c]; after
    # page 1, b was deleted and d came back: [a, p, c, d]. The read is the recorded snapshot,
    # a state the gallery never had while it was read; page 1 asked again shows it.
    now = [_page_body(["a", "p"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2)]
    _script(
        server,
        _page_body(["a", "b"], 1, 4, 2),
        _page_body(["c", "d"], 2, 4, 2),
        _empty_past(3, 4, 2),
        now[0],  # page 1 again
        *now,
        _empty_past(3, 4, 2),
        *now,
        _empty_past(3, 4, 2),
    )
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(
        MARATHON, _recorded(["a", "b", "c", "d"])
    )
    assert gallery.image_id == ["a", "p", "c", "d"]
    assert len(gallery.passes) == 3 and not gallery.matches_recorded
    assert gallery.passes[0].anomalies == ["page 1, asked again after the last page, changed"]
    assert _image_pages(server) == [1, 2, 3, 1, 1, 2, 3, 1, 2, 3]


@pytest.mark.parametrize(
    "beyond",
    [(200, _past_the_end(3, [])), (200, _past_the_end(3, ["c", "d"])), (422, None)],
    ids=["empty", "repeats-the-last", "refused"],
)
def test_a_page_past_the_end_that_holds_no_other_photo_leaves_the_match(server, fast_retry, beyond):
    status, body = beyond
    # The read's own page past the end, then the round's page 1 and its page past the end.
    _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2))
    for then in (_page_body(["a", "b"], 1, 4, 2), None):
        server.faults.push(
            status, body=body or REFUSAL, content_type=JSON, path_contains="/images", times=1
        )
        if then is not None:
            _script(server, then)
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(
        MARATHON, _recorded(["a", "b", "c", "d"])
    )
    assert gallery.image_id == ["a", "b", "c", "d"]
    assert len(gallery.passes) == 1 and gallery.matches_recorded
    assert _image_pages(server) == [1, 2, 3, 1, 3]


def test_a_matching_read_with_an_anomaly_but_no_moved_total_is_confirmed(server, fast_retry):
    # hasNextPage still true on the last page: the listing is not whole, whatever its ids.
    pages = [_page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2)]
    _script(
        server,
        pages[0],
        _page_body(["c", "d"], 2, 4, 2, has_next=True),
        _empty_past(3, 4, 2),
        *pages,
        _empty_past(3, 4, 2),
        *pages,
        _empty_past(3, 4, 2),
    )
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(
        MARATHON, _recorded(["a", "b", "c", "d"])
    )
    first = gallery.passes[0]
    assert not first.total_moves and first.anomalies == [
        "hasNextPage still true on page 2, the last"
    ]
    assert len(gallery.passes) == 3 and not gallery.matches_recorded


def test_an_empty_gallery_matching_its_empty_record_is_read_once(server, fast_retry):
    gallery = _client(server, fast_retry, trust_recorded=True).fetch_gallery(EMPTY, _recorded([]))
    assert len(gallery) == 0 and len(gallery.passes) == 1 and gallery.matches_recorded
    assert _image_pages(server) == [1, 1]


def test_a_planned_page_refused_after_a_deletion_calls_for_another_read(server, fast_retry):
    # An API that refuses pages past its end with 422. [a, b, c, d, e]: page 1 plans 3 pages;
    # then "e" is deleted, [a, b, c, d]: page 2 is [c, d] and page 3 is refused, now past the
    # end. The read is not whole, not a failed run: two more reads agree on [a, b, c, d].

    def refused() -> None:
        server.faults.push(422, body=REFUSAL, content_type=JSON, path_contains="/images", times=1)

    _script(server, _page_body(["a", "b"], 1, 5, 3), _page_body(["c", "d"], 2, 4, 2))
    refused()
    for _ in range(2):  # each later read asks past its full last page, and is refused there
        _script(server, _page_body(["a", "b"], 1, 4, 2), _page_body(["c", "d"], 2, 4, 2))
        refused()
    gallery = _client(server, fast_retry).fetch_gallery(MARATHON)
    assert gallery.image_id == ["a", "b", "c", "d"]
    assert len(gallery.passes) == 3
    assert gallery.passes[0].anomalies[0] == (
        "page 3 was refused (NinepicValidationError) before the planned end"
    )
    assert _image_pages(server) == [1, 2, 3] * 3


def test_the_last_planned_page_is_asked_once_every_other_page_has_answered(fast_retry):
    # Two requests in flight: answered before a page ahead of it that a change then shifted,
    # the last page would miss the shift. Each read's page 13 reaches the server only after
    # pages 2-12 of that read have been answered; the others still go two at a time.
    with SandboxServer(latency_s=0.01) as slow:
        client = NinepicClient(slow.keys[ORG], ORG, slow.url, retry=fast_retry, max_concurrency=2)
        with client:
            gallery = client.fetch_gallery(MARATHON)
        assert len(gallery) == 1280 and len(gallery.passes) == 2
        log = [e for e in slow.request_log if e.path.endswith("/images")]
    assert sorted(int(e.query["page"]) for e in log) == sorted(list(range(1, 14)) * 2)
    reads = [log[: len(log) // 2], log[len(log) // 2 :]]
    for read in reads:
        last = next(e for e in read if e.query["page"] == "13")
        others = [e for e in read if e.query["page"] != "13"]
        assert sorted(int(e.query["page"]) for e in others) == list(range(1, 13))
        assert all(e.answered_at <= last.received_at for e in others)
        moments = sorted(
            [(e.received_at, 1) for e in others] + [(e.answered_at, -1) for e in others]
        )
        in_flight = max(sum(step for _, step in moments[: i + 1]) for i in range(len(moments)))
        assert in_flight == 2
