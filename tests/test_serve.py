"""`tilsite serve` in a real process: live preview re-embeds only the edited note."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_serve_rebuilds_an_edited_note_from_the_cache(site: Path, tmp_path: Path) -> None:
    port = _free_port()
    log_path = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}/ml/regularization/"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tilsite", "serve", "-f", str(site / "mkdocs.yml"), "-a", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            assert _wait_for(lambda: (_fetch(url) or "").find("tilsite-related") > 0, 240), log_path.read_text()
            note = site / "docs/ml/regularization.md"
            note.write_text(note.read_text(encoding="utf-8") + "\n## Elastic net\nL1 과 L2 를 섞은 규제.\n", "utf-8")
            assert _wait_for(lambda: "elastic-net" in (_fetch(url) or ""), 120), log_path.read_text()
            assert _wait_for(
                lambda: "embedded 1 new or changed section in 1 note (ml/regularization.md)" in log_path.read_text(),
                30,
            ), log_path.read_text()
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
