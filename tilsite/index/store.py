"""The section index on disk: a FAISS inner-product index, section metadata (JSON) and a manifest.

Layout of ``index_dir``::

    CURRENT              name of the live generation folder (replaced atomically)
    <generation>/
        manifest.json    format version, model id, dimension, count, file checksums
        sections.json    one record per section, in index order
        passages.json    how many passages each section has (tilsite.index.passages)
        sections.faiss   normalised vectors in an exact inner-product index: the sections', then the passages'

A build writes a new generation folder and then swaps ``CURRENT``, so readers
see either the old index or the new one, never a mix, and an interrupted build
leaves the last good index in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.errors import IndexLoadError
from tilsite.files import file_sha256, process_folder, remove_abandoned
from tilsite.index.passages import PASSAGES_VERSION

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy

    Passages = tuple[numpy.ndarray, numpy.ndarray]

FORMAT_VERSION = 3
"""2: the vectors are checked (finite, unit length) before they are written; 3: long sections' passages follow
the sections' vectors in the FAISS file (how many each section has: ``passages.json``)."""
_CURRENT = "CURRENT"
_REBUILD = "run `tilsite index` (or `tilsite build`) to rebuild it"


@dataclass(slots=True, frozen=True)
class SectionRecord:
    """Metadata stored for each indexed section."""

    path: str
    """Note path relative to the docs folder."""
    title: str
    """Title of the note."""
    heading: str
    """Heading text of the section."""
    anchor: str
    """Heading id on the rendered page ('' for the top of the page)."""
    url: str
    """Site-relative URL of the section (``page/#anchor``)."""
    snippet: str
    """Start of the section body."""
    text: str
    """Plain text of the section (for keyword ranking)."""
    text_hash: str
    """SHA-256 of the embedded text."""


class SectionIndex:
    """Vectors and their records, in the same order, and the vectors of long sections' passages."""

    __slots__ = ("_passages", "_vectors", "content", "model_id", "passage_counts", "records")

    def __init__(
        self,
        model_id: str,
        records: list[SectionRecord],
        vectors: numpy.ndarray | Callable[[], numpy.ndarray],
        content: str = "",
        *,
        passages: Passages | Callable[[], Passages] | None = None,
        passage_counts: list[int] | None = None,
    ) -> None:
        self.model_id = model_id
        """The model that produced the vectors."""
        self.records = records
        """One record per vector."""
        self.content = content
        """A hash of the model id and the records, which identify the vectors too; set when the index is
        written or loaded (results derived from the index are cached under it)."""
        self._vectors = vectors
        self._passages = passages
        self.passage_counts = passage_counts if passage_counts is not None else [0] * len(records)
        """How many passages each section has (tilsite.index.passages)."""

    @property
    def vectors(self) -> numpy.ndarray:
        """``(len(records), dimension)`` float32 unit vectors (made on first use when given as a function:
        a build whose results are all cached never needs them, nor numpy)."""
        if callable(self._vectors):
            self._vectors = self._vectors()
        return self._vectors

    @property
    def passages(self) -> Passages:
        """The passages' unit vectors, section by section, and the position of each one's section (made on
        first use when given as a function)."""
        if callable(self._passages):
            self._passages = self._passages()
        if self._passages is None:
            import numpy as np

            self._passages = (np.zeros((0, self.dimension), np.float32), np.zeros(0, np.int64))
        return self._passages

    def __repr__(self) -> str:
        return f"SectionIndex({self.model_id!r}, {len(self.records)} records, content={self.content[:12]!r})"

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    def similarities(self, vector: numpy.ndarray) -> numpy.ndarray:
        """Each section's cosine with the unit ``vector``: the best of its own and its passages'."""
        import numpy as np

        found = self.vectors @ vector
        passages, owners = self.passages
        if len(owners):
            np.maximum.at(found, owners, passages @ vector)
        return found

    def faiss_index(self) -> Any:
        """An exact inner-product FAISS index over the sections' vectors, then their passages' (cosine, since
        they are normalised); a row from ``len(records)`` on is a passage of section ``passages[1][row - len]``."""
        import faiss

        index = faiss.IndexFlatIP(max(self.dimension, 1))
        if len(self.records):
            index.add(self.vectors)
            if len(self.passages[1]):
                index.add(self.passages[0])
        return index


def passage_owners(counts: list[int]) -> numpy.ndarray:
    """The position of each passage's section, from how many passages each section has (in index order)."""
    import numpy as np

    return np.repeat(np.arange(len(counts), dtype=np.int64), np.array(counts, dtype=np.int64))


UNIT_TOLERANCE = 1e-3
"""How far from 1 the squared length of a stored vector may be (float32 rounding is far below it)."""


def damaged_rows(rows: list[numpy.ndarray], dimension: int | None = None) -> list[int]:
    """Positions of the vectors that are not finite unit vectors of ``dimension`` (default: the most common one)."""
    import numpy as np

    if dimension is None:
        sizes = np.array([len(row) for row in rows])
        values, counts = np.unique(sizes, return_counts=True)
        dimension = int(values[np.argmax(counts)])
    damaged = [index for index, row in enumerate(rows) if len(row) != dimension]
    sized = [index for index, row in enumerate(rows) if len(row) == dimension]
    if sized:
        stacked = np.vstack([rows[index] for index in sized]).astype(np.float64)
        with np.errstate(all="ignore"):
            squared = np.einsum("ij,ij->i", stacked, stacked)
        bad = ~np.isfinite(squared) | (np.abs(squared - 1.0) > UNIT_TOLERANCE)
        damaged += [sized[position] for position in np.flatnonzero(bad).tolist()]
    return sorted(damaged)


def write_index(index: SectionIndex, index_dir: Path) -> bool:
    """Write ``index`` as a new generation and make it current; False when the current one holds it already.

    The pointer to the current generation is replaced by one rename, so readers see the old index or
    the new one, never a mix, and an interrupted build leaves the last good index in place."""
    # Field by field: ``dataclasses.asdict`` copies deeply and took 6× as long (11 ms for 540 records; every
    # build, unchanged or not, computes this).
    names = [item.name for item in fields(SectionRecord)]
    records_json = json.dumps(
        [{name: getattr(record, name) for name in names} for record in index.records], ensure_ascii=False
    )
    # Vectors come from the cache keyed by each record's text hash (passages by it and their version), so model +
    # records + passage counts identify the index.
    counts_json = json.dumps(index.passage_counts)
    passages = f"passages {PASSAGES_VERSION} {counts_json}" if any(index.passage_counts) else ""
    content = hashlib.sha256(f"{index.model_id}\n{passages}{records_json}".encode()).hexdigest()
    index.content = content
    current = _current_generation(index_dir)

    def left_behind(folder: Path) -> bool:
        # Generations are named after the process that wrote them, so the live one's writer has exited:
        # it is never "abandoned".
        return _is_generation(folder) and (current is None or folder.name != current.name)

    if current is not None:
        manifest = _read_manifest(current)
        # Reused only if a load would accept it: whatever ``load_index`` rejects, a build writes again.
        problem = _problem(current, manifest, index.model_id, len(index.records), sum(index.passage_counts))
        if manifest.get("content") == content and problem is None:
            remove_abandoned(index_dir, "gen-", left_behind)
            return False
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    generation = process_folder(index_dir, "gen-", left_behind)
    try:
        faiss.write_index(index.faiss_index(), str(generation / "sections.faiss"))
        (generation / "sections.json").write_text(records_json, encoding="utf-8")
        (generation / "passages.json").write_text(counts_json, encoding="utf-8")
        manifest = {
            "content": content,
            "format_version": FORMAT_VERSION,
            "model_id": index.model_id,
            "dimension": index.dimension,
            "count": len(index.records),
            "passages": sum(index.passage_counts),
            "metric": "inner_product",
            "files": {name: file_sha256(generation / name) for name in _GENERATION_FILES - {"manifest.json"}},
        }
        (generation / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        pointer = index_dir / f".{_CURRENT}.tmp"
        pointer.write_text(generation.name, encoding="utf-8")
        os.replace(pointer, index_dir / _CURRENT)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    if current is not None and current != generation and _is_generation(current):
        shutil.rmtree(current, ignore_errors=True)
    return True


_GENERATION_NAME = re.compile(r"gen-(?:\d+-)?[a-z0-9_]{8}")
_GENERATION_FILES = frozenset({"manifest.json", "sections.json", "passages.json", "sections.faiss"})


def _is_generation(folder: Path) -> bool:
    """Whether ``folder`` is an index generation tilsite wrote (named so, holding only its files): in a
    ``work_dir`` shared with other things, nothing else is ever removed."""
    if folder.is_symlink() or not folder.is_dir() or not _GENERATION_NAME.fullmatch(folder.name):
        return False
    try:
        return {entry.name for entry in folder.iterdir()} <= _GENERATION_FILES
    except OSError:
        return False


def _current_generation(index_dir: Path) -> Path | None:
    try:
        generation = index_dir / (index_dir / _CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return generation if generation.is_dir() else None


def _read_manifest(generation: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _problem(
    generation: Path, manifest: dict[str, Any], model_id: str | None, count: int | None, passages: int | None = None
) -> str | None:
    """What is wrong with a stored generation for ``model_id``, ``count`` records and ``passages``, or None."""
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}"
    if model_id is not None and manifest.get("model_id") != model_id:
        return f"index was built with model {manifest.get('model_id')!r}, not {model_id!r}"
    if not _intact(generation, manifest):
        return "index files missing or corrupt (checksum mismatch)"
    header = _faiss_header(generation / "sections.faiss")
    stored_count = manifest.get("count")
    stored_passages = manifest.get("passages")
    dimension = manifest.get("dimension")
    if (
        header is None
        or not isinstance(stored_count, int)
        or not isinstance(stored_passages, int)
        or not isinstance(dimension, int)
        or header[1] != stored_count + stored_passages
        or (stored_count and header[0] != dimension)
        or (count is not None and stored_count != count)
        or (passages is not None and stored_passages != passages)
    ):
        return "records, vectors and manifest disagree"
    return None


def _faiss_header(path: Path) -> tuple[int, int] | None:
    """(dimension, count) from the header of a FAISS flat index file, without loading FAISS."""
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError:
        return None
    if len(head) < 16 or head[:4] != b"IxFI":
        return None
    return int.from_bytes(head[4:8], "little", signed=True), int.from_bytes(head[8:16], "little", signed=True)


def _intact(generation: Path, manifest: dict[str, Any]) -> bool:
    files = manifest.get("files") or {}
    return bool(files) and all(
        (generation / name).is_file() and file_sha256(generation / name) == checksum for name, checksum in files.items()
    )


def load_index(index_dir: Path, *, model_id: str | None = None) -> SectionIndex:
    """Load the current index; raise ``IndexLoadError`` saying how to rebuild when anything is off."""
    import faiss
    import numpy as np

    pointer = index_dir / _CURRENT
    if not pointer.is_file():
        raise IndexLoadError(f"{index_dir}: no index found; {_REBUILD}.")
    generation = index_dir / pointer.read_text(encoding="utf-8").strip()
    manifest_path = generation / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"{manifest_path}: unreadable index manifest; {_REBUILD}.") from exc
    if not isinstance(manifest, dict):
        raise IndexLoadError(f"{manifest_path}: unreadable index manifest; {_REBUILD}.")
    problem = _problem(generation, manifest, model_id, None)
    if problem is not None:
        raise IndexLoadError(f"{generation}: {problem}; {_REBUILD}.")
    try:
        records = [SectionRecord(**item) for item in json.loads((generation / "sections.json").read_text("utf-8"))]
        counts = json.loads((generation / "passages.json").read_text("utf-8"))
        stored = faiss.read_index(str(generation / "sections.faiss"))
        every = stored.reconstruct_n(0, stored.ntotal) if stored.ntotal else np.zeros((0, manifest["dimension"]))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexLoadError(f"{generation}: cannot read the index ({exc}); {_REBUILD}.") from exc
    every = np.ascontiguousarray(every, dtype=np.float32)
    if (
        len(records) != manifest.get("count")
        or not isinstance(counts, list)
        or len(counts) != len(records)
        or not all(isinstance(n, int) and n >= 0 for n in counts)
        or stored.ntotal != len(records) + sum(counts)
        or (len(records) and every.shape[1] != manifest.get("dimension"))
    ):
        raise IndexLoadError(f"{generation}: records, vectors and manifest disagree; {_REBUILD}.")
    if len(every) and damaged_rows(list(every)):
        raise IndexLoadError(f"{generation}: the index holds vectors that are not finite unit vectors; {_REBUILD}.")
    passages = (np.ascontiguousarray(every[len(records) :]), passage_owners(counts))
    content = str(manifest.get("content", ""))
    return SectionIndex(
        manifest["model_id"], records, every[: len(records)], content, passages=passages, passage_counts=counts
    )
