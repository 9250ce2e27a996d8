"""The resource card: support services shown by /resources, the "I need a break" card and a
circle's closing message — one card, so every place shows the same services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.decks import Resource
from bot.services import safety

if TYPE_CHECKING:
    from bot.client import CircleBot

CARD_COLOUR = discord.Colour.from_rgb(120, 160, 130)


def resource_line(resource: Resource) -> str:
    where = f" ({resource.region})" if resource.region else ""
    link = f" · {resource.url}" if resource.url else ""
    return (
        f"**{resource.name}**{where}: {resource.contact}{link}\n"
        f"*Confidentiality:* {resource.confidentiality}"
    )


async def resource_embed(bot: CircleBot, guild_id: int | None) -> discord.Embed:
    """This server's own services first, then the shipped ones."""
    own = [r for _, r in await safety.server_resources(bot.db, guild_id)] if guild_id else []
    lines = [resource_line(r) for r in (*own, *bot.library.resources)]
    embed = discord.Embed(title="Support", colour=CARD_COLOUR)
    embed.description = (
        "You don't have to explain anything to anyone to use these. Check each service's "
        "confidentiality note before sharing details.\n\n" + "\n\n".join(lines)
    )[:4000]
    embed.set_footer(text="Servers add local services with /setup resources add.")
    return embed
