"""Offline rehearsal: the real bot, all its cogs, in a simulated Discord server.

Used when there is no DISCORD_TOKEN. `run_rehearsal` serves simcord's browser preview of a
seeded circle; `run_demo` plays a whole circle and prints what each person saw. Both use a
temporary database of their own, never the live one. Imported only in those cases, so the
live bot never imports simcord (installed with the `rehearsal` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import discord
import simcord

from bot.client import CircleBot, create_bot
from bot.logs import quiet_third_party_loggers
from bot.services import config as config_service
from bot.settings import Settings

log = logging.getLogger(__name__)

CIRCLE_NAME = "Rehearsal circle"
OverwriteTarget = (
    simcord.RoleHandle
    | simcord.MemberActor
    | simcord.UserHandle
    | discord.Role
    | discord.Member
    | discord.User
    | discord.ClientUser
)
CLOCK_TICK_SECONDS = 1.0

INTRO = """\
**Welcome to a Circlekeeper rehearsal.** Nothing here reaches Discord: this is the real bot in \
a simulated server, with a throwaway database. Switch viewers (top of the page) to see what the \
keeper (Kai), the members (River, Sam, Ash) and the moderator (Mo) each see; private replies \
show only to the person they were meant for.

Try `/prompt next`, `/anon post`, `/circle checkin` or `/circle round start`. The clock runs \
in real time, so turn timers, pauses and delayed posts fire as they would live.

What this page cannot show: message context menus ("Reply anonymously", "Report to \
moderators") and the moderators' queue channel. Run `make demo` to see those played through."""


@dataclass
class Stage:
    """The seeded simulated server."""

    env: simcord.Env
    bot: CircleBot
    guild: simcord.GuildHandle
    circles: simcord.ChannelHandle
    queue: simcord.ChannelHandle
    modlog: simcord.ChannelHandle
    keeper: simcord.MemberActor
    members: list[simcord.MemberActor]
    moderator: simcord.MemberActor
    thread: simcord.ChannelHandle

    @property
    def everyone(self) -> list[simcord.MemberActor]:
        return [self.keeper, *self.members, self.moderator]


def rehearsal_settings(folder: Path) -> Settings:
    """Settings for a throwaway database and a throwaway secret in `folder`."""
    return Settings.from_env(
        {
            "DATABASE_PATH": str(folder / "rehearsal.db"),
            "CIRCLEKEEPER_SECRET": secrets.token_hex(32),
            "SYNC_COMMANDS": "true",
        },
        base_dir=folder,
    )


@contextlib.asynccontextmanager
async def staged(*, open_circle: bool = True) -> AsyncIterator[Stage]:
    """Start the bot in a simulated server with a keeper, three members and a moderator.

    With `open_circle`, a public circle is open in #circles and everyone has agreed.
    Closes the bot and its database and removes the temporary folder on exit.
    """
    quiet_third_party_loggers()
    folder = Path(tempfile.mkdtemp(prefix="circlekeeper-rehearsal-"))
    bot = create_bot(rehearsal_settings(folder))
    env = simcord.Env(bot, check_errors=False)
    try:
        await env.start()
        stage = await _seed(env, bot, open_circle=open_circle)
        yield stage
    finally:
        with contextlib.suppress(Exception):
            await env.shutdown()
        await bot.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _seed(env: simcord.Env, bot: CircleBot, *, open_circle: bool) -> Stage:
    guild = env.create_guild("Rehearsal server")
    everyone = guild.default_role
    moderators = guild.create_role(
        "Moderators", permissions=discord.Permissions(manage_threads=True)
    )
    keepers = guild.create_role("Keepers", permissions=discord.Permissions(manage_threads=True))
    me = guild.me
    assert me is not None
    staff_only: dict[OverwriteTarget, discord.PermissionOverwrite] = {
        everyone: discord.PermissionOverwrite(view_channel=False),
        moderators: discord.PermissionOverwrite(view_channel=True),
        me: discord.PermissionOverwrite(view_channel=True),
    }
    circles_channel = guild.create_text_channel("circles")
    queue = guild.create_text_channel("mod-queue", overwrites=staff_only)
    modlog = guild.create_text_channel("mod-log", overwrites=staff_only)
    keeper = guild.add_member(env.create_user("kai", global_name="Kai (keeper)"), roles=[keepers])
    members = [
        guild.add_member(env.create_user(name.lower(), global_name=name))
        for name in ("River", "Sam", "Ash")
    ]
    moderator = guild.add_member(
        env.create_user("mo", global_name="Mo (moderator)"), roles=[moderators]
    )
    await config_service.set_moderator_role(bot.db, guild.id, moderators.id)
    await config_service.set_channel(bot.db, guild.id, "queue", queue.id)
    await config_service.set_channel(bot.db, guild.id, "modlog", modlog.id)
    thread = circles_channel
    if open_circle:
        await keeper.slash(circles_channel, "circle create", name=CIRCLE_NAME, private=False)
        thread = next(t for t in circles_channel.threads if t.name == CIRCLE_NAME)
        card = circles_channel.last_message
        assert card is not None
        for person in (*members, moderator):
            shown = await person.click(card, label="Join")
            assert shown.response is not None
            await person.click(shown.response.message, label="I agree")
        channel = bot.get_channel(thread.id)
        if isinstance(channel, discord.Thread):
            await channel.send(INTRO, allowed_mentions=discord.AllowedMentions.none())
            await env.settle()
    return Stage(
        env, bot, guild, circles_channel, queue, modlog, keeper, members, moderator, thread
    )


async def pump_clock(env: simcord.Env, tick: float = CLOCK_TICK_SECONDS) -> None:
    """Advance the simulated clock with real time, so timers fire as they would live."""
    while True:
        await asyncio.sleep(tick)
        try:
            await env.advance_time(tick)
        except simcord.SetupError:
            continue  # a person's action is in progress; catch up on the next tick
        except TimeoutError:
            log.warning("The simulated clock fell behind; continuing")


async def run_rehearsal(
    *,
    port: int | None = None,
    announce: bool = True,
    ready: Callable[[simcord.Preview], Awaitable[None]] | None = None,
) -> None:
    """Serve the browser preview until the page is closed or the process is interrupted.

    `ready` is awaited once the page is being served (tests use it to look at the page).
    """
    async with staged() as stage:
        preview = stage.env.preview(
            stage.thread, viewers=stage.everyone, layout="channel", port=port
        )
        async with preview:
            if announce:
                print("Offline rehearsal running. Open this address in a browser on this machine:")
                print(f"  {preview.url}")
                print(
                    "Anyone holding that address can drive the session; it works only from "
                    "this machine (127.0.0.1). Press Ctrl-C to stop."
                )
            clock = asyncio.create_task(pump_clock(stage.env))
            try:
                if ready is not None:
                    await ready(preview)
                await preview.wait_closed()
            finally:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock
