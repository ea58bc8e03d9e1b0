"""The helper process that loads the model as a build starts and embeds a few sections while it goes on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tests.conftest import FakeEmbedder
from tilsite.builder import Settings, build_index, start_index
from tilsite.embedworker import Helper


@contextmanager
def _messages() -> Iterator[list[str]]:
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("tilsite")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _broken_helper(tmp_path: Path) -> Helper:
    """A helper whose model cache is a file: it fails as it starts, with one line."""
    cache = tmp_path / "not-a-folder"
    cache.write_text("", encoding="utf-8")
    return Helper(cache)


def test_a_failed_helper_leaves_the_work_to_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# 메모\n\n## 과적합\n\n드롭아웃으로 줄인다\n", encoding="utf-8")
    model = FakeEmbedder()
    helper = _broken_helper(tmp_path)
    try:
        pending = start_index(Settings(docs_dir=docs, work_dir=tmp_path / ".tilsite"), model, helper=helper)
        assert pending.vectors.pending is not None and not model.calls  # handed to the helper
        helper.close()
        with _messages() as messages:
            index = pending.finish()
    finally:
        helper.cancel()
    (message,) = [text for text in messages if "separate process" in text]
    assert message.startswith("tilsite: embedding in a separate process failed (tilsite.embedworker: ")
    assert message.endswith(
        "Not a directory: '" + str(tmp_path / "not-a-folder" / "models") + "'); doing it here instead."
    )
    assert model.embedded_texts and len(model.embedded_texts) == len(index.records)
    expected, _ = build_index(Settings(docs_dir=docs, work_dir=tmp_path / "other"), FakeEmbedder())
    assert np.array_equal(index.vectors, expected.vectors)


def test_a_helper_with_no_work_is_stopped_at_once_and_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    helper = Helper(cache)
    folder = helper._folder
    assert folder.is_dir() and helper.pid is not None
    helper.close()  # no job was given
    assert helper.pid is None and not folder.exists()


def test_a_cancelled_job_has_no_answer_and_leaves_nothing_behind(tmp_path: Path) -> None:
    helper = _broken_helper(tmp_path)
    job = helper.embed(["메모"], "passage")
    folder = helper._folder
    helper.cancel()
    assert not folder.exists()
    with _messages() as messages:
        assert job.answer() is None
    assert len(messages) == 1 and "doing it here instead" in messages[0]
