"""A helper process for one build: it loads the default model while MkDocs starts, then embeds the
few new sections and updates the browser model while MkDocs reads and renders the pages.

    python -m tilsite.embedworker CACHE_DIR

It runs in a private folder (its working folder, made by ``Helper``) and reads
job file names from stdin, one per line, deleting each job file as soon as it is
read. A job is a JSON object: ``{"embed": [texts], "kind": "passage"}`` or
``{"web": {"texts": [...], "state_file": ..., "model_id": ...}}`` (see
``webmodel.ensure_web_model``). Jobs are answered on stdout in order, each with
one JSON line: ``{"rows": n, "dimension": d}`` followed by the vectors as
little-endian float32s, ``{"folder": path, "messages": [...]}``, or
``{"error": reason}`` when the job could not be done (the build then does it
itself). It exits at the end of stdin; a job file it cannot read ends it with
status 1 and one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tilsite.errors import TilsiteError

if TYPE_CHECKING:
    import numpy

TIMEOUT = 600
"""Seconds the build waits for one answer before it does the job itself."""
_GRACE = 5
"""Seconds a stopped helper has to clean up before it is killed."""
_log = logging.getLogger("tilsite")


def main(argv: list[str] | None = None) -> int:
    """Serve the jobs of one build; return the exit status."""
    # The answers get stdout to themselves: anything a library prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Stopped by the build: clean up as on any error (a browser model half written is removed).
    signal.signal(signal.SIGTERM, _stop)
    from tilsite.embeddings import BundledE5Model

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tilsite.embedworker CACHE_DIR", file=sys.stderr)
        return 1
    model = BundledE5Model(cache_dir=Path(args[0]))
    try:
        model.prepare()  # while the build has not said what it needs yet
    except (TilsiteError, OSError) as exc:
        print(f"tilsite.embedworker: {exc}", file=sys.stderr)
        return 1
    for line in sys.stdin:
        try:
            job = _read_job(Path(line.strip()))
        except (OSError, ValueError) as exc:
            print(f"tilsite.embedworker: {exc}", file=sys.stderr)
            return 1
        header, payload = _run(model, job)
        out.write(json.dumps(header).encode("utf-8") + b"\n" + payload)
        out.flush()
    return 0


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(1)


def _read_job(path: Path) -> dict[str, Any]:
    job = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()  # it holds note text; nothing should outlive an interrupted build
    if isinstance(job, dict) and _texts(job.get("embed")) and job.get("kind") in _KINDS:
        return job
    web = job.get("web") if isinstance(job, dict) else None
    strings = isinstance(web, dict) and all(isinstance(web.get(key), str) for key in ("state_file", "model_id"))
    if strings and _texts(web.get("texts")):  # type: ignore[union-attr]
        return job
    raise ValueError(f"{path}: not a job for tilsite.embedworker")


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(text, str) for text in value)


_KINDS = ("passage", "query")


def _run(model: Any, job: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    import numpy as np

    from tilsite.webmodel import ensure_web_model

    try:
        if "embed" in job:
            vectors = np.ascontiguousarray(model.embed_batch(job["embed"], job["kind"]), dtype="<f4")
            return {"rows": len(vectors), "dimension": int(vectors.shape[1])}, vectors.tobytes()
        web = job["web"]
        messages: list[str] = []
        folder = ensure_web_model(
            model.verified_folder,
            web["texts"],
            state_file=Path(web["state_file"]),
            model_id=web["model_id"],
            echo=messages.append,
            before_export=model.release,
        )
        return {"folder": str(folder), "messages": messages}, b""
    except (TilsiteError, OSError, RuntimeError, ValueError) as exc:
        return {"error": str(exc) or type(exc).__name__}, b""


class Job:
    """One answer of a ``Helper``, collected by ``answer``."""

    def __init__(self, helper: Helper | None, number: int, what: str) -> None:
        self._helper = helper
        self._number = number
        self.what = what
        """What the job does, for messages ("embedding", "updating the browser model")."""

    def answer(self) -> tuple[dict[str, Any], bytes] | None:
        """The helper's answer; None, with the reason logged, if there is none or it is an error."""
        helper, self._helper = self._helper, None
        if helper is None:
            return None
        answer, reason = helper.wait_for(self._number)
        if answer is not None and "error" in answer[0]:
            reason = str(answer[0]["error"])
            answer = None
        if answer is None:
            _log.info(f"tilsite: {self.what} in a separate process failed ({reason}); doing it here instead.")
        return answer


class Helper:
    """The parent's side of ``python -m tilsite.embedworker``: start it early, give it jobs, collect answers.

    ``close`` says that no more jobs come (the process ends when it has done
    them, or at once if there were none); ``cancel`` stops it and removes its
    folder. A reader thread takes the answers as they come, so the process never
    waits for the build to read them.
    """

    def __init__(self, cache_dir: Path) -> None:
        """Start the process; ``OSError`` if it cannot start."""
        self._folder = Path(tempfile.mkdtemp(prefix="tilsite-helper-"))
        self._errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by cancel
        self._jobs = 0
        self._answers: list[tuple[dict[str, Any], bytes]] = []
        self._ended = False
        self._reason: str | None = None
        self._changed = threading.Condition()
        try:
            # Its working folder is private: ``python -m`` imports from there first, so a notes folder
            # holding, say, a ``json.py`` cannot break it.
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "tilsite.embedworker", str(cache_dir)],
                cwd=self._folder,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
            )
        except OSError:
            self._errors.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        """The process id, while it runs."""
        return self._process.pid if self._process is not None else None

    def embed(self, texts: list[str], kind: str) -> Job:
        """Ask for the vectors of ``texts`` (``answer``: header and float32 rows)."""
        return self._submit({"embed": texts, "kind": kind}, "embedding")

    def update_web_model(self, texts: list[str], state_file: Path, model_id: str) -> Job:
        """Ask for ``webmodel.ensure_web_model`` of ``texts`` (``answer``: the folder and its messages)."""
        job = {"web": {"texts": texts, "state_file": str(state_file), "model_id": model_id}}
        return self._submit(job, "updating the browser copy of the model")

    def _submit(self, job: dict[str, Any], what: str) -> Job:
        process = self._process
        if process is None or process.stdin is None or process.stdin.closed:
            return Job(None, 0, what)
        name = f"job-{self._jobs}.json"
        staging = self._folder / f".{name}"
        try:
            staging.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
            os.replace(staging, self._folder / name)
            process.stdin.write(f"{name}\n".encode())
            process.stdin.flush()
        except OSError as exc:  # later answers would no longer match their jobs: do without the helper
            _log.info(f"tilsite: cannot hand work to the separate process ({exc}); doing it here instead.")
            self.cancel()
            return Job(None, 0, what)
        self._jobs += 1
        return Job(self, self._jobs - 1, what)

    def close(self) -> None:
        """No more jobs: the process ends once it has answered them; with none, it is stopped now."""
        process = self._process
        if process is None:
            return
        if not self._jobs:
            self.cancel()
            return
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):
                process.stdin.close()

    def wait_for(self, number: int) -> tuple[tuple[dict[str, Any], bytes] | None, str]:
        """Answer ``number`` (from 0), or None and why there is none."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._answers) > number or self._ended, timeout=TIMEOUT)
            if len(self._answers) > number:
                return self._answers[number], ""
            ended = self._ended
        # Whatever happened, it must not go on with work the build now does itself.
        if self._reason is None:
            self._reason = self._failure() if ended else f"no answer in {TIMEOUT} s"
        self.cancel()
        return None, self._reason

    def _failure(self) -> str:
        process = self._process
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        try:
            self._errors.seek(0)
            lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        except ValueError:  # cancelled: its messages are gone
            lines = []
        if lines:
            return lines[-1]
        status = process.returncode if process is not None else None
        return f"exit status {status}" if status else "it stopped answering"

    def _read(self, stream: IO[bytes] | None) -> None:
        try:
            while stream is not None:
                line = stream.readline()
                if not line:
                    break
                header = json.loads(line)
                size = 4 * int(header.get("rows", 0)) * int(header.get("dimension", 0))
                payload = stream.read(size) if size else b""
                if len(payload) != size:
                    break
                with self._changed:
                    self._answers.append((header, payload))
                    self._changed.notify_all()
        except Exception:  # any unreadable answer ends the helper's work; the build does it
            pass
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def cancel(self) -> None:
        """Stop the process (if it still runs) and remove its folder.

        It is asked to stop first, so that it removes what it was writing (a
        browser model is written to a temporary folder); after a few seconds it is
        killed."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            if not self._jobs:  # it was only loading the model
                process.kill()
                process.wait()
            elif process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        self._errors.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def vectors_of(answer: tuple[dict[str, Any], bytes] | None, rows: int) -> numpy.ndarray | None:
    """The vectors in an ``embed`` answer, if it holds ``rows`` of them."""
    import numpy as np

    if answer is None:
        return None
    header, payload = answer
    if header.get("rows") != rows or not payload:
        _log.info(f"tilsite: the separate process gave {header.get('rows')} vectors, not {rows}; embedding here.")
        return None
    return np.frombuffer(payload, dtype="<f4").reshape(rows, int(header["dimension"])).copy()


if __name__ == "__main__":
    sys.exit(main())
