"""Helpers shared by tests: serving a built site on 127.0.0.1 and running the Node scripts that drive Chromium."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def copy_sample_site(target: Path) -> Path:
    """A copy of this repository's own sample site (docs/, img/, mkdocs.yml) in the new folder ``target``."""
    target.mkdir(parents=True)
    for name in ("docs", "img"):
        shutil.copytree(ROOT / name, target / name)
    shutil.copy(ROOT / "mkdocs.yml", target / "mkdocs.yml")
    return target


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a site folder, with WebAssembly's MIME type, quietly, optionally under a sub-path (``/TIL/``)."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
    }
    prefix = "/"

    def translate_path(self, path: str) -> str:
        if self.prefix != "/" and path.startswith(self.prefix):
            path = "/" + path[len(self.prefix) :]
        elif self.prefix != "/":
            path = "/__outside_the_site__"
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(directory: Path, prefix: str = "/") -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at ``prefix``; yields the site's URL."""
    handler = functools.partial(type("Handler", (SiteHandler,), {"prefix": prefix}), directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def node(script: str, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
    """Run ``tests/<script>`` with Node.js; its stdout."""
    executable = shutil.which("node")
    assert executable, "Node.js is needed (see the README's test command)"
    result = subprocess.run(
        [executable, str(ROOT / "tests" / script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def browse(script: str, config: dict[str, object]) -> dict:
    """Run a Chromium script of ``tests/browser/`` with a JSON config; its JSON output."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (see the README's test command)"
    output = json.loads(node(f"browser/{script}", json.dumps({"chromium": CHROMIUM, **config})))
    assert "error" not in output, output
    return output
