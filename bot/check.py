"""`python -m bot check`: verify a configuration before the first start, changing nothing.

Every check reads only: no folder or secret is created, the database is read from its header
(never opened through SQLite, which could write a WAL or SHM file), and nothing connects to
Discord. Each check gives one line, `ok` or what to fix with the exact command where there
is one; the exit status is 0 only when every check passes.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bot.db import discover_migrations
from bot.decks import PROMPTS_DIR, DeckError, load_library
from bot.settings import (
    DEFAULT_DATABASE_PATH,
    DEFAULT_SECRET_FILE,
    SECRET_BYTES,
    setting_path,
)

# A bot token is three base64url parts joined by dots (the user id, a time, an HMAC).
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
SQLITE_MAGIC = b"SQLite format 3\x00"
USER_VERSION_OFFSET = 60  # in the database header, 4 bytes, big-endian
PRIVATE_MODE_BITS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.name}: {self.message}"


def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, message)


def _fix(name: str, message: str) -> CheckResult:
    return CheckResult(name, False, message)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_token(env: Mapping[str, str]) -> CheckResult:
    token = (env.get("DISCORD_TOKEN") or "").strip()
    if not token:
        return _fix(
            "token",
            "DISCORD_TOKEN is not set. Copy it from the Developer Portal (your application -> "
            "Bot -> Reset Token) into the settings file as DISCORD_TOKEN=...",
        )
    if TOKEN_SHAPE.fullmatch(token) is None:
        return _fix(
            "token",
            "DISCORD_TOKEN does not look like a bot token (three parts joined by dots). "
            "Copy it again from the Developer Portal (Bot -> Reset Token).",
        )
    return _ok("token", "DISCORD_TOKEN is set and shaped like a bot token")


def check_secret(env: Mapping[str, str], base: Path) -> CheckResult:
    raw = env.get("CIRCLEKEEPER_SECRET", "").strip()
    if raw:
        try:
            valid = len(bytes.fromhex(raw)) == SECRET_BYTES
        except ValueError:
            valid = False
        if not valid:
            return _fix(
                "secret",
                "CIRCLEKEEPER_SECRET must be exactly 64 hexadecimal characters. If the bot has "
                "run with another value, restore that one: a new secret breaks open circles' "
                "labels and blocks.",
            )
        return _ok("secret", "given as CIRCLEKEEPER_SECRET (32 bytes)")
    path = setting_path(env, "SECRET_FILE", DEFAULT_SECRET_FILE, base)
    data_folder = setting_path(env, "DATABASE_PATH", DEFAULT_DATABASE_PATH, base).parent
    if _is_within(path, data_folder):
        # Whoever copies the data folder (a backup, a careless rsync) would get both, and
        # with both, every label in open circles can be computed.
        return _fix(
            "secret",
            f"{path} is inside the data folder {data_folder}, with the database: a copy of "
            "that folder would hold both, and with both, anonymous posts in open circles can "
            "be linked to members. Keep it elsewhere: set SECRET_FILE to a path outside the "
            "data folder, for example /etc/circlekeeper/secret.key, readable by the bot's "
            f"user only{', and move the file there' if path.exists() else ''}; or give the "
            "secret as CIRCLEKEEPER_SECRET instead.",
        )
    if not path.exists():
        return _ok("secret", f"{path} does not exist yet; the first start creates it (mode 0600)")
    if not path.is_file():
        return _fix("secret", f"{path} is not a file. Point SECRET_FILE at the secret file.")
    if _mode(path) & PRIVATE_MODE_BITS:
        return _fix(
            "secret",
            f"{path} can be read by other users (mode {_mode(path):04o}). Run: chmod 600 {path}",
        )
    try:
        size = len(path.read_bytes())
    except OSError as error:
        return _fix(
            "secret",
            f"cannot read {path} ({error.strerror}). It must belong to the user the bot runs "
            f"as: chown that-user {path}",
        )
    if size != SECRET_BYTES:
        return _fix(
            "secret",
            f"{path} holds {size} bytes, not {SECRET_BYTES}: it is damaged. Restore it from your "
            "backup of the secret (a new one breaks open circles' labels and blocks).",
        )
    return _ok("secret", f"{path} is private (0600) and holds {SECRET_BYTES} bytes")


def _is_within(path: Path, folder: Path) -> bool:
    """True when `path` is in `folder` or any folder below it (symbolic links followed)."""
    return path.resolve().is_relative_to(folder.resolve())


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_folder(env: Mapping[str, str], base: Path) -> CheckResult:
    folder = setting_path(env, "DATABASE_PATH", DEFAULT_DATABASE_PATH, base).parent
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return _fix(
            "data folder",
            f"{existing} is a file, so {folder} cannot be a folder. Set DATABASE_PATH to a "
            "path in a folder.",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is" if existing == folder else f"cannot be created: {existing} is"
        return _fix(
            "data folder",
            f"{folder} {where} not writable by this user. Run: install -d -m 0700 -o "
            f"$(id -un) {folder}",
        )
    if existing != folder:
        return _ok("data folder", f"{folder} does not exist yet; the first start creates it (0700)")
    return _ok("data folder", f"{folder} is writable")


def check_database_files(env: Mapping[str, str], base: Path) -> CheckResult:
    database = setting_path(env, "DATABASE_PATH", DEFAULT_DATABASE_PATH, base)
    files = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    open_to_others = [p for p in files if p.is_file() and _mode(p) & PRIVATE_MODE_BITS]
    if open_to_others:
        names = " ".join(str(p) for p in open_to_others)
        return _fix("database files", f"readable by other users. Run: chmod 600 {names}")
    if not database.exists():
        return _ok("database files", f"{database} does not exist yet; the first start creates it")
    return _ok("database files", "private (0600)")


def read_schema_version(database: Path) -> int | None:
    """The `user_version` in the file's header; None when it is not an SQLite database.

    An empty file counts as version 0, as SQLite treats it.
    """
    wal = database.with_name(database.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        # The newest header may still be in the WAL (the bot is running, or stopped without
        # closing): ask SQLite, read-only. The WAL and its index exist, so nothing is created,
        # and a read-only connection never checkpoints.
        try:
            with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
                return int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error:
            pass  # fall back to the header in the file itself
    with database.open("rb") as handle:
        header = handle.read(100)
    if not header:
        return 0
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return None
    return int.from_bytes(header[USER_VERSION_OFFSET : USER_VERSION_OFFSET + 4], "big")


def check_schema(env: Mapping[str, str], base: Path) -> CheckResult:
    database = setting_path(env, "DATABASE_PATH", DEFAULT_DATABASE_PATH, base)
    latest = len(discover_migrations())
    if not database.exists():
        return _ok("schema", f"a new database will be created at version {latest}")
    try:
        version = read_schema_version(database)
    except OSError as error:
        return _fix("schema", f"cannot read {database} ({error.strerror})")
    if version is None:
        return _fix(
            "schema",
            f"{database} is not an SQLite database. Point DATABASE_PATH at the bot's database.",
        )
    if version > latest:
        return _fix(
            "schema",
            f"{database} is at version {version}, newer than this code ({latest}). Upgrade "
            "Circlekeeper (git pull, then make run or pip install -e .), or restore a backup.",
        )
    if version < latest:
        backup = database.with_name(f"{database.name}.bak-v{version}")
        return _ok(
            "schema",
            f"at version {version}; the next start upgrades it to {latest} and first copies it "
            f"to {backup}",
        )
    return _ok("schema", f"at version {version}, the current one")


def check_prompts(prompts_dir: Path) -> CheckResult:
    try:
        library = load_library(prompts_dir)
    except DeckError as error:
        return _fix("prompt files", f"{error.file}: {error.place}: {error.problem}")
    return _ok(
        "prompt files", f"valid ({len(library.decks)} decks, {len(library.prompts)} prompts)"
    )


def run_checks(
    env: Mapping[str, str], *, base_dir: Path | None = None, prompts_dir: Path = PROMPTS_DIR
) -> list[CheckResult]:
    """Every check, in the order a host would fix them. Changes nothing."""
    base = base_dir if base_dir is not None else Path.cwd()
    checks: list[Callable[[], CheckResult]] = [
        lambda: check_token(env),
        lambda: check_secret(env, base),
        lambda: check_folder(env, base),
        lambda: check_database_files(env, base),
        lambda: check_schema(env, base),
        lambda: check_prompts(prompts_dir),
    ]
    return [check() for check in checks]


def report(results: list[CheckResult]) -> tuple[str, int]:
    """The printed lines and the exit status (0 only when every check passed)."""
    failed = sum(not r.ok for r in results)
    lines = [r.line() for r in results]
    lines.append("All checks passed." if not failed else f"{failed} of {len(results)} to fix.")
    return "\n".join(lines), 0 if not failed else 1
