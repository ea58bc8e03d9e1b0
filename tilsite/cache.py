"""The build cache: one SQLite file of vectors keyed by (model id, hash of the embedded text),
and of each note's parsed sections keyed by a hash of the note and the slug settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from tilsite.errors import CacheError

if TYPE_CHECKING:
    import numpy

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS note_sections (
    note_key TEXT PRIMARY KEY,
    sections TEXT NOT NULL
) WITHOUT ROWID;
"""


class EmbeddingCache:
    """Vectors already computed, so a rebuild embeds only new or changed sections.

    Each ``put`` is one transaction: an interrupted build keeps everything stored
    before the interruption and never leaves a half-written row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path))
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"{path}: the embedding cache is unreadable ({exc}); delete the file and build again."
            ) from exc

    def get_many(self, model_id: str, hashes: list[str]) -> dict[str, numpy.ndarray]:
        """Return the cached vectors among ``hashes`` for ``model_id``."""
        import numpy as np

        return {
            text_hash: np.frombuffer(blob, dtype="<f4") for text_hash, blob in self.get_raw(model_id, hashes).items()
        }

    def get_raw(self, model_id: str, hashes: list[str]) -> dict[str, bytes]:
        """Like ``get_many``, with each vector as its little-endian float32 bytes (no numpy needed)."""
        found: dict[str, bytes] = {}
        wanted = list(dict.fromkeys(hashes))
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT text_hash, dimension, vector FROM vectors WHERE model = ? AND text_hash IN ({marks})",
                    [model_id, *chunk],
                )
                for text_hash, dimension, blob in rows:
                    if len(blob) == 4 * dimension:
                        found[text_hash] = blob
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"{self.path}: cannot read the embedding cache ({exc}); delete it and build again."
            ) from exc
        return found

    def put_many(self, model_id: str, hashes: list[str], vectors: numpy.ndarray) -> None:
        """Store vectors for ``hashes`` in one transaction."""
        import numpy as np

        rows = [
            (model_id, text_hash, int(vector.shape[0]), np.asarray(vector, dtype="<f4").tobytes())
            for text_hash, vector in zip(hashes, vectors, strict=True)
        ]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (model, text_hash, dimension, vector) VALUES (?, ?, ?, ?)", rows
                )
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: cannot write the embedding cache ({exc}).") from exc

    def get_sections(self, note_keys: list[str]) -> dict[str, str]:
        """Stored section lists (JSON) of notes whose key (a hash of note and settings) is known."""
        found: dict[str, str] = {}
        try:
            for start in range(0, len(note_keys), 500):
                chunk = note_keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT note_key, sections FROM note_sections WHERE note_key IN ({marks})"
                found.update(self._db.execute(query, chunk))
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: cannot read the section cache ({exc}); delete it and build again.") from exc
        return found

    def put_sections(self, rows: list[tuple[str, str]]) -> None:
        """Store (note key, sections JSON) rows in one transaction."""
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO note_sections (note_key, sections) VALUES (?, ?)", rows)
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path}: cannot write the section cache ({exc}).") from exc

    def count(self, model_id: str) -> int:
        """Number of vectors stored for ``model_id``."""
        (total,) = self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [model_id]).fetchone()
        return int(total)

    def close(self) -> None:
        """Close the database."""
        self._db.close()
