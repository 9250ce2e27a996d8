"""Pause: a grounding text, and the thread locked until the pause ends.

"I need a break" is in `bot.layer.breaks` (its button is on cards and prompts alike).
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer.access import keeper_here
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import circle_language, member_language, tr
from bot.layer.threads import get_thread
from bot.services import circles, structure
from cogs.circles.common import STRUCTURE_COLOUR, local_time

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

NO_MANAGE_THREADS = N_(
    "I can't lock this thread: I need the Manage Threads permission here. "
    "A server admin can grant it in the channel or role settings. Nothing was changed."
)


async def pause(bot: CircleBot, interaction: discord.Interaction[Any], minutes: int) -> None:
    """`/circle pause`: a grounding text, and the thread locked until the pause ends."""
    here = await keeper_here(bot, interaction)
    structure.check_pause_minutes(minutes)
    previous = await structure.get_pause(bot.db, here.circle.id)
    if here.thread.locked and previous is None:
        raise UserFacingError(
            N_(
                "This thread is locked already, and not by a pause. Unlock it first if you want "
                "to pause, so the pause doesn't unlock it when it ends."
            )
        )
    me = here.thread.guild.me
    if me is not None and not here.thread.permissions_for(me).manage_threads:
        raise UserFacingError(NO_MANAGE_THREADS)
    now = discord.utils.utcnow()
    scheduled = await structure.schedule_pause(bot.db, here.circle.id, minutes=minutes, now=now)
    try:
        await here.thread.edit(locked=True)
    except discord.HTTPException as error:
        await structure.restore_pause(bot.db, here.circle.id, previous)
        if isinstance(error, discord.Forbidden):
            raise UserFacingError(NO_MANAGE_THREADS) from None
        raise UserFacingError(
            N_("Discord had a problem locking the thread. Nothing was changed; please try again.")
        ) from None
    bot.clock.wake(scheduled.ends_at)
    public = circle_language(here.circle)
    text = random.choice(bot.library_for(here.circle.language).grounding.pause_texts)
    ends = local_time(scheduled.ends_at)
    embed = discord.Embed(
        title=tr(
            public,
            "A pause of 1 minute" if minutes == 1 else "A pause of {minutes} minutes",
            minutes=minutes,
        ),
        description=text + "\n\n" + tr(public, "The thread opens again at {time}.", time=ends),
        colour=STRUCTURE_COLOUR,
    )
    try:
        await here.thread.send(embed=embed, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning(
            "Could not post the pause text in circle %s (HTTP %s)", here.circle.id, error.status
        )
    await interaction.response.send_message(
        tr(
            member_language(interaction),
            "The thread is locked until {time}; I'll unlock it then by myself.",
            time=ends,
        ),
        ephemeral=True,
    )


async def end_pause(bot: CircleBot, circle_id: int) -> None:
    """Unlock a paused thread whose time is up. A closed circle stays locked."""
    circle = await circles.get_circle(bot.db, circle_id)
    thread = await get_thread(bot, circle) if circle is not None and circle.is_open else None
    if circle is None or thread is None:
        await structure.clear_pause(bot.db, circle_id)
        return
    try:
        await thread.edit(locked=False)
    except (discord.Forbidden, discord.NotFound) as error:
        await structure.clear_pause(bot.db, circle_id)
        log.warning("Could not unlock circle %s after a pause (HTTP %s)", circle_id, error.status)
        return
    except discord.HTTPException as error:
        log.warning("Unlocking circle %s failed (HTTP %s); will retry", circle_id, error.status)
        return
    await structure.clear_pause(bot.db, circle_id)
    now = discord.utils.utcnow()
    await structure.restart_turn_clock(bot.db, circle_id, now=now)
    try:
        await thread.send(
            tr(
                circle_language(circle),
                "The pause is over and the thread is open again. Welcome back; take your time.",
            ),
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as error:
        log.warning("Could not announce the end of a pause (HTTP %s)", error.status)
