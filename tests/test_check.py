"""`python -m bot check` and the systemd unit: a host learns what to fix before the first start."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.check import CheckResult, run_checks
from bot.db import Database, discover_migrations
from bot.decks import PROMPTS_DIR

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "circlekeeper.service"
TOKEN = "A" * 24 + "." + "B" * 6 + "." + "C" * 27


@pytest.fixture
async def host(tmp_path: Path) -> dict[str, str]:
    """A good configuration: token, private secret kept apart from the data folder, a
    migrated private database."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    keys = tmp_path / "etc"
    keys.mkdir(mode=0o700)
    secret = keys / "secret.key"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    database = await Database.open(data / "circlekeeper.db")
    await database.close()
    for path in data.iterdir():
        path.chmod(0o600)
    return {
        "DISCORD_TOKEN": TOKEN,
        "DATABASE_PATH": str(data / "circlekeeper.db"),
        "SECRET_FILE": str(secret),
    }


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def listing(root: Path) -> list[tuple[str, int, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    )


def failed(results: list[CheckResult]) -> dict[str, str]:
    return {r.name: r.message for r in results if not r.ok}


def test_good_configuration_passes_and_changes_nothing(host, tmp_path, monkeypatch, capsys):
    """A good configuration prints ok on every line, exits 0 and leaves the folder as it was."""
    before = listing(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name, value in host.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CIRCLEKEEPER_SECRET", raising=False)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert all(line.startswith("ok ") for line in lines[:-1]), out
    assert {"token", "secret", "data folder", "database files", "schema", "prompt files"} == {
        line.split(":")[0][5:] for line in lines[:-1]
    }
    assert lines[-1] == "All checks passed."
    assert listing(tmp_path) == before


def test_fresh_machine_creates_nothing(tmp_path):
    """Before the first start, check says what will be created and creates none of it."""
    env = {"DISCORD_TOKEN": TOKEN, "SECRET_FILE": str(tmp_path / "etc" / "secret.key")}
    results = run_checks(env, base_dir=tmp_path)
    assert failed(results) == {}
    assert "first start creates it" in by_name(results)["secret"].message
    assert list(tmp_path.iterdir()) == []


def test_default_secret_beside_the_database_fails(tmp_path):
    """With the default paths the secret would be created in the data folder, beside the
    database, so one copy of that folder would hold both: check fails and says how to keep
    it apart. Nothing is created."""
    problems = failed(run_checks({"DISCORD_TOKEN": TOKEN}, base_dir=tmp_path))
    assert list(problems) == ["secret"]
    assert "inside the data folder" in problems["secret"]
    assert "SECRET_FILE" in problems["secret"] and "CIRCLEKEEPER_SECRET" in problems["secret"]
    assert "/etc/circlekeeper/secret.key" in problems["secret"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["data/secret.key", "data/keys/secret.key"])
def test_existing_secret_inside_the_data_folder_fails(host, tmp_path, where):
    """A secret file in the database's folder, or in any folder below it (symbolic links
    followed), fails the check and is told to move; given as CIRCLEKEEPER_SECRET it passes."""
    inside = tmp_path / where
    inside.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(host["SECRET_FILE"], inside)
    inside.chmod(0o600)
    link = tmp_path / "looks-apart.key"
    link.symlink_to(inside)
    for path in (inside, link):
        host["SECRET_FILE"] = str(path)
        problems = failed(run_checks(host, base_dir=tmp_path))
        assert list(problems) == ["secret"], path
        assert "move the file there" in problems["secret"]
    host["CIRCLEKEEPER_SECRET"] = "5e" * 32
    assert failed(run_checks(host, base_dir=tmp_path)) == {}


def test_missing_token(host, tmp_path):
    """No token: the token line says where to get one; the exit is not 0."""
    del host["DISCORD_TOKEN"]
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert list(problems) == ["token"]
    assert "Reset Token" in problems["token"]


def test_badly_shaped_token(host, tmp_path):
    """A token pasted wrongly (not three dotted parts) is caught before Discord refuses it."""
    host["DISCORD_TOKEN"] = "x" * 60
    assert "does not look like a bot token" in failed(run_checks(host, base_dir=tmp_path))["token"]


def test_secret_readable_by_others(host, tmp_path):
    """A 0644 secret gives the exact chmod to run."""
    secret = Path(host["SECRET_FILE"])
    secret.chmod(0o644)
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert list(problems) == ["secret"]
    assert f"chmod 600 {secret}" in problems["secret"]


def test_secret_of_wrong_length(host, tmp_path):
    """A damaged secret is named, and the fix is the backup, not a new secret."""
    secret = Path(host["SECRET_FILE"])
    secret.write_bytes(b"short")
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert "holds 5 bytes, not 32" in problems["secret"]
    assert "Restore it from your backup" in problems["secret"]


def test_bad_secret_in_environment(host, tmp_path):
    host["CIRCLEKEEPER_SECRET"] = "abc"
    assert "64 hexadecimal" in failed(run_checks(host, base_dir=tmp_path))["secret"]


def test_folder_that_cannot_be_created(host, tmp_path):
    """A database path inside a file cannot work; check says so instead of crashing later."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    host["DATABASE_PATH"] = str(blocker / "data" / "circlekeeper.db")
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert "is a file" in problems["data folder"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_unwritable_folder(host, tmp_path):
    """A folder the bot's user cannot write to gives the command that fixes it."""
    folder = Path(host["DATABASE_PATH"]).parent
    folder.chmod(0o500)
    try:
        problems = failed(run_checks(host, base_dir=tmp_path))
    finally:
        folder.chmod(0o700)
    assert "not writable" in problems["data folder"]
    assert "install -d -m 0700" in problems["data folder"]


def test_database_readable_by_others(host, tmp_path):
    database = Path(host["DATABASE_PATH"])
    database.chmod(0o644)
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert f"chmod 600 {database}" in problems["database files"]


def test_newer_schema(host, tmp_path):
    """A database from a newer version says to upgrade the bot."""
    latest = len(discover_migrations())
    with closing(sqlite3.connect(host["DATABASE_PATH"])) as conn:
        conn.execute(f"PRAGMA user_version = {latest + 1}")
    problems = failed(run_checks(host, base_dir=tmp_path))
    assert list(problems) == ["schema"]
    assert "newer than this code" in problems["schema"]
    assert "Upgrade Circlekeeper" in problems["schema"]


def test_older_schema_says_where_the_backup_goes(host, tmp_path):
    """An older database passes, saying an upgrade will run and where its copy will be."""
    with closing(sqlite3.connect(host["DATABASE_PATH"])) as conn:
        conn.execute("PRAGMA user_version = 3")
    schema = by_name(run_checks(host, base_dir=tmp_path))["schema"]
    assert schema.ok
    assert f"{host['DATABASE_PATH']}.bak-v3" in schema.message


def test_schema_still_in_the_wal(host, tmp_path):
    """While the bot runs, the newest schema version may be only in the WAL: check sees it."""
    latest = len(discover_migrations())
    with closing(sqlite3.connect(host["DATABASE_PATH"])) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA user_version = {latest + 1}")
        assert Path(host["DATABASE_PATH"] + "-wal").stat().st_size > 0
        problems = failed(run_checks(host, base_dir=tmp_path))
    assert "newer than this code" in problems["schema"]


def test_not_a_database(host, tmp_path):
    Path(host["DATABASE_PATH"]).write_bytes(b"hello, this is not SQLite" * 10)
    assert "not an SQLite database" in failed(run_checks(host, base_dir=tmp_path))["schema"]


def test_broken_prompt_file(host, tmp_path):
    """A broken prompts file is named with where the problem is."""
    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, prompts)
    (prompts / "agreements.toml").write_text("this is = = not toml\n", encoding="utf-8")
    problems = failed(run_checks(host, base_dir=tmp_path, prompts_dir=prompts))
    assert list(problems) == ["prompt files"]
    assert "agreements.toml" in problems["prompt files"]


def test_exit_status_when_something_is_wrong(host, tmp_path, monkeypatch, capsys):
    """Any check to fix makes the command exit non-zero and say how many."""
    monkeypatch.chdir(tmp_path)
    for name, value in host.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DISCORD_TOKEN")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "FIX  token:" in out
    assert out.strip().endswith("1 of 6 to fix.")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_service_unit_verifies_cleanly(tmp_path):
    """The unit has no unknown keys or bad values: systemd-analyze prints nothing at all."""
    env_file = tmp_path / "circlekeeper.env"
    env_file.write_text("DISCORD_TOKEN=\n", encoding="utf-8")
    text = UNIT.read_text(encoding="utf-8")
    for real, here in {
        "/etc/circlekeeper/circlekeeper.env": str(env_file),
        "/opt/circlekeeper/.venv/bin/python": shutil.which("python3") or "/usr/bin/python3",
        "/var/lib/circlekeeper": str(tmp_path),
        "/opt/circlekeeper/README.md": str(REPO / "README.md"),
    }.items():
        assert real in text
        text = text.replace(real, here)
    unit = tmp_path / "circlekeeper.service"
    unit.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout + result.stderr == ""


def test_service_unit_hardening():
    """The unit keeps the bot to its own user and its data folder, with private files."""
    text = UNIT.read_text(encoding="utf-8")
    for line in (
        "User=circlekeeper",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=circlekeeper",
        "Restart=on-failure",
        "EnvironmentFile=/etc/circlekeeper/circlekeeper.env",
    ):
        assert line in text.splitlines(), line
    assert "StartLimitIntervalSec=" in text and "StartLimitBurst=" in text
    assert "ReadWritePaths" not in text  # the data folder is the one writable path
