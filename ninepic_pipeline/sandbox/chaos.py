"""Seeded fault modes ("chaos"): every awkward behaviour the API documents leave open, at random.

`Chaos` says which modes are on and how often; `ChaosEngine` applies them to each request the
server answers (scripted `faults` come first and bypass it). All random choices come from one
`random.Random(seed)` behind a lock, so a sequential client meets the same faults, the same
uploads and the same drifts on every run with the same seed. Only the rate limit depends on
the clock, and the Retry-After dates on the current time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Self

from .live import EventKey, damage_sizes, delete_random, insert_random
from .ratelimit import TokenBucket, format_wait
from .routes import JSON_TYPE, Request, Response
from .tamper import add_extra_fields, drift_total, omit_sizes, repeat_last_page
from .transient import (
    GATEWAY_STATUSES,
    RETRY_AFTER_MODES,
    cut_short,
    gateway_error,
    internal_error,
    retry_after_value,
    throttled,
)
from .world import World

# Every kind `ChaosEngine.stats` counts; "null_size" and "missing_size" count photos changed
# when the chaos was set, the others count responses (or, for insert/delete, uploads).
STAT_KINDS: Final = (
    "latency",
    "429",
    "rate_limited",
    "500",
    "502",
    "503",
    "504",
    "cut_body",
    "insert",
    "delete",
    "total_drift",
    "total_lag",
    "past_end_repeat",
    "extra_fields",
    "null_size",
    "missing_size",
)
_PROBABILITIES: Final = (
    "p_429",
    "p_500",
    "p_gateway",
    "p_cut_body",
    "p_mutation",
    "p_total_drift",
    "p_null_size",
    "p_missing_size",
)
_IMAGES_PATH: Final = re.compile(r"/api/v1/ext/([0-9]{1,18})/event/([0-9]{1,18})/images")
_DRIFTS: Final = (-3, -2, -1, 1, 2, 3)


@dataclass(frozen=True)
class Chaos:
    """Which fault modes the sandbox injects, and how often. Everything is off by default.

    Transient faults (any endpoint, drawn in this order, at most one per request):

    - `seed`: seeds the one random generator behind every choice below.
    - `latency_ms`: delay before answering each request, in milliseconds.
    - `latency_jitter_ms`: a uniform random extra delay of 0..this, in milliseconds.
    - `rate_limit_rps`: a token bucket over all requests, refilled at this many tokens per
      second (0 = no rate limit); a request finding no token gets a 429 whose Retry-After is the
      seconds until the next token as a decimal ("0.05"). Counted as "rate_limited".
    - `rate_limit_burst`: the bucket's size, which is also its initial content.
    - `p_429`: probability of a 429 JSON error, with a Retry-After as `retry_after` says.
    - `retry_after`: "absent" (no header), "seconds" ("1" or "2"), "zero" ("0"), "fraction"
      ("0.1".."0.9"), "date" (an HTTP date 1-2 s ahead), "absurd" ("86400"), "garbage"
      ("soon") or "mixed" (each 429 draws one of the others).
    - `p_500`: probability of a 500 JSON error envelope.
    - `p_gateway`: probability of a 502, 503 or 504 (one at random) from the gateway: an HTML
      error page or an empty body (at random), content type text/html.
    - `p_cut_body`: probability that a 200 announces its full Content-Length but sends only
      about half of the body before the connection closes.

    All Photos (`/images`) only:

    - `mutations`: how many live uploads and deletions may happen in all; once spent, the
      galleries stay as they are, so a client that reads again converges on `server.world`.
    - `p_mutation`: probability, for each All Photos request while `mutations` lasts, of
      inserting a photo at a random position (a fitting capture time and a size from the
      event's cameras) or deleting a random one, 50/50 (always an insert in an empty gallery).
    - `p_total_drift`: probability that a page reports `total` off by -3..+3 (never 0, never
      below 0) with totalPages and hasNextPage following it; the images are the real ones.
    - `total_lag_answers`: after each live upload or deletion, that many All Photos answers of
      the event still report the `total` from before the change (from before the first of
      changes that come within the window), with totalPages and hasNextPage following it; the
      images are the real ones. A total that lags behind an upload at the very end hides it:
      no page shifts, and the last page it reports is full.
    - `past_end_repeats_last`: a page past totalPages of a non-empty gallery repeats the last
      page's images, with the pagination of the real total (currentPage = the page asked for)
      and no total drift.

    Data, applied once when the chaos is set (so that re-reads agree and `server.world` stays
    the record of what the API holds), and to photos uploaded later:

    - `p_null_size`: share of each event's photos whose width, height or both become null.
    - `p_missing_size`: share of each event's photos whose width and height keys are left out
      of the JSON altogether; the world records None for them.
    - `extra_fields`: undocumented extra fields in every success envelope, its `data`, its
      `pagination` and each image (and event) item.
    """

    seed: int = 0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    p_429: float = 0.0
    retry_after: str = "mixed"
    rate_limit_rps: float = 0.0
    rate_limit_burst: int = 5
    p_500: float = 0.0
    p_gateway: float = 0.0
    p_cut_body: float = 0.0
    mutations: int = 0
    p_mutation: float = 0.3
    p_total_drift: float = 0.0
    total_lag_answers: int = 0
    past_end_repeats_last: bool = False
    p_null_size: float = 0.0
    p_missing_size: float = 0.0
    extra_fields: bool = False

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("latency_ms", "latency_jitter_ms", "rate_limit_rps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.rate_limit_burst < 1:
            raise ValueError(f"rate_limit_burst must be at least 1, got {self.rate_limit_burst}")
        for name in ("mutations", "total_lag_answers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.retry_after not in RETRY_AFTER_MODES:
            choices = ", ".join(RETRY_AFTER_MODES)
            raise ValueError(f"retry_after must be one of {choices}; got {self.retry_after!r}")

    @classmethod
    def everything(cls, seed: int = 0, mutations: int = 20, **overrides: Any) -> Self:
        """Every mode on at modest rates: a client retrying ~6 times per request gets through.

        No latency, no rate limit and no lagging total unless given in `overrides` (any field
        of Chaos): a lag makes even confirmed reads miss changes now and then (README, "The
        fault soak"), which the soak measures on its own.
        """
        preset = cls(
            seed=seed,
            p_429=0.05,
            retry_after="mixed",
            p_500=0.03,
            p_gateway=0.03,
            p_cut_body=0.03,
            mutations=mutations,
            p_mutation=0.3,
            p_total_drift=0.05,
            past_end_repeats_last=True,
            p_null_size=0.03,
            p_missing_size=0.02,
            extra_fields=True,
        )
        return dataclasses.replace(preset, **overrides)

    @property
    def active(self) -> bool:
        """Whether any mode is on; an inactive chaos leaves every response untouched."""
        return bool(
            self.latency_ms
            or self.latency_jitter_ms
            or self.rate_limit_rps
            or self.p_429
            or self.p_500
            or self.p_gateway
            or self.p_cut_body
            or (self.mutations and self.p_mutation)
            or self.p_total_drift
            or self.past_end_repeats_last
            or self.p_null_size
            or self.p_missing_size
            or self.extra_fields
        )

    @property
    def edits_bodies(self) -> bool:
        """Whether success bodies are decoded and rewritten after the API answered them.

        The server bypasses its page cache then: each such body is decoded and encoded again
        anyway, so the cache would save little, and chaos runs keep exercising exactly the
        uncached path they were written against.
        """
        return bool(
            self.p_total_drift
            or self.total_lag_answers
            or self.past_end_repeats_last
            or self.p_missing_size
            or self.extra_fields
        )


def _requested_page(request: Request) -> int:
    try:
        return int(request.query.get("page", "1"))
    except ValueError:
        return 1


class ChaosEngine:
    """Applies one `Chaos` to the requests of a server, from a fresh generator seeded with it.

    Creating the engine applies the size modes to `world` (once). Lock order: the world's lock
    before the engine's, never the other way round.
    """

    def __init__(self, chaos: Chaos, world: World | None = None) -> None:
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(STAT_KINDS, 0)
        self._bucket = (
            TokenBucket(chaos.rate_limit_rps, chaos.rate_limit_burst)
            if chaos.rate_limit_rps > 0
            else None
        )
        self._mutations_left = chaos.mutations
        self._missing: dict[EventKey, set[str]] = {}
        # Per event: the total its answers still report, and for how many answers more.
        self._lag: dict[EventKey, tuple[int, int]] = {}
        self._serial = 0
        if world is not None and (chaos.p_null_size or chaos.p_missing_size):
            nulled, self._missing = damage_sizes(
                world, self._rng, chaos.p_null_size, chaos.p_missing_size
            )
            self._stats["null_size"] = nulled
            self._stats["missing_size"] = sum(len(ids) for ids in self._missing.values())

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def missing_size_ids(self, org_id: int, event_id: int) -> set[str]:
        """Ids of the event's photos whose width and height keys the responses leave out."""
        with self._lock:
            return set(self._missing.get((org_id, event_id), ()))

    def respond(self, world: World, request: Request, answer: Callable[[], Response]) -> Response:
        """The response to send: `answer()` (the real one), delayed, replaced or altered."""
        chaos = self.chaos
        if not chaos.active:
            return answer()
        delay = self._delay()
        if delay > 0:
            time.sleep(delay)
        blocked = self._gate()
        if blocked is not None:
            return blocked
        with self._lock:
            cut = self._chance(chaos.p_cut_body)
            self._serial += 1
            serial = self._serial
        key = self._images_key(world, request.path)
        if key is None:
            response = self._alter(world, request, answer(), serial, None)
        else:
            # Held from the upload to the last read, so a page and its total always agree.
            with world.locked():
                self._mutate(world, key)
                response = self._alter(world, request, answer(), serial, key)
        if cut and response.status == 200:
            self._count("cut_body")
            response = cut_short(response)
        return response

    def _count(self, kind: str) -> None:
        with self._lock:
            self._stats[kind] += 1

    def _chance(self, p: float) -> bool:
        # Caller holds self._lock. No draw when off, so turning a mode off leaves the others'
        # sequence as it was.
        return p > 0 and self._rng.random() < p

    def _delay(self) -> float:
        chaos = self.chaos
        if not (chaos.latency_ms or chaos.latency_jitter_ms):
            return 0.0
        with self._lock:
            extra = self._rng.uniform(0, chaos.latency_jitter_ms) if chaos.latency_jitter_ms else 0
            self._stats["latency"] += 1
        return (chaos.latency_ms + extra) / 1000

    def _gate(self) -> Response | None:
        """A transient failure standing in for the answer, if one is drawn."""
        chaos = self.chaos
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait > 0:
                self._count("rate_limited")
                return throttled(format_wait(wait))
        with self._lock:
            if self._chance(chaos.p_429):
                self._stats["429"] += 1
                return throttled(retry_after_value(chaos.retry_after, self._rng))
            if self._chance(chaos.p_500):
                self._stats["500"] += 1
                return internal_error()
            if self._chance(chaos.p_gateway):
                status = self._rng.choice(GATEWAY_STATUSES)
                html = self._rng.random() < 0.5
                self._stats[str(status)] += 1
                return gateway_error(status, html)
        return None

    @staticmethod
    def _images_key(world: World, path: str) -> EventKey | None:
        match = _IMAGES_PATH.fullmatch(path)
        if match is None:
            return None
        key = (int(match[1]), int(match[2]))
        return key if world.find_event(*key) is not None else None

    def _mutate(self, world: World, key: EventKey) -> None:
        chaos = self.chaos
        with self._lock:
            if self._mutations_left <= 0 or not self._chance(chaos.p_mutation):
                return
            self._mutations_left -= 1
            count = world.photo_count(*key)
            if chaos.total_lag_answers:
                lagged, left = self._lag.get(key, (count, 0))
                self._lag[key] = (lagged if left else count, chaos.total_lag_answers)
            if count == 0 or self._rng.random() < 0.5:
                photo, missing = insert_random(
                    world,
                    key,
                    self._rng,
                    p_null_size=chaos.p_null_size,
                    p_missing_size=chaos.p_missing_size,
                )
                if missing:
                    self._missing.setdefault(key, set()).add(photo.image_id)
                self._stats["insert"] += 1
            else:
                delete_random(world, key, self._rng)
                self._stats["delete"] += 1

    def _lagging(self, key: EventKey, total: int) -> int:
        """How far this answer's total lags behind the real one (0: it does not)."""
        with self._lock:
            lagged, left = self._lag.get(key, (total, 0))
            if not left:
                return 0
            self._lag[key] = (lagged, left - 1)
            if lagged != total:
                self._stats["total_lag"] += 1
            return lagged - total

    def _drift(self, total: int) -> int:
        with self._lock:
            if not self._chance(self.chaos.p_total_drift):
                return 0
            self._stats["total_drift"] += 1
            return self._rng.choice([d for d in _DRIFTS if total + d >= 0])

    def _alter(
        self,
        world: World,
        request: Request,
        response: Response,
        serial: int,
        key: EventKey | None,
    ) -> Response:
        """The success body with the data modes applied; other responses pass unchanged."""
        chaos = self.chaos
        if response.status != 200 or response.headers.get("Content-Type") != JSON_TYPE:
            return response
        # No copy: only uploads add to the set, and they need the world lock the caller holds.
        missing = self._missing.get(key, set()) if key else set()
        images_modes = key is not None and (
            chaos.p_total_drift or chaos.total_lag_answers or chaos.past_end_repeats_last or missing
        )
        if not (chaos.extra_fields or images_modes):
            return response
        doc = json.loads(response.body)
        if key is not None:
            repeated = chaos.past_end_repeats_last and repeat_last_page(doc, world, *key)
            total = doc["data"]["pagination"]["total"]
            lag = 0 if repeated else self._lagging(key, total)
            if repeated:
                self._count("past_end_repeat")
            elif lag:
                drift_total(doc, lag, _requested_page(request))
            elif chaos.p_total_drift:
                delta = self._drift(total)
                if delta:
                    drift_total(doc, delta, _requested_page(request))
            omit_sizes(doc, missing)
        if chaos.extra_fields:
            add_extra_fields(doc, serial)
            self._count("extra_fields")
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return Response(response.status, body, dict(response.headers))
