"""A clean departure: a server's data goes a grace period after the bot leaves it (and stays
when the bot comes back), across restarts; and `python -m bot forget-user`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.__main__ import forget_user
from bot.db import Database
from bot.services import config as config_service
from bot.services import departures, modlog
from bot.settings import Settings
from tests.conftest import World
from tests.test_circles import join, open_circle

HOUR = 3600
DAY = 24 * HOUR
NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def wait(world: World, seconds: float) -> None:
    """Let simulated time pass a day at a time (each step settles within simcord's limit).

    The once-a-minute WAL scrubber is stopped first: a week of it is ten thousand passes and
    most of the run time, and the purge empties the WAL itself."""
    safety_cog = world.bot.get_cog("Safety")
    if safety_cog is not None:
        safety_cog.scrubber.cancel()  # type: ignore[attr-defined]
    while seconds > 0:
        step = min(seconds, DAY)
        await world.env.advance_time(step)
        seconds -= step


async def rows_of(db: Database, guild_id: int) -> dict[str, int]:
    """Rows per table that belong to the server (directly, or through one of its circles)."""
    counts: dict[str, int] = {}
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    circles = "SELECT id FROM circles WHERE guild_id = ?"
    for row in tables:
        table = row["name"]
        columns = {c["name"] for c in await db.fetchall(f"PRAGMA table_info({table})")}
        if "guild_id" in columns:
            counts[table] = await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE guild_id = ?", (guild_id,)
            )
        elif "circle_id" in columns:
            counts[table] = await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE circle_id IN ({circles})", (guild_id,)
            )
    return {t: n for t, n in counts.items() if n}


async def busy_server(world: World) -> None:
    """A server with a circle, members, an anonymous post, settings and mod-log rows."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    await join(world, world.bob, card)
    shown = await world.alice.slash(thread, "anon post")
    await world.alice.submit_modal(
        shown, {"message": "something I wanted to say", "content_note": ""}
    )
    await world.admin.slash(world.general, "setup join_gate", account_days=3)
    await world.mod.slash(thread, "circle admit", member=world.carol)


async def test_removal_purges_after_the_grace_period_only(world: World) -> None:
    """After the bot is removed nothing is deleted for an hour; after 7 days everything is."""
    await busy_server(world)
    guild_id = world.guild.id
    before = await rows_of(world.db, guild_id)
    assert {"circles", "memberships", "anon_posts", "mod_log", "circle_admissions"} <= set(before)

    world.env.backend.remove_guild(guild_id)
    await wait(world, HOUR)
    kept = await rows_of(world.db, guild_id)
    assert kept == {**before, "guild_departures": 1}

    await wait(world, departures.GRACE.total_seconds())
    assert await rows_of(world.db, guild_id) == {}


async def test_purge_survives_a_restart_during_the_grace_period(world: World) -> None:
    """The purge is stored: a restart neither forgets nor postpones it."""
    await busy_server(world)
    guild_id = world.guild.id
    world.env.backend.remove_guild(guild_id)
    await wait(world, HOUR)
    due = (await departures.pending(world.db))[guild_id]

    await world.restart()
    await wait(world, DAY)
    assert (await departures.pending(world.db))[guild_id] == due
    assert "circles" in await rows_of(world.db, guild_id)

    await wait(world, departures.GRACE.total_seconds() - DAY)
    assert await rows_of(world.db, guild_id) == {}


async def test_start_up_schedules_a_purge_for_a_server_the_bot_is_not_in(world: World) -> None:
    """Data for a server the bot left while it was offline is purged after the grace period;
    the server it is in keeps everything."""
    await busy_server(world)
    gone = 1234567890123456789
    await config_service.set_delay(world.db, gone, 30)
    await modlog.record(
        world.db, guild_id=gone, moderator_id=5, action="warn", target_user_id=6, now=NOW
    )
    await world.restart()
    assert set(await departures.pending(world.db)) == {gone}

    await wait(world, departures.GRACE.total_seconds() + HOUR)
    assert await rows_of(world.db, gone) == {}
    assert "circles" in await rows_of(world.db, world.guild.id)


async def test_coming_back_cancels_the_purge(world: World) -> None:
    """A server the bot is in again (joined, or found at start) keeps everything."""
    await busy_server(world)
    guild_id = world.guild.id
    before = await rows_of(world.db, guild_id)
    # Purges that would fall due within the hour.
    almost_over = world.env.now() - departures.GRACE + timedelta(hours=1)
    await departures.schedule(world.db, guild_id, now=almost_over)
    await world.restart()
    assert await departures.pending(world.db) == {}

    await departures.schedule(world.db, guild_id, now=almost_over)
    guild = world.bot.get_guild(guild_id)
    assert guild is not None
    world.bot.dispatch("guild_join", guild)
    await world.env.advance_time(1)  # long before the purger's next pass
    assert await departures.pending(world.db) == {}
    await wait(world, 2 * HOUR)
    assert await departures.pending(world.db) == {}
    assert await rows_of(world.db, guild_id) == before


# --- the service -------------------------------------------------------------------------


def test_only_servers_on_our_shards_are_ours() -> None:
    """With shards, a server belongs to shard (id >> 22) % count; without, all are ours."""
    guild_id = (7 << 22) | 99
    assert departures.owns_guild(guild_id, None, None)
    assert departures.owns_guild(guild_id, 4, [3])
    assert not departures.owns_guild(guild_id, 4, [0, 1, 2])


async def test_schedule_needs_data_and_keeps_the_first_date(db: Database) -> None:
    """Nothing is stored for a server without data; a second notice never postpones."""
    assert await departures.schedule(db, 1, now=NOW) is None
    assert await departures.pending(db) == {}
    await config_service.set_delay(db, 1, 10)
    first = await departures.schedule(db, 1, now=NOW)
    assert first == NOW + departures.GRACE
    assert await departures.schedule(db, 1, now=NOW + timedelta(days=3)) == first
    assert await departures.due(db, now=first - timedelta(seconds=1)) == []
    assert await departures.due(db, now=first) == [1]
    assert await departures.cancel(db, 1)
    assert not await departures.cancel(db, 1)


async def test_purge_leaves_other_servers_alone(db: Database) -> None:
    """Only the departed server's rows go."""
    for guild_id in (1, 2):
        await config_service.set_delay(db, guild_id, 10)
        await modlog.record(db, guild_id=guild_id, moderator_id=5, action="x", now=NOW)
    purged = await departures.purge(db, 1)
    assert purged.rows == {"guild_config": 1, "mod_log": 1}
    assert await departures.guilds_with_data(db) == {2}


# --- forget-user -------------------------------------------------------------------------


async def test_forget_user_deletes_named_rows_and_says_what_it_cannot(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """forget-user removes what /mydata delete would, prints it per table, and leaves the
    anonymous rows (which it cannot find) alone."""
    await busy_server(world)
    await modlog.record(
        world.db,
        guild_id=world.guild.id,
        moderator_id=world.mod.id,
        action="warn",
        target_user_id=world.alice.id,
        now=NOW,
    )
    anon_before = await world.db.fetchval("SELECT count(*) FROM anon_posts")
    assert await asyncio.to_thread(forget_user, world.settings, str(world.alice.id), None) == 0
    out = capsys.readouterr().out
    assert "memberships: 1 row deleted" in out
    assert "mod_log.target_user_id: id cleared in 1 row" in out
    assert "cannot do" in out and "anonymous posts" in out and "Discord" in out
    for table, column in [
        ("memberships", "user_id"),
        ("mod_log", "target_user_id"),
        ("circle_keepers", "user_id"),
    ]:
        assert not await world.db.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = ?", (world.alice.id,)
        )
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == anon_before
    assert await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.bob.id,)
    )


async def test_forget_user_without_data_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id with no data (or data only in another server) is left as it is, and said so."""
    await busy_server(world)
    before = await rows_of(world.db, world.guild.id)
    assert await asyncio.to_thread(forget_user, world.settings, "123456789012345678", None) == 0
    assert "holds nothing stored by user id 123456789012345678" in capsys.readouterr().out
    elsewhere = await asyncio.to_thread(
        forget_user, world.settings, str(world.alice.id), "987654321098765432"
    )
    assert elsewhere == 0
    assert "Nothing was changed" in capsys.readouterr().out
    assert await rows_of(world.db, world.guild.id) == before


@pytest.mark.parametrize(
    "bad", ["abc", "-5", "12", "1" * 25, "１２３４５６７８９０１２３４５６７８", ""]
)
def test_forget_user_refuses_a_malformed_id(
    settings: Settings, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """A malformed id gets a plain message and exit status 2; no database is created."""
    assert forget_user(settings, bad, None) == 2
    assert "Discord id" in capsys.readouterr().err
    assert not settings.database_path.exists()


def test_forget_user_refuses_a_malformed_server_id(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """--guild is checked the same way."""
    assert forget_user(settings, "123456789012345678", "x1") == 2
    assert "--guild must be a Discord id" in capsys.readouterr().err
