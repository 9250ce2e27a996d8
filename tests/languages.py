"""Checking the bot's words in another language: members' client locales and English left over.

simcord sends `locale: "en-US"` on every interaction; the `locales` fixture (registered in
`tests/conftest.py`) wraps `simcord.interactions.base_payload` to give each member the locale of
their own client. `english_left` finds the bot's own English sentences (by the catalogue's
message ids) still in a text; `everything_in` gathers every word a reply shows.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import discord
import pytest
import simcord
import simcord.interactions

from bot.i18n import read_catalogue
from tests.test_catalogues import message_ids


@pytest.fixture
def locales(monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    """Member id -> the locale their Discord client sends (en-US when not listed)."""
    chosen: dict[int, str] = {}
    original = simcord.interactions.base_payload

    def with_locale(*args: Any, **kwargs: Any) -> Any:
        record, payload = original(*args, **kwargs)
        locale = chosen.get(int(kwargs["user_id"]))
        if locale is not None:
            payload["locale"] = locale
            payload["guild_locale"] = locale
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_locale)
    return chosen


def _fragments(message: str) -> Iterator[str]:
    """The literal stretches of an English message long enough to recognise in a reply."""
    for literal, _, _, _ in string.Formatter().parse(message):
        # Split off markup and the names of commands, which stay as they are in every language.
        for piece in re.split(r"[*“”]+|`[^`]*`", literal):
            piece = piece.strip(" .,:;()")
            if len(piece) >= 14 and len(piece.split()) >= 3:
                yield piece


SPANISH = read_catalogue("es").messages


def english_left(text: str) -> list[str]:
    """English sentences of the bot's own (by the catalogue's message ids) left in `text`.
    `code` spans are left out first: commands read the same in every language, and a
    placeholder inside one (`/prompt post id:{id}`) would leave a stray English fragment."""
    text = re.sub(r"`[^`]*`", "", text)
    return [
        message
        for message in message_ids()
        if SPANISH.get(message, message) != message
        and any(fragment in text for fragment in _fragments(message))
    ]


def labels_of(message: discord.Message) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [
        str(child.get("label", ""))
        for row in message.components
        for child in row.to_dict()["components"]
    ]


def message_text(message: discord.Message) -> str:
    """Every word a message shows: content, embeds (title, text, fields, footer, author) and
    the labels of its buttons."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
        parts += [embed.author.name or ""]
        parts += [f"{field.name} {field.value}" for field in embed.fields]
    # A followup's components arrive as the JSON Discord sent; a message's as objects.
    rows: list[dict[str, Any]] = [
        row if isinstance(row, dict) else dict(row.to_dict()) for row in message.components
    ]
    children: list[dict[str, Any]] = [child for row in rows for child in row.get("components", [])]
    parts += [str(child.get("label", child.get("placeholder", ""))) for child in children]
    return "\n".join(parts)


def everything_in(result: simcord.InteractionResult) -> str:
    """Every word a reply shows, its followups included (a deferred command answers in one):
    content, embeds, button labels, a form's title and fields."""
    parts: list[str] = []
    message = result.response.message if result.response else None
    if message is not None:
        parts.append(message_text(message))
    elif result.response is not None and result.response.content:
        parts.append(result.response.content)
    parts += [message_text(followup) for followup in result.followups]
    if result.modal is not None:
        parts.append(str(result.modal))
    return "\n".join(parts)
