"""What check-in, rounds and pauses share: how their times and quotes read. (The thread is
reached with `bot.layer.threads.get_thread`, the clock is `bot.clock`.)
"""

from __future__ import annotations

from datetime import datetime

import discord

STRUCTURE_COLOUR = discord.Colour.from_rgb(163, 190, 140)
MAX_QUOTE = 1500


def local_time(moment: datetime) -> str:
    """A time every member sees in their own timezone."""
    return f"<t:{int(moment.timestamp())}:t>"


def quote_block(text: str, heading: str) -> str:
    body = text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"
    return f"**{heading}**\n" + "\n".join(f"> {line}" for line in body.splitlines())
