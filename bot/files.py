"""Files and folders on disk: everything the bot creates is readable by its own user only.

The database, its `-wal` and `-shm`, migration copies and `bot backup` output hold member ids,
salts and (for a while) post text, so none of them may be readable by other users of the
machine. A folder the bot creates is 0700; a folder the operator chose is left as it is, but
database files in it that others can read are tightened when the bot starts.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# SQLite's companions of a database file, and the copies taken before a migration.
_COMPANIONS = ("-wal", "-shm", "-journal")


def use_private_umask() -> None:
    """Make every file this process creates from now on private to its user. Idempotent."""
    os.umask(PRIVATE_UMASK)


def make_private_folders(folder: Path) -> None:
    """Create `folder` and any missing parents with mode 0700; leave existing ones alone.

    Raises OSError as `mkdir` does.
    """
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist yet (SQLite then gives its
    `-wal` and `-shm` the same mode). Never changes an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def database_files(database: Path) -> list[Path]:
    """The database, its SQLite companions and its migration copies that exist now."""
    found = [database] if database.exists() else []
    found += [p for p in (Path(f"{database}{suffix}") for suffix in _COMPANIONS) if p.exists()]
    found += sorted(database.parent.glob(f"{database.name}.bak-v*"))
    return found


def tighten(paths: list[Path]) -> list[Path]:
    """Make each file readable and writable by its owner only, if others could read or write
    it; log each change. Return the files changed."""
    changed = []
    for path in paths:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            path.chmod(PRIVATE_FILE)
            changed.append(path)
            log.warning(
                "%s was readable by other users of this machine (mode %o); made it private "
                "to the bot's user (mode 600)",
                path,
                mode,
            )
    return changed
