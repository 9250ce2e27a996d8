"""Shared fixtures: settings on a temporary database, the bot in simcord's simulated Discord,
and a small world (one server, its channels, a moderator role, members, a moderator, an admin).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import simcord
from discord import app_commands

from bot.client import CircleBot, create_bot
from bot.db import Database
from bot.services import config as config_service
from bot.settings import Settings

# Fixtures shared by the language tests (`locales`: each member's client locale).
pytest_plugins = ["tests.languages"]

TEST_SECRET = "5e" * 32


def make_settings(tmp_path: Path, **overrides: str) -> Settings:
    values = {
        "DATABASE_PATH": str(tmp_path / "circlekeeper.db"),
        "CIRCLEKEEPER_SECRET": TEST_SECRET,
        "SYNC_COMMANDS": "true",
        **overrides,
    }
    return Settings.from_env(values, base_dir=tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real, migrated SQLite database for service tests."""
    database = await Database.open(tmp_path / "service.db")
    try:
        yield database
    finally:
        await database.close()


@dataclass
class World:
    env: simcord.Env
    guild: simcord.GuildHandle
    general: simcord.ChannelHandle
    queue: simcord.ChannelHandle
    modlog: simcord.ChannelHandle
    moderators: simcord.RoleHandle
    alice: simcord.MemberActor
    bob: simcord.MemberActor
    carol: simcord.MemberActor
    mod: simcord.MemberActor
    admin: simcord.MemberActor
    bots: list[CircleBot]
    settings: Settings
    configured: bool = False

    @property
    def bot(self) -> CircleBot:
        return self.bots[-1]

    @property
    def db(self) -> Database:
        return self.bot.db

    async def restart(self) -> CircleBot:
        """Restart the bot process against the same simulated Discord and database."""
        new_bot = create_bot(self.settings)
        self.bots.append(new_bot)
        await self.env.restart_bot(new_bot)
        return new_bot

    async def configure(self) -> None:
        """Set the moderator role, queue and mod-log channels through /setup."""
        self.configured = True
        await self.admin.slash(self.general, "setup moderators", role=self.moderators)
        await self.admin.slash(self.general, "setup queue", channel=self.queue)
        await self.admin.slash(self.general, "setup modlog", channel=self.modlog)


def build_world(env: simcord.Env, bots: list[CircleBot], settings: Settings) -> World:
    guild = env.create_guild("Harbour")
    everyone = guild.default_role
    private = discord.PermissionOverwrite(view_channel=False)
    moderators = guild.create_role(
        "Moderators", permissions=discord.Permissions(view_channel=True, send_messages=True)
    )
    admin_role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    general = guild.create_text_channel("general")
    me = guild.me
    assert me is not None
    staff_only: dict[object, discord.PermissionOverwrite] = {
        everyone: private,
        me: discord.PermissionOverwrite(view_channel=True),
        moderators: discord.PermissionOverwrite(view_channel=True),
        admin_role: discord.PermissionOverwrite(view_channel=True),
    }
    queue = guild.create_text_channel("mod-queue", overwrites=staff_only)
    modlog = guild.create_text_channel("mod-log", overwrites=staff_only)
    return World(
        env=env,
        guild=guild,
        general=general,
        queue=queue,
        modlog=modlog,
        moderators=moderators,
        alice=guild.add_member(env.create_user("alice", global_name="Alice A")),
        bob=guild.add_member(env.create_user("bob", global_name="Bob B")),
        carol=guild.add_member(env.create_user("carol", global_name="Carol C")),
        mod=guild.add_member(env.create_user("mona", global_name="Mona Mod"), roles=[moderators]),
        admin=guild.add_member(env.create_user("ada", global_name="Ada Admin"), roles=[admin_role]),
        bots=bots,
        settings=settings,
    )


def unexpected_errors(env: simcord.Env) -> list[BaseException]:
    """Errors that reached an error handler as failures. Refusals never do (they are answered
    where they are raised); a failed permission check before a command is the tree's own."""
    return [error for error in env.errors if not isinstance(error, app_commands.CheckFailure)]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """The bot running in a simulated server. Unexpected errors fail the test at teardown."""
    bots = [create_bot(settings)]
    env = simcord.Env(bots[0])
    await env.start()
    try:
        world = build_world(env, bots, settings)
        # These tests look at what a post shows and where it goes, so posts go out at once;
        # tests about timing set a delay, and tests/test_attacks.py keeps the server default.
        await config_service.set_delay(world.db, world.guild.id, 0)
        yield world
    finally:
        await env.shutdown()
        for bot in bots:
            await bot.close()
    problems = unexpected_errors(env)
    if problems:
        raise problems[0]


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG, from every logger."""
    caplog.set_level(logging.DEBUG)
    return caplog


Action = Callable[[], Awaitable[object]]
