"""The layout of a site's work folder (``.tilsite`` beside mkdocs.yml): the one place its paths are named.

::

    .tilsite/
        embeddings.sqlite  vectors by text hash, parsed sections by note, results derived from the index
        index/           the section index: CURRENT and its generation folders (tilsite.index.store)
        docs/            the empty docs_dir that MkDocs insists on for a site built from notes_dir

Everything in it can be deleted: the next build makes it again (embedding every
section again takes the time of a first build).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_NAME = ".tilsite"
"""The work folder's name beside mkdocs.yml, unless ``work_dir`` says otherwise."""
PLACEHOLDER_DOCS = "docs"
"""The placeholder docs_dir, inside the work folder."""


@dataclass(slots=True, frozen=True)
class WorkDir:
    """Paths under one site's work folder."""

    root: Path
    """The work folder itself."""

    @property
    def cache(self) -> Path:
        """The SQLite cache (tilsite.index.cache)."""
        return self.root / "embeddings.sqlite"  # the name of earlier versions: their vectors stay valid

    @property
    def index(self) -> Path:
        """The folder of the section index (tilsite.index.store)."""
        return self.root / "index"

    @property
    def earlier_files(self) -> list[Path]:
        """Files that earlier versions of tilsite kept here and this one no longer reads (only in a folder that
        holds tilsite's cache: in one shared with other things, files of these names may be theirs)."""
        if not self.cache.is_file():
            return []
        names = ("related.json", "web-model.json", "last-build")
        return [self.root / name for name in names] + sorted(self.root.glob("site-vectors-*.bin"))
