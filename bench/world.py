"""The simulated server every simcord benchmark uses, the same for our bot and the bare one,
and the small actions (open a circle, join, post) that set a scene up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import discord
import simcord

POST_TEXT = "The raids made everyone less safe, not more, and I want to say why here."


@dataclass
class World:
    env: simcord.Env
    guild: simcord.GuildHandle
    general: simcord.ChannelHandle
    queue: simcord.ChannelHandle
    modlog: simcord.ChannelHandle
    moderators: simcord.RoleHandle
    mod: simcord.MemberActor
    admin: simcord.MemberActor
    members: list[simcord.MemberActor]


def build_world(env: simcord.Env, members: int) -> World:
    """One server: #general, staff-only #mod-queue and #mod-log, a moderator, an admin, and
    `members` ordinary members."""
    guild = env.create_guild("Harbour")
    moderators = guild.create_role(
        "Moderators", permissions=discord.Permissions(view_channel=True, send_messages=True)
    )
    admin_role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    general = guild.create_text_channel("general")
    me = guild.me
    assert me is not None
    staff_only: dict[object, discord.PermissionOverwrite] = {
        guild.default_role: discord.PermissionOverwrite(view_channel=False),
        me: discord.PermissionOverwrite(view_channel=True),
        moderators: discord.PermissionOverwrite(view_channel=True),
        admin_role: discord.PermissionOverwrite(view_channel=True),
    }
    return World(
        env=env,
        guild=guild,
        general=general,
        queue=guild.create_text_channel("mod-queue", overwrites=staff_only),
        modlog=guild.create_text_channel("mod-log", overwrites=staff_only),
        moderators=moderators,
        mod=guild.add_member(env.create_user("mona"), roles=[moderators]),
        admin=guild.add_member(env.create_user("ada"), roles=[admin_role]),
        members=[guild.add_member(env.create_user(f"member{n}")) for n in range(members)],
    )


async def start(bot: discord.Client, members: int) -> World:
    """The bot in a fresh simulated Discord with `members` members."""
    env = simcord.Env(bot, check_errors=False)
    try:
        await env.start()
    except BaseException:
        await bot.close()  # or the bot's database thread keeps the process alive
        raise
    return build_world(env, members)


async def stop(world: World, bot: discord.Client) -> None:
    """Shut the simulated Discord down, close the bot, and refuse a run that hit errors."""
    errors = list(world.env.errors)
    await world.env.shutdown()
    await bot.close()
    # Let aiosqlite's thread and discord.py's tasks finish before the next run starts.
    await asyncio.sleep(0)
    if errors:
        raise errors[0]


async def configure(world: World) -> None:
    """Our bot's /setup: moderator role, queue and mod-log channels, and no delivery delay
    (the benchmarks time the work of posting, not the random wait before a post appears)."""
    await world.admin.slash(world.general, "setup moderators", role=world.moderators)
    await world.admin.slash(world.general, "setup queue", channel=world.queue)
    await world.admin.slash(world.general, "setup modlog", channel=world.modlog)
    await world.admin.slash(world.general, "setup delay", max_seconds=0)


async def open_circle(
    world: World, name: str, *, bare: bool = False
) -> tuple[simcord.ChannelHandle, discord.Message]:
    """A moderator opens a circle (ours) or a thread with a Join card (bare)."""
    command = "open" if bare else "circle create"
    result = await world.mod.slash(world.general, command, name=name)
    assert result.ephemeral, result
    thread = next(t for t in world.general.threads if t.name == name)
    card = world.general.last_message
    assert card is not None
    return thread, card


async def join(member: simcord.MemberActor, card: discord.Message) -> None:
    """Join, then I agree: the same two clicks on both bots."""
    shown = await member.click(card, label="Join")
    assert shown.ephemeral, shown
    agreed = await member.click(shown.response.message, label="I agree")
    assert agreed.acknowledged, agreed


async def post(
    member: simcord.MemberActor,
    thread: simcord.ChannelHandle,
    text: str = POST_TEXT,
    *,
    bare: bool = False,
) -> None:
    """Open the post modal and submit it: the same two actions on both bots."""
    shown = await member.slash(thread, "post" if bare else "anon post")
    assert shown.modal is not None, shown
    done = await member.submit_modal(shown, {"message": text, "content_note": ""})
    assert done.ephemeral, done
