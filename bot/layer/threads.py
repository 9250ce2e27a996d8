"""Reaching a circle's thread on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.services.circles import Circle

if TYPE_CHECKING:
    from bot.client import CircleBot


async def get_thread(
    bot: CircleBot, circle: Circle, *, forbidden_means_gone: bool = True
) -> discord.Thread | None:
    """The circle's thread, fetched if it is not cached; None if it was deleted.

    A refusal (403) also counts as gone, unless `forbidden_means_gone` is False: the outbox
    then gets the error, so a post waits for a permission to be fixed instead of being dropped.
    """
    if circle.thread_id is None:
        return None
    guild = bot.get_guild(circle.guild_id)
    thread = guild.get_thread(circle.thread_id) if guild else None
    if thread is not None:
        return thread
    try:
        channel = await bot.fetch_channel(circle.thread_id)
    except discord.NotFound:
        return None
    except discord.Forbidden:
        if not forbidden_means_gone:
            raise
        return None
    return channel if isinstance(channel, discord.Thread) else None
