"""The CLI as a user runs it: a subprocess that prints its URL and keys and stops on SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from ninepic_pipeline.sandbox.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line)


def test_cli_serves_and_stops_on_sigterm() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ninepic_pipeline.sandbox", "--port", "0", "--key", "cli-key"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
        first = lines.get(timeout=15)
        match = re.fullmatch(r"9pic sandbox listening on (http://127\.0\.0\.1:(\d+))\n", first)
        assert match, first
        url, port = match[1], int(match[2])
        assert port > 0
        assert lines.get(timeout=5) == "org 903 key: cli-key\n"
        other = re.fullmatch(r"org 904 key: (\S{20,})\n", lines.get(timeout=5))
        assert other, "org 904 gets a random key"

        ping = requests.get(
            f"{url}/api/v1/ext/903/event/456/ping", headers={"X-API-Key": "cli-key"}, timeout=5
        )
        assert ping.json()["data"] == {"status": "ok", "org_id": 903, "event_id": 456}
        foreign = requests.get(
            f"{url}/api/v1/ext/904/event/900/ping", headers={"X-API-Key": other[1]}, timeout=5
        )
        assert foreign.status_code == 200

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    assert process.stderr.read() == ""


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--port", "--host", "--key", "--latency-ms"):
        assert option in text
