"""The resource card: support services shown by /resources, the "I need a break" card and a
circle's closing message — one card, so every place shows the same services.

Each entry says first what the service says about contacting police, then how to reach it.
The card is written in its reader's language: our own words from the catalogue, the shipped
entries' texts from that language's copy of prompts/resources.toml (names, numbers and web
addresses are the organisations' own). A reader whose language is not English sees first the
shipped services that say they answer in it, the rest in the file's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from babel import Locale

from bot.decks import DEFAULT_CONFIDENTIALITY, POLICE_MAY, Resource, police_words
from bot.i18n import ENGLISH, N_, tr
from bot.services import safety

if TYPE_CHECKING:
    from bot.client import CircleBot

CARD_COLOUR = discord.Colour.from_rgb(120, 160, 130)

EMERGENCY_NOTE = N_(
    "The services Circlekeeper lists are in the United States, and none of them is an "
    "emergency service. In the US, calling 911 sends police as well as medical help."
)


def language_in(language: str, reader: str) -> str:
    """The name of `language` in the `reader`'s language: "Spanish", "español", "espanhol"."""
    name = Locale.parse(language.replace("-", "_")).get_display_name(
        Locale.parse(reader.replace("-", "_"))
    )
    return name or language


def resource_line(resource: Resource, language: str = ENGLISH) -> str:
    """One entry: name, then the police policy, then the contact and the rest."""
    where = f" ({resource.region})" if resource.region else ""
    link = f" · {resource.url}" if resource.url else ""
    lines = [
        f"**{resource.name}**{where}",
        tr(language, "*Police:* {words}", words=police_words(resource, language)),
    ]
    if resource.about:
        lines.append(resource.about)
    if resource.languages:
        names = ", ".join(language_in(code, language) for code in resource.languages)
        lines.append(tr(language, "*Languages:* {names}", names=names))
    lines.append(tr(language, "*Contact:* {contact}", contact=resource.contact) + link)
    confidentiality = (
        tr(language, DEFAULT_CONFIDENTIALITY)
        if resource.confidentiality == DEFAULT_CONFIDENTIALITY
        else resource.confidentiality
    )
    lines.append(tr(language, "*Confidentiality:* {text}", text=confidentiality))
    if resource.checked:
        lines.append(
            tr(
                language,
                "-# Checked against its own page on {date}.",
                date=resource.checked.isoformat(),
            )
        )
    return "\n".join(lines)


def non_police_note(resources: Sequence[Resource], language: str = ENGLISH) -> str:
    """Name the listed services that are not police and don't say they share with police."""
    names = [r.name for r in resources if r.police != POLICE_MAY]
    if not names:
        return ""
    return tr(
        language,
        "To talk to someone without calling 911, this card lists: {names}. None of them is the "
        "police; each entry first says what the service itself says about contacting police.",
        names="; ".join(names),
    )


def in_reading_order(resources: Sequence[Resource], language: str) -> list[Resource]:
    """The services that say they answer in `language` first, the rest in their own order;
    for an English reader, the order as it stands."""
    if language == ENGLISH:
        return list(resources)
    return sorted(resources, key=lambda resource: language not in resource.languages)


async def resource_embed(
    bot: CircleBot, guild_id: int | None, language: str = ENGLISH
) -> discord.Embed:
    """This server's own services first, then the shipped ones, in `language`."""
    own = [r for _, r in await safety.server_resources(bot.db, guild_id)] if guild_id else []
    listed = [*own, *in_reading_order(bot.library_for(language).resources, language)]
    head = [
        tr(language, "You don't have to explain anything to anyone to use these."),
        tr(language, EMERGENCY_NOTE),
    ]
    note = non_police_note(listed, language)
    if note:
        head.append(note)
    lines = [resource_line(r, language) for r in listed]
    embed = discord.Embed(title=tr(language, "Support"), colour=CARD_COLOUR)
    embed.description = ("\n".join(head) + "\n\n" + "\n\n".join(lines))[:4000]
    embed.set_footer(text=tr(language, "Servers add local services with /setup resources add."))
    return embed
