"""Shared test helpers: a fast fake embedder and a copy of the fixture site."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from tilsite.model import models as embeddings
from tilsite.results.keywords import tokenize

from .helpers import copy_sample_site

FIXTURES = Path(__file__).parent / "fixtures"


class FakeEmbedder(embeddings.EmbeddingModel):
    """Hashes keyword terms into a vector: texts sharing words or Hangul bigrams are similar."""

    model_id = "fake-hash-256"
    dimension = 256

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_batch(self, texts: list[str], kind: embeddings.Kind) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in tokenize(text):
                digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
                vectors[row, int.from_bytes(digest[:2], "little") % self.dimension] += 1.0
            vectors[row, 0] += 0.01
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms

    @property
    def embedded_texts(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Every tilsite entry point gets this model instead of loading real weights."""
    model = FakeEmbedder()
    monkeypatch.setattr(embeddings, "load_model", lambda spec="default", **options: model)
    return model


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A fresh copy of tests/fixtures/site; returns its folder (with mkdocs.yml)."""
    target = tmp_path / "site-project"
    shutil.copytree(FIXTURES / "site", target)
    return target


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A copy of this repository's own sample site (docs/, img/, mkdocs.yml)."""
    return copy_sample_site(tmp_path / "sample")
