"""Circles: the `/circle` command group, the circle card and its buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import CircleBot


async def setup(bot: CircleBot) -> None:
    from cogs.circles.cog import setup as setup_cog

    await setup_cog(bot)
