"""Languages: which ones ship, and their message catalogues (no Discord here).

Every text the bot writes itself is English in the code and looked up in a gettext catalogue,
`locales/<language>/LC_MESSAGES/circlekeeper.po`, by its English text (the message id).
Command names, options and descriptions live in `commands.po` beside it, with a context
(`name`, `description` or `choice`), because Discord checks names by its own rules.

A language ships when its folder exists under `locales/`; English is the code itself. Members'
own words are never looked up, translated or sent anywhere: only the bot's texts are.

    tr("es", "You're in: {thread}", thread=...)  # the Spanish text, filled in
    N_("Nothing to post.")                         # marks a text translated later, by its id
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

ENGLISH = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
MESSAGES_DOMAIN = "circlekeeper"
COMMANDS_DOMAIN = "commands"
# A translation flagged `#, same` may read exactly as the English (a name, a number).
SAME_FLAG = "same"


@dataclass(frozen=True)
class Catalogue:
    """One language's translations: message id -> text, and (context, id) -> text."""

    language: str
    messages: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[tuple[str, str], str] = field(default_factory=dict)


def _read(path: Path) -> list[tuple[str, str, str, frozenset[str]]]:
    """(context, id, translation, flags) for every translated entry of a .po file."""
    if not path.exists():
        return []
    with path.open("rb") as file:
        catalog = read_po(file)
    entries = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if message.fuzzy:
            continue
        text = message.string if isinstance(message.string, str) else message.string[0]
        entries.append((message.context or "", message.id, text, frozenset(message.flags)))
    return entries


def read_catalogue(language: str, root: Path = LOCALES_DIR) -> Catalogue:
    folder = root / language / "LC_MESSAGES"
    messages = {msgid: text for _, msgid, text, _ in _read(folder / f"{MESSAGES_DOMAIN}.po")}
    commands = {
        (context, msgid): text
        for context, msgid, text, _ in _read(folder / f"{COMMANDS_DOMAIN}.po")
    }
    return Catalogue(language, messages, commands)


@cache
def shipped_languages() -> tuple[str, ...]:
    """English first, then every language with a folder under `locales/`, sorted."""
    found = sorted(p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
    return (ENGLISH, *found)


@cache
def catalogue(language: str) -> Catalogue:
    """The language's catalogue, read once; English and unknown languages are empty."""
    if language == ENGLISH or language not in shipped_languages():
        return Catalogue(ENGLISH)
    return read_catalogue(language)


def supported(language: str | None) -> str:
    """The language itself when it ships, else English (a circle whose language was removed)."""
    return language if language in shipped_languages() else ENGLISH


# Discord's locale codes and the language each one reads; any other locale reads English.
LOCALE_LANGUAGES: Mapping[str, str] = {"es-ES": "es", "es-419": "es", "pt-BR": "pt-BR"}


def language_of_locale(locale: object) -> str:
    """The shipped language for a Discord locale (a `discord.Locale` or its code)."""
    code = str(getattr(locale, "value", locale) or "")
    return supported(LOCALE_LANGUAGES.get(code, ENGLISH))


class Phrase(str):
    """One of our own English texts given as a value of another ("{what} is empty", with
    `what=Phrase(N_("Your message"))`): `tr` translates it along with the text it fills,
    with values of its own if it has some. As a string it is the finished English. Members'
    own words are given as plain strings and never translated."""

    template: str
    values: Mapping[str, object]

    def __new__(cls, message: str, /, **values: object) -> Phrase:
        phrase = super().__new__(cls, message.format(**values) if values else message)
        phrase.template = message
        phrase.values = values
        return phrase


def N_(message: str) -> str:
    """Mark a text for the catalogues where it is defined; `tr` translates it where it is used."""
    return message


def tr(language: str, message: str, /, **values: object) -> str:
    """`message` in `language` (English when it has no translation), placeholders filled in;
    a `Phrase` value is translated too, any other value is used as it is."""
    messages = catalogue(supported(language)).messages
    text = messages.get(message, message)
    if not values:
        return text
    return text.format(
        **{
            name: tr(language, value.template, **value.values)
            if isinstance(value, Phrase)
            else value
            for name, value in values.items()
        }
    )


def translate_known(language: str, text: str) -> str:
    """A finished English text in `language` when the catalogue has it as it stands (a
    refusal's fixed words), else unchanged. Never used on members' own words."""
    return catalogue(supported(language)).messages.get(text, text)


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a message (for the catalogue test)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def language_name(language: str) -> str:
    """The language's name in itself: "English", "Español", "Português (Brasil)"."""
    name = Locale.parse(language.replace("-", "_")).display_name or language
    return name[:1].upper() + name[1:]


def server_default(chosen: str | None, preferred_locale: object) -> str:
    """A server's language: the one set with /setup language while it ships, else the
    server's preferred locale when a shipped language reads it, else English."""
    if chosen is not None and chosen in shipped_languages():
        return chosen
    return language_of_locale(preferred_locale)
