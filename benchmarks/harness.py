"""What the benchmark scripts share: the sandbox in its own process, measured child processes,
a warm-up read, the machine's description and Markdown tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ORG = 903
EVENT = 1000
PAGE_SIZE = 100
KEY = "bench-key"


def pages_of(photos: int) -> int:
    return math.ceil(photos / PAGE_SIZE)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the pipeline's and dlt's variables, plus `extra`.

    A NINEPIC_ACCEPT_DRIFT or DAGSTER_HOME left in the developer's shell would otherwise change
    what a contender does from one machine to the next.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NINEPIC_", "DLT_", "DESTINATION__", "RUNTIME__"))
        and k != "DAGSTER_HOME"
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class SandboxProcess:
    """`python -m ninepic_pipeline.sandbox` in a child process, one event of `photos` photos.

    Its own process, so that its work never takes the contender's GIL (it still shares the
    machine's cores), and so that its CPU time can be told apart.
    """

    def __init__(
        self,
        photos: int,
        latency_ms: float = 0.0,
        *,
        key: str = KEY,
        event_id: int = EVENT,
        extra_args: Sequence[str] = (),
        log: Path | None = None,
    ) -> None:
        self.photos = photos
        self.key = key
        self.event_id = event_id
        cmd = [PYTHON, "-m", "ninepic_pipeline.sandbox", "--port", "0", "--key", key]
        cmd += ["--photos", str(photos), "--event-id", str(event_id)]
        cmd += ["--latency-ms", str(latency_ms), *extra_args]
        self._stderr = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, env=clean_env(), cwd=ROOT, text=True
        )
        assert self._proc.stdout is not None
        # The first line comes once the gallery is built and the port is bound.
        first = self._proc.stdout.readline().strip()
        if not first.startswith("9pic sandbox listening on "):
            self.stop()
            raise RuntimeError(f"sandbox did not start: {first!r} (exit {self._proc.poll()})")
        self.url = first.rsplit(" ", 1)[1]
        self.process = psutil.Process(self._proc.pid)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def cpu_s(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        if hasattr(self._stderr, "close"):
            self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def read_all_pages(
    url: str, key: str, photos: int, *, org: int = ORG, event: int = EVENT, threads: int = 16
) -> int:
    """Read every page once (concurrently) and return the photos seen; checks the total.

    Run before the contenders so that every one of them meets the server's page cache warm:
    otherwise the first contender alone would pay for encoding every page.
    """
    endpoint = f"{url}/api/v1/ext/{org}/event/{event}/images"
    local = threading.local()

    def fetch(page: int) -> tuple[int, int]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["X-API-Key"] = key
        response = session.get(endpoint, params={"page": page, "page_size": PAGE_SIZE}, timeout=60)
        response.raise_for_status()
        data = response.json()["data"]
        return len(data["images"]), data["pagination"]["total"]

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(fetch, range(1, pages_of(photos) + 1)))
    seen = sum(n for n, _ in results)
    totals = {t for _, t in results}
    if seen != photos or totals != {photos}:
        raise RuntimeError(f"warm-up read {seen} photos with totals {totals}, expected {photos}")
    return seen


@dataclass(frozen=True)
class Measured:
    """One child process: its wall time and its own resource usage (from wait4)."""

    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    server_cpu_s: float | None = None

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def result(self) -> dict[str, Any]:
        """The contender's JSON result line: the last line of stdout that parses as an object."""
        for line in reversed(self.stdout.splitlines()):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value
        raise ValueError("no JSON result line on stdout")

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(self.stderr.splitlines()[-lines:])


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    workdir: Path,
    timeout_s: float,
    server: SandboxProcess | None = None,
) -> Measured:
    """Run `cmd` to its end and measure it alone.

    `os.wait4` gives the rusage of exactly this child (and whatever it spawned and reaped),
    where RUSAGE_CHILDREN deltas would mix in every earlier child's peak RSS.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    server_before = server.cpu_s() if server else None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        # A session of its own, so a timeout can end the child and anything it started.
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=dict(env), cwd=ROOT, start_new_session=True
        )
        timer = threading.Timer(timeout_s, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    # wait4 reaped it; tell Popen, or it would try to reap the pid again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    server_cpu = server.cpu_s() - server_before if server and server_before is not None else None
    return Measured(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        # ru_maxrss is in KiB on Linux; MB are 10^6 bytes, the unit (until d3f359f this
        # divided by 1024, so the tables before it show MiB under an MB heading, 4.9% lower).
        peak_rss_mb=usage.ru_maxrss * 1024 / 1e6,
        returncode=proc.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        server_cpu_s=server_cpu,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{rev or 'unknown'}{' (uncommitted changes)' if dirty else ''}"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    """The Markdown bullet lines that say where and when the numbers were taken."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram_gib = psutil.virtual_memory().total / 2**30
    packages = ", ".join(
        f"{name} {_version(name)}"
        for name in ("dagster", "dlt", "pandas", "pyarrow", "requests", "orjson")
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- date: {now}",
        f"- machine: {cpus} CPUs (nproc), {_cpu_model()}, {ram_gib:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {packages}",
        f"- checkout: {_git_revision()}",
    ]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:,.{digits}f}{suffix}"


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """One stderr line per step, so a long matrix shows where it is."""
    print(f"… {message}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    print(f"  done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
