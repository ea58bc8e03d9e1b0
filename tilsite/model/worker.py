"""The default model in a process of its own, so that a build's model work runs on the other core.

A build that embeds a few edited sections spends about 0.2 s of interpreter time
before the first vector (importing onnxruntime, reading the tokenizer's pieces,
opening the session) and more on the browser copy of the model. In a thread, that
time is taken from MkDocs' rendering, which holds the interpreter; in alternating
runs at 100 notes, an edit then cost 1.65-1.69× a plain MkDocs build, against
1.40-1.48× with this process (README, Performance). So ``tilsite build`` starts
this process as soon as it knows a section needs a vector, and the process loads
the model while MkDocs renders. ``tilsite serve`` and
``tilsite search`` keep the model in their own process instead.

The protocol is a pipe of JSON lines, never pickle. The parent writes one request
per line. The process answers each one with one line, followed by raw float32
bytes when the line says ``"bytes"``; before that line it may send ``{"log": ...}``
lines.

- ``{"op": "encode", "texts": [...], "kind": "passage" | "query"}``: unit vectors, ``{"rows", "dim", "bytes"}``.
- ``{"op": "browser", "texts": [...], "state": {...}}``: ``{"folder", "state"}``
  (see ``tilsite.model.browser``).
- A failure: ``{"error": "one line"}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tilsite.errors import ModelError, TilsiteError

if TYPE_CHECKING:
    import numpy

    from tilsite.model.encoder import OnnxEncoder

_log = logging.getLogger("tilsite")


class WorkerEncoder:
    """The parent's end: ``encode`` and ``browser_copy`` answered by the model process.

    One request runs at a time (a build's background thread and its main thread may both ask).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        import tilsite

        package_parent = str(Path(tilsite.__file__).resolve().parents[1])
        environment = dict(os.environ)
        # The process runs this very tilsite, wherever it was imported from.
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, environment.get("PYTHONPATH")]))
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 -- kept open for the process's life, closed by close()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tilsite.model.worker", str(cache_dir or "")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=environment,
        )
        self._lock = threading.Lock()

    def encode(self, texts: list[str], kind: str = "passage") -> numpy.ndarray:
        """Unit vectors of ``texts`` (prefixed already) by the encoder of ``kind`` (``BundledE5Model``)."""
        import numpy as np

        header, payload = self._request({"op": "encode", "texts": texts, "kind": kind})
        return np.frombuffer(payload, dtype="<f4").reshape(int(header["rows"]), int(header["dim"])).copy()

    def browser_copy(self, texts: list[str], state: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        header, _ = self._request({"op": "browser", "texts": texts, "state": state})
        return Path(header["folder"]), header["state"]

    def _request(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        with self._lock:
            pipe_in, pipe_out = self._process.stdin, self._process.stdout
            assert pipe_in is not None and pipe_out is not None
            try:
                pipe_in.write(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")
                pipe_in.flush()
                while True:
                    line = pipe_out.readline()
                    if not line:
                        raise ModelError(f"the model process stopped{self._stopped_because()}")
                    header = json.loads(line)
                    if "log" in header:
                        _log.info(str(header["log"]))
                        continue
                    if "error" in header:
                        raise ModelError(str(header["error"]))
                    return header, pipe_out.read(int(header.get("bytes", 0)))
            except (OSError, ValueError) as exc:
                raise ModelError(f"the model process stopped{self._stopped_because()}") from exc

    def _stopped_because(self) -> str:
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def close(self) -> None:
        """End the process. Between requests it holds nothing unwritten, so it is killed at once (it would exit
        when its input closes, but freeing onnxruntime's session takes ~60 ms at the end of every build); during
        one (from another thread) it gets 5 s to finish first."""
        idle = self._lock.acquire(blocking=False)
        try:
            if self._process.stdin is not None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
            if idle:
                self._process.kill()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        finally:
            if idle:
                self._lock.release()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._errors.close()


def _serve(cache_dir: Path | None, requests: IO[bytes], answers: IO[bytes]) -> None:
    from tilsite.model.browser import ensure_browser_model
    from tilsite.model.store import ModelStore

    def send(header: dict[str, Any], payload: bytes = b"") -> None:
        answers.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + payload)
        answers.flush()

    def echo(message: str) -> None:
        send({"log": message})

    store = ModelStore(cache_dir)
    encoders: dict[str, OnnxEncoder] = {}  # by kind, as BundledE5Model keeps them
    with contextlib.suppress(TilsiteError):  # a failure is reported with the first request that needs the model
        encoders["passage"] = store.encoder(echo, passages=True)  # at once: the parent asks for vectors only later
    for line in requests:
        try:
            request = json.loads(line)
            if request.get("op") == "encode":
                kind = "query" if request.get("kind") == "query" else "passage"
                if kind not in encoders:
                    encoders[kind] = store.encoder(echo, passages=kind == "passage")
                vectors = encoders[kind].encode([str(text) for text in request["texts"]])
                data = vectors.astype("<f4").tobytes()
                send({"rows": vectors.shape[0], "dim": vectors.shape[1], "bytes": len(data)}, data)
            elif request.get("op") == "browser":
                # A build asks for the browser copy once its sections are embedded: the encoders' memory (about
                # 0.6 GB) is let go first rather than held beside the copy's, and a later request loads them again.
                encoders.clear()
                folder, state = ensure_browser_model(store, list(request["texts"]), dict(request["state"]), echo)
                send({"folder": str(folder), "state": state})
            else:
                send({"error": f"unknown request {request.get('op')!r}"})
        except TilsiteError as exc:
            send({"error": str(exc)})
        except Exception as exc:  # one line for the parent, whatever failed
            send({"error": f"{type(exc).__name__}: {exc}"})


def main() -> None:
    # The answers go to a copy of stdout; anything a library prints goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    cache_dir = Path(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        _serve(cache_dir, sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
