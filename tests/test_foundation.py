"""Settings, migrations, the entry point, the error handler and the cog meta-checks."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from discord import app_commands
from discord.ext import commands

from bot import __main__ as entry
from bot.client import EXTENSIONS, create_bot
from bot.db import Database, DatabaseError, Migration, discover_migrations
from bot.layer.errors import UserFacingError
from bot.settings import Settings, SettingsError
from tests.conftest import make_settings

# --- settings ----------------------------------------------------------------------------


def test_settings_defaults_resolve_from_the_working_folder(tmp_path: Path) -> None:
    """With nothing set, the database and a new 0600 secret file live under data/."""
    settings = Settings.from_env({}, base_dir=tmp_path)
    assert settings.discord_token is None
    assert settings.database_path == tmp_path / "data" / "circlekeeper.db"
    assert settings.database_path.parent.is_dir()
    assert settings.secret_file == tmp_path / "data" / "secret.key"
    assert len(settings.secret) == 32
    assert stat.S_IMODE(settings.secret_file.stat().st_mode) == 0o600
    again = Settings.from_env({}, base_dir=tmp_path)
    assert again.secret == settings.secret
    assert repr(settings.secret) not in repr(settings)


def test_secret_from_environment_overrides_the_file(tmp_path: Path) -> None:
    """CIRCLEKEEPER_SECRET (64 hex characters) is used instead of a file."""
    settings = Settings.from_env({"CIRCLEKEEPER_SECRET": "ab" * 32}, base_dir=tmp_path)
    assert settings.secret == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "data" / "secret.key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CIRCLEKEEPER_SECRET", "abc", "64 hexadecimal"),
        ("DEV_GUILD_ID", "not-a-number", "server id"),
        ("LOG_LEVEL", "LOUD", "one of"),
        ("SYNC_COMMANDS", "maybe", "true or false"),
        ("DISCORD_TOKEN", "short", "bot token"),
    ],
)
def test_bad_settings_name_the_variable(
    tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    """Each bad value is refused with the variable's name and what is wrong."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value}, base_dir=tmp_path)
    assert caught.value.variable == variable
    assert problem in str(caught.value)


def test_damaged_secret_file_is_refused(tmp_path: Path) -> None:
    """A secret file of the wrong size stops start-up instead of silently changing labels."""
    (tmp_path / "key").write_bytes(b"short")
    with pytest.raises(SettingsError, match="SECRET_FILE"):
        Settings.from_env({"SECRET_FILE": str(tmp_path / "key")}, base_dir=tmp_path)


def test_main_without_token_explains_and_rehearses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no token, start-up says how to get one and that this is an offline rehearsal."""
    started: list[bool] = []

    async def fake_rehearsal() -> None:
        started.append(True)

    monkeypatch.setattr("rehearsal.run_rehearsal", fake_rehearsal)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert entry.main([]) == 0
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err
    assert ".env" in err
    assert "offline rehearsal" in err
    assert "Traceback" not in err
    assert started == [True]
    # A rehearsal's secret and database are throwaway: nothing is written to the project,
    # and nothing asks the person to back anything up.
    assert not (tmp_path / "data").exists()
    assert "back" not in err.lower()


def test_sync_without_token_explains_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync` with no token says how to get one and exits 2 instead of trying to log in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert entry.main(["sync"]) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err


def test_main_with_bad_setting_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value ends start-up with one line naming the variable, exit code 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    assert entry.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("Configuration error: LOG_LEVEL")


# --- migrations --------------------------------------------------------------------------


async def test_fresh_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    """A new database gets every migration, in WAL mode with foreign keys on."""
    db = await Database.open(tmp_path / "fresh.db")
    try:
        assert await db.version() == len(discover_migrations())
        assert (await db.fetchval("PRAGMA journal_mode")) == "wal"
        assert (await db.fetchval("PRAGMA foreign_keys")) == 1
    finally:
        await db.close()
    assert not list(tmp_path.glob("*.bak-v*")), "an empty database needs no backup"


async def test_reopening_is_a_no_op(tmp_path: Path) -> None:
    """Opening an up-to-date database changes nothing and makes no backup."""
    path = tmp_path / "again.db"
    db = await Database.open(path)
    await db.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
    await db.close()
    db = await Database.open(path)
    try:
        assert await db.fetchval("SELECT count(*) FROM guild_config") == 1
    finally:
        await db.close()
    assert not list(tmp_path.glob("*.bak-v*"))


async def test_migrating_a_database_with_data_backs_it_up_first(tmp_path: Path) -> None:
    """Before a migration touches data, the old file is copied to <file>.bak-v<old version>."""
    path = tmp_path / "old.db"
    migrations = discover_migrations()
    db = await Database.open(path, migrations=migrations[:1])
    await db.execute("INSERT INTO guild_config (guild_id) VALUES (7)")
    await db.close()
    extra = tmp_path / "002_extra.sql"
    extra.write_text("CREATE TABLE extra (id INTEGER PRIMARY KEY);")
    db = await Database.open(path, migrations=[migrations[0], Migration(2, extra)])
    try:
        assert await db.version() == 2
    finally:
        await db.close()
    assert stat.S_IMODE((tmp_path / "old.db.bak-v1").stat().st_mode) == 0o600
    backup = sqlite3.connect(tmp_path / "old.db.bak-v1")
    try:
        assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
        assert backup.execute("SELECT guild_id FROM guild_config").fetchall() == [(7,)]
    finally:
        backup.close()


async def test_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    """A broken migration rolls back whole; the database stays at its old version."""
    path = tmp_path / "broken.db"
    migrations = discover_migrations()[:1]
    bad = tmp_path / "002_bad.sql"
    bad.write_text("CREATE TABLE half (id INTEGER);\nTHIS IS NOT SQL;")
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path, migrations=[*migrations, Migration(2, bad)])
    db = await Database.open(path, migrations=migrations)
    try:
        assert await db.version() == 1
        assert await db.fetchval("SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0
    finally:
        await db.close()


async def test_rollback_never_undoes_another_tasks_write(tmp_path: Path) -> None:
    """A write from one task is not swept into, or rolled back with, another's transaction."""
    db = await Database.open(tmp_path / "tx.db")
    inside = asyncio.Event()

    async def failing_transaction() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
            inside.set()
            await asyncio.sleep(0.05)
            raise RuntimeError("this transaction fails")

    async def other_write() -> None:
        await inside.wait()
        await db.execute("INSERT INTO guild_config (guild_id) VALUES (2)")

    try:
        results = await asyncio.gather(failing_transaction(), other_write(), return_exceptions=True)
        assert isinstance(results[0], RuntimeError)
        rows = await db.fetchall("SELECT guild_id FROM guild_config")
        assert [r[0] for r in rows] == [2]
        with pytest.raises(RuntimeError, match="already open"):
            async with db.transaction(), db.transaction():
                pass
    finally:
        await db.close()


async def test_a_unit_runs_many_queries_in_one_round_trip_and_all_or_nothing(
    tmp_path: Path,
) -> None:
    """`Database.unit` runs service code on the database thread in one hop: everything it
    wrote is there together, or (when it fails, or awaits anything but the database) none."""
    from bench.instrument import HandlerClock

    db = await Database.open(tmp_path / "unit.db")
    clock = HandlerClock()

    async def three(database: Database) -> int:
        for guild in (1, 2, 3):
            await database.execute("INSERT INTO guild_config (guild_id) VALUES (?)", (guild,))
        async with database.transaction():  # a savepoint inside the unit
            await database.execute("INSERT INTO guild_config (guild_id) VALUES (4)")
        return int(await database.fetchval("SELECT count(*) FROM guild_config"))

    async def fails(database: Database) -> None:
        await database.execute("INSERT INTO guild_config (guild_id) VALUES (9)")
        raise UserFacingError("refused")

    async def inner_fails(database: Database) -> None:
        try:
            async with database.transaction():
                await database.execute("INSERT INTO guild_config (guild_id) VALUES (7)")
                raise UserFacingError("inner")
        except UserFacingError:
            pass
        await database.execute("INSERT INTO guild_config (guild_id) VALUES (8)")

    async def sleeps(database: Database) -> None:
        await database.execute("INSERT INTO guild_config (guild_id) VALUES (10)")
        await asyncio.sleep(0.01)

    try:
        with clock.installed():
            assert await db.unit(three) == 4
        assert clock.db_round_trips == 1
        with pytest.raises(UserFacingError):
            await db.unit(fails)
        await db.unit(inner_fails)
        with pytest.raises(RuntimeError):
            await db.unit(sleeps)
        rows = await db.fetchall("SELECT guild_id FROM guild_config ORDER BY guild_id")
        assert [r[0] for r in rows] == [1, 2, 3, 4, 8]

        # Inside a transaction the task holds, a unit is simply part of it.
        async def one_more(database: Database) -> None:
            await database.execute("INSERT INTO guild_config (guild_id) VALUES (11)")

        with pytest.raises(UserFacingError):
            async with db.transaction():
                await db.unit(one_more)
                raise UserFacingError("the outer transaction fails")
        assert await db.fetchval("SELECT count(*) FROM guild_config") == 5
    finally:
        await db.close()


async def test_a_slow_query_gives_the_event_loop_back_and_errors_arrive_either_way(
    tmp_path: Path,
) -> None:
    """A query runs on the database thread: one that takes long (a slow disk, another
    process's lock) lets other tasks run meanwhile and still returns its result; an error
    reaches the caller whether the query was quick or slow."""
    db = await Database.open(tmp_path / "handoff.db")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    def slow(conn: sqlite3.Connection, seconds: float) -> int:
        time.sleep(seconds)  # the database thread is busy, as with a slow disk
        return int(conn.execute("SELECT 40 + 2").fetchone()[0])

    ticker = asyncio.create_task(ticking())
    try:
        await asyncio.sleep(0)
        before = ticks
        assert await db._run(lambda conn: slow(conn, 0.2)) == 42
        assert ticks > before + 10, "the event loop was held while the query ran"
        for seconds in (0.0, 0.05):

            def broken(conn: sqlite3.Connection, seconds: float = seconds) -> None:
                slow(conn, seconds)
                conn.execute("SELECT * FROM no_such_table")

            with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
                await db._run(broken)
        assert await db.fetchval("SELECT 1") == 1  # and the connection still works
    finally:
        ticker.cancel()
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    """A database from newer code is not touched; the message says what to do."""
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this code"):
        await Database.open(path)


# --- cogs and commands -------------------------------------------------------------------


async def test_every_cog_loads_with_unique_described_commands(world: Any) -> None:
    """Every extension loads; command names are unique; commands and options are described."""
    bot = world.bot
    assert set(EXTENSIONS) <= set(bot.extensions)
    seen: set[str] = set()
    for command in bot.tree.walk_commands():
        assert command.qualified_name not in seen, command.qualified_name
        seen.add(command.qualified_name)
        assert command.description and command.description != "…", command.qualified_name
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                assert parameter.description and parameter.description != "…", (
                    f"{command.qualified_name} {parameter.name}"
                )


# --- the error handler -------------------------------------------------------------------


class Faulty(commands.Cog):
    @app_commands.command(name="refuse")
    async def refuse(self, interaction: discord.Interaction[Any]) -> None:
        """Always refuses."""
        raise UserFacingError("That circle is closed.")

    @app_commands.command(name="boom")
    async def boom(self, interaction: discord.Interaction[Any]) -> None:
        """Always fails unexpectedly."""
        raise RuntimeError("internal detail that users must not see")

    @app_commands.command(name="late_boom")
    async def late_boom(self, interaction: discord.Interaction[Any]) -> None:
        """Fails after deferring."""
        await interaction.response.defer(ephemeral=True)
        raise UserFacingError("Refused after thinking about it.")


async def test_errors_reach_the_user_privately_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal and an unexpected exception both become private, plain replies; only the
    unexpected one reaches the command tree's error handler as a failure."""
    bot = create_bot(make_settings(tmp_path))
    await bot.add_cog(Faulty())
    try:
        async with simcord.run(bot) as env:
            guild = env.create_guild()
            channel = guild.create_text_channel("general")
            alice = guild.add_member(env.create_user("alice"))

            refused = await alice.slash(channel, "refuse")
            assert refused.ephemeral
            assert refused.response.content == "That circle is closed."
            assert env.errors == []  # a refusal is an answer, not a failure

            failed = await alice.slash(channel, "boom")
            assert failed.ephemeral
            assert failed.response.content.startswith("Something went wrong (error id ")
            assert "internal detail" not in failed.response.content
            assert "Traceback" not in failed.response.content
            simcord.assert_error(env, RuntimeError, contains="internal detail")

            deferred = await alice.slash(channel, "late_boom")
            assert deferred.ephemeral
            assert deferred.response.content == "Refused after thinking about it."
    finally:
        await bot.close()
    error_id = failed.response.content.split("error id ")[1].split(")")[0]
    assert any(error_id in record.getMessage() for record in caplog.records)
