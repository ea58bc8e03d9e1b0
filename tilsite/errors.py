"""The one exception hierarchy of tilsite.

Every message says what happened, to which file, and what to do about it.
The CLI turns these into ``click.ClickException``; the MkDocs plugin turns
them into ``PluginError``.
"""

from __future__ import annotations


class TilsiteError(Exception):
    """Base class for every error tilsite reports to a user."""


class ConfigError(TilsiteError):
    """The configuration in ``mkdocs.yml`` is missing or invalid."""


class ModelError(TilsiteError):
    """The embedding model could not be found, converted or loaded."""


class IndexLoadError(TilsiteError):
    """The stored index is missing, corrupt or built for another model."""


class CacheError(TilsiteError):
    """The embedding cache could not be opened or written."""
