"""The build cache: one SQLite file of what a rebuild does not need to compute again.

* vectors, keyed by (model id, hash of the embedded text): a rebuild embeds only new or changed sections;
* each note's parsed sections, keyed by a hash of the note and the slug settings;
* results derived from an index (related notes, the site's compact vectors, the browser copy's
  vocabulary), one row per kind, keyed by what they were derived from.

Each write is one transaction: an interrupted build keeps everything stored
before the interruption and never leaves a half-written row. Vectors and
sections no build has used for ``HISTORY`` builds are pruned, so the file does
not grow with every edit.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from tilsite.errors import CacheError

if TYPE_CHECKING:
    import numpy

HISTORY = 10
"""Builds that changed the index after which an unused vector or parsed note is dropped (undoing an edit a few
builds later still finds its vectors)."""
_CHUNK = 500
"""Keys per ``IN (...)`` (SQLite takes at most 999 parameters in older versions)."""
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
CREATE TABLE IF NOT EXISTS derived (
    kind TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS builds (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    number INTEGER NOT NULL
);
"""
_USED_COLUMNS = (("vectors", "used"), ("note_sections", "used"))
"""The build number that last used each row (added to caches of earlier versions, whose vectors stay valid)."""


class EmbeddingCache:
    """The site's cache of vectors, parsed sections and derived results (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A build's background thread writes vectors through a connection of its own.
            self._db = sqlite3.connect(str(path), timeout=30)
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{path}: the cache is unreadable ({exc}); delete the file and build again.") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            for table, column in _USED_COLUMNS:
                columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CacheError(f"{path}: the cache is unreadable ({exc}); delete the file and build again.") from exc
        except BaseException:
            self._db.close()
            raise

    def get_raw(self, model_id: str, hashes: list[str]) -> dict[str, bytes]:
        """The cached vectors among ``hashes`` for ``model_id``, each as its little-endian float32 bytes."""
        found: dict[str, bytes] = {}
        wanted = list(dict.fromkeys(hashes))
        query = "SELECT text_hash, dimension, vector FROM vectors WHERE model = ? AND text_hash IN ({})"
        with self._reading("vectors"):
            for chunk in _chunks(wanted):
                for text_hash, dimension, blob in self._db.execute(query.format(_marks(chunk)), [model_id, *chunk]):
                    if len(blob) == 4 * dimension:
                        found[text_hash] = blob
        return found

    def put_many(self, model_id: str, hashes: list[str], vectors: numpy.ndarray | list[numpy.ndarray]) -> None:
        """Store vectors for ``hashes`` in one transaction (a row may hold several vectors one after the other:
        a section's passages)."""
        import numpy as np

        number = self._build_number()
        rows = [
            (model_id, text_hash, int(vector.shape[0]), np.asarray(vector, dtype="<f4").tobytes(), number)
            for text_hash, vector in zip(hashes, vectors, strict=True)
        ]
        statement = "INSERT OR REPLACE INTO vectors (model, text_hash, dimension, vector, used) VALUES (?, ?, ?, ?, ?)"
        with self._writing("vectors"):
            self._db.executemany(statement, rows)

    def get_sections(self, note_keys: list[str]) -> dict[str, str]:
        """Stored section lists (JSON) of notes whose key (a hash of note and settings) is known."""
        found: dict[str, str] = {}
        with self._reading("sections"):
            for chunk in _chunks(note_keys):
                query = f"SELECT note_key, sections FROM note_sections WHERE note_key IN ({_marks(chunk)})"
                found.update(self._db.execute(query, chunk))
        return found

    def put_sections(self, rows: list[tuple[str, str]]) -> None:
        """Store (note key, sections JSON) rows in one transaction."""
        number = self._build_number()
        statement = "INSERT OR REPLACE INTO note_sections (note_key, sections, used) VALUES (?, ?, ?)"
        with self._writing("sections"):
            self._db.executemany(statement, [(key, sections, number) for key, sections in rows])

    def get_derived(self, kind: str, source: str) -> bytes | None:
        """The result of ``kind`` stored for ``source`` (a hash of what it was derived from), if it is that one."""
        with self._reading("derived results"):
            row = self._db.execute("SELECT source, value FROM derived WHERE kind = ?", [kind]).fetchone()
        return bytes(row[1]) if row and row[0] == source else None

    def put_derived(self, kind: str, source: str, value: bytes) -> None:
        """Store the result of ``kind`` for ``source``, in place of the one before."""
        with self._writing("derived results"):
            self._db.execute(
                "INSERT OR REPLACE INTO derived (kind, source, value) VALUES (?, ?, ?)", [kind, source, value]
            )

    def keep_only(self, model_id: str, hashes: list[str], note_keys: list[str]) -> int:
        """Mark the vectors and parsed notes an index built now uses, and drop those that no build has used
        for ``HISTORY`` builds; return how many rows were dropped. Called when the index changes."""
        with self._writing("vectors"):
            row = self._db.execute("SELECT number FROM builds WHERE id = 1").fetchone()
            number = (row[0] if row else 0) + 1
            self._db.execute("INSERT OR REPLACE INTO builds (id, number) VALUES (1, ?)", [number])
            for chunk in _chunks(list(dict.fromkeys(hashes))):
                statement = f"UPDATE vectors SET used = ? WHERE model = ? AND text_hash IN ({_marks(chunk)})"
                self._db.execute(statement, [number, model_id, *chunk])
            for chunk in _chunks(list(dict.fromkeys(note_keys))):
                statement = f"UPDATE note_sections SET used = ? WHERE note_key IN ({_marks(chunk)})"
                self._db.execute(statement, [number, *chunk])
            dropped = self._db.execute("DELETE FROM vectors WHERE used <= ?", [number - HISTORY]).rowcount
            dropped += self._db.execute("DELETE FROM note_sections WHERE used <= ?", [number - HISTORY]).rowcount
        return dropped

    def count(self, model_id: str) -> int:
        """Number of vectors stored for ``model_id``."""
        with self._reading("vectors"):
            (total,) = self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [model_id]).fetchone()
        return int(total)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build_number(self) -> int:
        with self._reading("builds"):
            row = self._db.execute("SELECT number FROM builds WHERE id = 1").fetchone()
        return int(row[0]) + 1 if row else 1

    def _reading(self, what: str) -> _Errors:
        return _Errors(self.path, f"cannot read the {what} in the cache", "delete it and build again")

    def _writing(self, what: str) -> _Transaction:
        return _Transaction(self._db, self.path, what)


class _Errors:
    """Turns SQLite's errors into ``CacheError`` naming the file."""

    def __init__(self, path: Path, what: str, advice: str) -> None:
        self.path, self.what, self.advice = path, what, advice

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, sqlite3.DatabaseError):
            raise CacheError(f"{self.path}: {self.what} ({error}); {self.advice}.") from error


class _Transaction(_Errors):
    """One transaction (committed, or rolled back on an error)."""

    def __init__(self, db: sqlite3.Connection, path: Path, what: str) -> None:
        super().__init__(path, f"cannot write the {what} to the cache", "check the disk, or delete the file")
        self.db = db

    def __enter__(self) -> None:
        self.db.__enter__()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        self.db.__exit__(kind, error, trace)  # type: ignore[arg-type]
        super().__exit__(kind, error, trace)


def _chunks(keys: list[str]) -> list[list[str]]:
    return [keys[start : start + _CHUNK] for start in range(0, len(keys), _CHUNK)]


def _marks(chunk: list[str]) -> str:
    return ",".join("?" * len(chunk))
