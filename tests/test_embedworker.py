"""The helper process that embeds a few sections while the build goes on."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import FakeEmbedder
from tilsite.builder import Settings, build_index, start_index
from tilsite.embeddings import PendingVectors


def test_a_bad_request_fails_with_one_line(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"texts": ["x"], "kind": "passage"}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tilsite.embedworker", str(request)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"tilsite.embedworker: {request}: not a request for vectors (texts, kind, cache_dir)"
    ]


def test_a_failed_background_embedding_is_done_in_this_process(tmp_path: Path) -> None:
    class Failing(FakeEmbedder):
        def embed_later(self, texts, kind):  # type: ignore[no-untyped-def]
            self.later = list(texts)
            # A request the worker refuses: it exits with an error before loading any model.
            return PendingVectors({"texts": texts, "kind": "neither", "cache_dir": None}, self.dimension)

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# 메모\n\n## 과적합\n\n드롭아웃으로 줄인다\n", encoding="utf-8")
    model = Failing()
    pending = start_index(Settings(docs_dir=docs, work_dir=tmp_path / ".tilsite"), model, background=True)
    assert model.later and not model.calls  # nothing embedded here yet
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("tilsite")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        index = pending.finish()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any("embedding in a separate process failed (tilsite.embedworker:" in text for text in messages)
    assert model.embedded_texts == model.later
    expected, _ = build_index(Settings(docs_dir=docs, work_dir=tmp_path / "other"), FakeEmbedder())
    assert np.array_equal(index.vectors, expected.vectors)


def test_a_cancelled_request_leaves_nothing_behind() -> None:
    pending = PendingVectors({"texts": ["메모"], "kind": "passage", "cache_dir": None}, 384)
    folder = pending._folder
    assert folder.is_dir()
    pending.cancel()
    assert not folder.exists()
    assert pending.result() is None
