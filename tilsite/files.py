"""Files written so that nothing is half-written or read twice for nothing: hashes, JSON, atomic writes, folders.

Every writer here goes through a temporary sibling that is renamed into place, so
a reader (or a build killed halfway) sees the old content or the new, never a mix.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HASH_RECORDS = "file-hashes.json"
"""Where ``recorded_sha256`` keeps the digests of a folder's large files (beside the folders it checks)."""
_RACY_SECONDS = 2.0


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_sha256(path: Path, records_file: Path) -> str:
    """The SHA-256 of ``path``, taken from ``records_file`` while the file is unchanged since it was hashed.

    Checking the model files by reading them cost a build half a second (the ONNX
    weights alone are 470 MB), so, as Git does for its index, a digest is reused
    while the file's size, inode and modification and change times are the same;
    any write changes the change time. A file changed in the last two seconds is
    hashed and not recorded, since a second write could keep its times.
    Recording is best effort: an unwritable records file only costs the hashing.
    """
    status = path.stat()
    stamp = [status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns]
    key = str(path.resolve())
    records = read_json_object(records_file)
    entry = records.get(key)
    if isinstance(entry, dict) and entry.get("stat") == stamp and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    digest = file_sha256(path)
    if time.time() - max(status.st_mtime_ns, status.st_ctime_ns) / 1e9 > _RACY_SECONDS:
        records = {name: item for name, item in records.items() if os.path.exists(name)}
        records[key] = {"stat": stamp, "sha256": digest}
        with contextlib.suppress(OSError):
            write_json(records_file, records)
    return digest


def files_intact(folder: Path, digests: dict[str, str]) -> bool:
    """Whether every file named in ``digests`` is in ``folder`` with that SHA-256 (digests reused through
    ``recorded_sha256``, with the records kept beside ``folder``)."""
    records = folder.parent / HASH_RECORDS
    try:
        return all(recorded_sha256(folder / name, records) == digest for name, digest in digests.items())
    except OSError:
        return False


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``; empty if the file is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary sibling."""
    write_bytes(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def process_folder(parent: Path, prefix: str, is_ours: Callable[[Path], bool] | None = None) -> Path:
    """A new folder ``parent/<prefix><pid>-XXXX`` for this process's work in progress, after removing those
    that processes no longer running left behind (see ``remove_abandoned``)."""
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(parent, prefix, is_ours)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def remove_abandoned(parent: Path, prefix: str, is_ours: Callable[[Path], bool] | None = None) -> None:
    """Remove the ``parent/<prefix><pid>-*`` folders of processes that no longer run (a build killed with
    ``kill -9`` cannot remove its own); only those ``is_ours`` accepts, when given."""
    for path in parent.glob(f"{glob.escape(prefix)}*"):
        owner = path.name[len(prefix) :].split("-", 1)[0]
        if not owner.isdigit() or _running(int(owner)) or path.is_symlink() or not path.is_dir():
            continue
        if is_ours is None or is_ours(path):
            shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or not ours to tell
    return True


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target`` that replaces it when the block succeeds.

    If the block fails, the temporary folder is removed and ``target`` is left as it
    was, so an interrupted write never leaves a half-written folder in its place.
    """
    staging = process_folder(target.parent, f".{target.name}-staging-")
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
