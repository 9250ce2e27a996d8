"""What check-in, rounds and pauses share: how their errors, times and quotes read, and
how they reach the circle's thread and the circles cog's clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.errors import UserFacingError
from bot.services.anonymous import AnonError
from bot.services.circles import Circle
from bot.services.structure import StructureError

if TYPE_CHECKING:
    from bot.client import CircleBot

STRUCTURE_COLOUR = discord.Colour.from_rgb(163, 190, 140)
MAX_QUOTE = 1500


def user_error(error: StructureError | AnonError) -> UserFacingError:
    return UserFacingError(error.message if isinstance(error, AnonError) else str(error))


def local_time(moment: datetime) -> str:
    """A time every member sees in their own timezone."""
    return f"<t:{int(moment.timestamp())}:t>"


def quote_block(text: str, heading: str) -> str:
    body = text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"
    return f"**{heading}**\n" + "\n".join(f"> {line}" for line in body.splitlines())


async def thread_of(bot: CircleBot, circle: Circle) -> discord.Thread | None:
    # Imported on use: the circles cog imports the structure modules.
    from cogs.circles.cog import get_thread

    return await get_thread(bot, circle)


def wake_clock(bot: CircleBot, due: datetime) -> None:
    """Make the circles cog's clock run by `due` (it sleeps until the next thing ends)."""
    wake = getattr(bot.get_cog("Circles"), "wake_clock", None)
    if wake is not None:
        wake(due)
