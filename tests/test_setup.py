"""`/setup` and `/about` end to end in the simulated Discord."""

from __future__ import annotations

from pathlib import Path

import pytest
import simcord

from bot.db import Database, discover_migrations
from bot.services.config import DEFAULT_DELAY_SECONDS, DELAY_NOTICE, get_config, pending_notices
from tests.conftest import World


async def test_setup_saves_settings_and_logs_each_change(world: World) -> None:
    """An admin's /setup changes are stored, shown back privately and posted to the mod log."""
    await world.configure()
    result = await world.admin.slash(world.general, "setup retention", days=90)
    assert result.ephemeral
    assert "90 days" in result.response.content

    shown = await world.admin.slash(world.general, "setup show")
    text = shown.response.content
    assert shown.ephemeral
    assert f"<@&{world.moderators.id}>" in text
    assert f"<#{world.queue.id}>" in text
    assert f"<#{world.modlog.id}>" in text
    assert "90 days" in text

    # Every change is stored; those made once the mod-log channel existed are posted there too.
    stored = await world.db.fetchall("SELECT details FROM mod_log ORDER BY id")
    assert [row["details"].split(" set to")[0] for row in stored] == [
        "moderator role",
        "queue channel",
        "mod-log channel",
        "retention",
    ]
    logged = [m.content for m in world.modlog.history()]
    assert any("mod-log channel set to" in line for line in logged)
    assert any("retention set to 90 days" in line for line in logged)
    assert all(f"<@{world.admin.id}>" in line for line in logged)


async def test_setup_delay_and_ping_are_stored(world: World) -> None:
    """The anonymous delay and moderator mentions are per-server settings."""
    await world.admin.slash(world.general, "setup delay", max_seconds=120)
    await world.admin.slash(world.general, "setup ping_moderators", enabled=True)
    shown = await world.admin.slash(world.general, "setup show")
    assert "up to 120 seconds" in shown.response.content
    assert "role on new queue items: yes" in shown.response.content


async def test_setup_is_hidden_from_members(world: World) -> None:
    """A member without Manage Server cannot even see /setup."""
    with pytest.raises(simcord.SetupError, match="not visible"):
        await world.alice.slash(world.general, "setup show")


async def test_setup_refused_by_bot_check_when_discord_shows_it(world: World) -> None:
    """If a server override shows /setup to a member, the bot still refuses them."""
    commands = await world.bot.tree.fetch_commands()
    setup_command = next(c for c in commands if c.name == "setup")
    world.guild.set_command_permissions(setup_command, {world.alice: True})
    result = await world.alice.slash(world.general, "setup retention", days=5)
    assert result.ephemeral
    assert "Manage Server" in result.response.content
    shown = await world.admin.slash(world.general, "setup show")
    assert "30 days" in shown.response.content


async def test_setup_channel_the_bot_cannot_post_in_is_refused(world: World) -> None:
    """Choosing a channel the bot cannot write to gets a clear private message."""
    import discord

    hidden = world.guild.create_text_channel(
        "secret",
        overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)},
    )
    result = await world.admin.slash(world.general, "setup queue", channel=hidden)
    assert result.ephemeral
    assert "can't post" in result.response.content
    shown = await world.admin.slash(world.general, "setup show")
    assert "Queue channel (held anonymous posts, reports): not set" in shown.response.content


async def test_about_explains_the_anonymity_promise(world: World) -> None:
    """/about says who can and cannot unmask an anonymous post."""
    result = await world.alice.slash(world.general, "about")
    assert result.ephemeral
    text = result.response.content
    assert "Moderators, other members, and anyone holding only the bot's database" in text
    assert "strict" in text
    assert len(text) <= 2000
    limits = [e for e in result.response.embeds if e.title == "Honest limits"]
    assert limits and "not a crisis service" in (limits[0].description or "")


async def test_upgrade_turns_the_delay_on_for_servers_that_had_none(tmp_path: Path) -> None:
    """The upgrade gives servers with no delay the new default and owes each one notice;
    a server that chose its own delay keeps it and is owed nothing."""
    path = tmp_path / "old.db"
    old = await Database.open(path, migrations=discover_migrations()[:8])
    await old.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
    await old.execute("INSERT INTO guild_config (guild_id, delay_max_seconds) VALUES (2, 45)")
    await old.close()
    db = await Database.open(path)
    try:
        assert (await get_config(db, 1)).delay_max_seconds == DEFAULT_DELAY_SECONDS
        assert (await get_config(db, 2)).delay_max_seconds == 45
        assert await pending_notices(db, DELAY_NOTICE) == [1]
        await db.execute("INSERT INTO guild_config (guild_id) VALUES (3)")
        assert (await get_config(db, 3)).delay_max_seconds == DEFAULT_DELAY_SECONDS
    finally:
        await db.close()


async def test_delay_notice_goes_to_the_mod_log_once(world: World) -> None:
    """A server owed the delay notice gets it in its mod log after the next start, and only
    once; /setup show then says what turning the delay off would cost."""
    await world.configure()
    await world.db.execute(
        "INSERT INTO pending_notices (guild_id, kind) VALUES (?, ?)", (world.guild.id, DELAY_NOTICE)
    )
    await world.restart()
    await world.env.advance_time(1)
    notices = [m for m in world.modlog.history() if "now wait a random time" in m.content]
    assert len(notices) == 1 and "/setup delay" in notices[0].content
    await world.restart()
    await world.env.advance_time(1)
    assert len([m for m in world.modlog.history() if "now wait a random time" in m.content]) == 1
    shown = await world.admin.slash(world.general, "setup show")
    assert "guess who wrote it" in shown.response.content  # the fixture's delay is 0
