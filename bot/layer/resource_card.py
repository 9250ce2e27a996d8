"""The resource card: support services shown by /resources, the "I need a break" card and a
circle's closing message — one card, so every place shows the same services.

Each entry says first what the service says about contacting police, then how to reach it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.decks import POLICE_MAY, Resource, police_words
from bot.services import safety

if TYPE_CHECKING:
    from bot.client import CircleBot

CARD_COLOUR = discord.Colour.from_rgb(120, 160, 130)

EMERGENCY_NOTE = (
    "The services Circlekeeper lists are in the United States, and none of them is an "
    "emergency service. In the US, calling 911 sends police as well as medical help."
)


def resource_line(resource: Resource) -> str:
    """One entry: name, then the police policy, then the contact and the rest."""
    where = f" ({resource.region})" if resource.region else ""
    link = f" · {resource.url}" if resource.url else ""
    lines = [f"**{resource.name}**{where}", f"*Police:* {police_words(resource)}"]
    if resource.about:
        lines.append(resource.about)
    lines.append(f"*Contact:* {resource.contact}{link}")
    lines.append(f"*Confidentiality:* {resource.confidentiality}")
    if resource.checked:
        lines.append(f"-# Checked against its own page on {resource.checked.isoformat()}.")
    return "\n".join(lines)


def non_police_note(resources: Sequence[Resource]) -> str:
    """Name the listed services that are not police and don't say they share with police."""
    names = [r.name for r in resources if r.police != POLICE_MAY]
    if not names:
        return ""
    return (
        "To talk to someone without calling 911, this card lists: "
        + "; ".join(names)
        + ". None of them is the police; each entry first says what the service itself says "
        "about contacting police."
    )


async def resource_embed(bot: CircleBot, guild_id: int | None) -> discord.Embed:
    """This server's own services first, then the shipped ones."""
    own = [r for _, r in await safety.server_resources(bot.db, guild_id)] if guild_id else []
    listed = [*own, *bot.library.resources]
    head = [
        "You don't have to explain anything to anyone to use these.",
        EMERGENCY_NOTE,
    ]
    note = non_police_note(listed)
    if note:
        head.append(note)
    lines = [resource_line(r) for r in listed]
    embed = discord.Embed(title="Support", colour=CARD_COLOUR)
    embed.description = ("\n".join(head) + "\n\n" + "\n\n".join(lines))[:4000]
    embed.set_footer(text="Servers add local services with /setup resources add.")
    return embed
