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


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error: the file, what happened, and what to do."""
    import errno

    where = exc.filename if exc.filename is not None else "tilsite"
    what = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        advice = "free some space and run it again (the last complete site and index are kept)"
    elif exc.errno == errno.EDQUOT:
        advice = "your disk quota is used up; free some space and run it again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        advice = (
            "tilsite cannot write there: make it writable, or point tilsite elsewhere"
            " (TILSITE_CACHE_DIR for the model cache, `work_dir` in mkdocs.yml for the index)"
        )
    else:
        advice = "check the file and its folder"
    return f"{where}: {what}; {advice}."
