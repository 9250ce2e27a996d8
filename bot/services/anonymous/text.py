"""Checks on an anonymous post's text; the checks themselves live in `bot.services.textchecks`,
shared with everything else the bot posts in a member's words."""

from __future__ import annotations

from bot.i18n import N_
from bot.services import textchecks
from bot.services.anonymous.rules import MAX_TEXT, InvalidText
from bot.services.textchecks import Finding, find_identifying_details

__all__ = ["Finding", "clean_text", "find_identifying_details"]


def clean_text(text: str, *, limit: int = MAX_TEXT, what: str = N_("Your message")) -> str:
    """`textchecks.clean_text`, refusing with the anonymous posts' InvalidText."""
    try:
        return textchecks.clean_text(text, limit=limit, what=what)
    except textchecks.InvalidText as error:
        raise InvalidText(error.template, **error.values) from None
