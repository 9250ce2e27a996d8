"""Which language to answer in, and the command names Discord shows in each language.

Private replies follow the member's Discord client (`interaction.locale`, read from each
interaction and never stored); public messages follow the circle's language, or the server's
for its own channels. Texts come from `bot.i18n`.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.i18n import (
    LOCALE_LANGUAGES,
    catalogue,
    language_name,
    language_of_locale,
    server_default,
    shipped_languages,
    supported,
    tr,
)
from bot.services.circles import Circle
from bot.services.config import GuildConfig

__all__ = [
    "CommandTranslator",
    "circle_language",
    "delay_words",
    "language_choices",
    "member_language",
    "server_language",
    "tr",
]


def member_language(interaction: discord.Interaction[Any]) -> str:
    """The language of the member's own Discord client, for private replies."""
    return language_of_locale(interaction.locale)


def circle_language(circle: Circle) -> str:
    """The circle's language for what the bot posts in it (English once that one is gone)."""
    return supported(circle.language)


def server_language(config: GuildConfig, guild: discord.Guild | None) -> str:
    """The server's language for its own channels and new circles: the one set with
    `/setup language`, else its preferred locale when that ships, else English."""
    return server_default(config.language, guild.preferred_locale if guild else None)


def delay_words(language: str, seconds: int) -> str:
    """`describe_delay` in `language`: "within about 2 minutes"."""
    if seconds <= 0:
        return tr(language, "straight away")
    if seconds < 90:
        return tr(language, "within about {seconds} seconds", seconds=seconds)
    return tr(language, "within about {minutes} minutes", minutes=round(seconds / 60))


def language_choices() -> list[app_commands.Choice[str]]:
    """Every shipped language, named in itself, for a command's `language` option."""
    return [
        app_commands.Choice(name=language_name(language), value=language)
        for language in shipped_languages()
    ]


_NAME_PLACES = {
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
}


def command_context(context: app_commands.TranslationContextTypes) -> str:
    """The .po context of a command string: `name`, `menu` (a context menu's name, which
    may hold spaces and capitals), `choice` or `description`."""
    location = context.location
    if isinstance(context.data, app_commands.ContextMenu):
        return "menu"
    if location in _NAME_PLACES:
        return "name"
    if location is app_commands.TranslationContextLocation.choice_name:
        return "choice"
    return "description"


class CommandTranslator(app_commands.Translator):
    """Commands' names, options, descriptions and choices from each language's commands.po."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = LOCALE_LANGUAGES.get(locale.value)
        if language is None:
            return None
        key = (command_context(context), string.message)
        return catalogue(supported(language)).commands.get(key)
