"""Settings: one frozen, typed object built from the environment and validated at start-up.

`Settings.from_env(mapping)` reads any mapping, so tests and tools build settings without
touching the process environment. `load_settings()` is what the entry point uses: it loads a
`.env` file once and reads `os.environ`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

from bot.files import make_private_folders

SECRET_BYTES = 32
DEFAULT_DATABASE_PATH = "data/circlekeeper.db"
DEFAULT_SECRET_FILE = "data/secret.key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable and what is wrong."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Settings:
    discord_token: str | None
    database_path: Path
    secret_file: Path
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    sync_commands: bool = False
    # The master secret for anonymous labels. Kept out of repr so it never reaches a log.
    secret: bytes = field(default=b"", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, base_dir: Path | None = None) -> Settings:
        """Build settings from `env`; relative paths resolve from `base_dir` (default: cwd).

        Creates the database folder if missing (mode 0700; an existing folder is left as it
        is) and, on first run, the secret file (mode 0600).
        Raises SettingsError naming the variable when a value is bad.
        """
        base = base_dir if base_dir is not None else Path.cwd()
        token = (env.get("DISCORD_TOKEN") or "").strip() or None
        if token is not None and (len(token) < 50 or any(c.isspace() for c in token)):
            raise SettingsError(
                "DISCORD_TOKEN",
                "does not look like a bot token (copy it again from the Developer Portal)",
            )
        database_path = setting_path(env, "DATABASE_PATH", DEFAULT_DATABASE_PATH, base)
        _make_parent(database_path, "DATABASE_PATH")
        secret_file = setting_path(env, "SECRET_FILE", DEFAULT_SECRET_FILE, base)
        secret = _secret(env, secret_file)
        return cls(
            discord_token=token,
            database_path=database_path,
            secret_file=secret_file,
            dev_guild_id=_optional_id(env, "DEV_GUILD_ID"),
            log_level=_log_level(env),
            sync_commands=_flag(env, "SYNC_COMMANDS"),
            secret=secret,
        )


def read_environment() -> Mapping[str, str]:
    """The process environment after loading `.env` (which never overrides it)."""
    load_dotenv(override=False)
    return os.environ


def load_settings() -> Settings:
    """Load `.env` (once, without overriding the real environment) and build settings."""
    return Settings.from_env(read_environment())


def setting_path(env: Mapping[str, str], name: str, default: str, base: Path) -> Path:
    """The path a setting names (or its default), resolved from `base` when relative."""
    raw = env.get(name, "").strip() or default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base / path


def _make_parent(path: Path, name: str) -> None:
    try:
        make_private_folders(path.parent)
    except OSError as error:
        raise SettingsError(
            name, f"cannot create folder {path.parent} ({error.strerror})"
        ) from None
    if path.is_dir():
        raise SettingsError(name, f"{path} is a folder, not a file")


def _secret(env: Mapping[str, str], secret_file: Path) -> bytes:
    raw = env.get("CIRCLEKEEPER_SECRET", "").strip()
    if raw:
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            value = b""
        if len(value) != SECRET_BYTES:
            raise SettingsError("CIRCLEKEEPER_SECRET", "must be exactly 64 hexadecimal characters")
        return value
    _make_parent(secret_file, "SECRET_FILE")
    if not secret_file.exists():
        try:
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise SettingsError(
                "SECRET_FILE", f"cannot create {secret_file} ({error.strerror})"
            ) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
        logging.getLogger(__name__).warning(
            "Created a new secret file at %s: back it up apart from the database", secret_file
        )
    try:
        value = secret_file.read_bytes()
    except OSError as error:
        raise SettingsError(
            "SECRET_FILE", f"cannot read {secret_file} ({error.strerror})"
        ) from None
    if len(value) != SECRET_BYTES:
        raise SettingsError(
            "SECRET_FILE", f"{secret_file} must hold exactly {SECRET_BYTES} bytes (it is damaged)"
        )
    return value


def _optional_id(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 15 <= len(raw) <= 21:
        raise SettingsError(name, "must be a server id (a number of 17 to 20 digits)")
    return int(raw)


def _log_level(env: Mapping[str, str]) -> str:
    raw = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if raw not in LOG_LEVELS:
        raise SettingsError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(name, "must be true or false")
