"""The message catalogues (locales/<language>/LC_MESSAGES/*.po) against the code.

Every text the code looks up (`tr(language, "...")`, or marked with `N_("...")`) has a
translation in each shipped language, with exactly the same placeholders, and no translation
reads the same as the English unless the entry is flagged `#, same`. Command names obey
Discord's rules in every language.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
import regex
from babel.messages.pofile import read_po

from bot.i18n import (
    COMMANDS_DOMAIN,
    LOCALES_DIR,
    MESSAGES_DOMAIN,
    SAME_FLAG,
    placeholders,
    read_catalogue,
    shipped_languages,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "bot").rglob("*.py")), *sorted((ROOT / "cogs").rglob("*.py"))]
TRANSLATED = [language for language in shipped_languages() if language != "en"]


def _literals(node: ast.expr) -> Iterator[str]:
    """The string constants a message argument can take (both sides of `a if x else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)


def message_ids() -> dict[str, str]:
    """Every message id in the code, with where it was found."""
    found: dict[str, str] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name == "tr" and len(node.args) >= 2:
                argument = node.args[1]
            elif name == "N_" and node.args:
                argument = node.args[0]
            else:
                continue
            for text in _literals(argument):
                found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _entries(language: str, domain: str) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as file:
        catalog = read_po(file)
    return {
        (message.context or "", str(message.id)): (str(message.string), frozenset(message.flags))
        for message in catalog
        if message.id
    }


def test_the_code_marks_its_messages() -> None:
    """The extractor finds the flows' texts (so the tests below can fail)."""
    ids = message_ids()
    assert "Thank you. You're in: {thread}" in ids
    assert "Your message" in ids
    assert len(ids) > 50


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation(language: str) -> None:
    messages = read_catalogue(language).messages
    missing = {text: where for text, where in message_ids().items() if text not in messages}
    assert not missing, f"{language} lacks: {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    for text, translation in read_catalogue(language).messages.items():
        assert placeholders(translation) == placeholders(text), (language, text, translation)
        translation.format(**{name: "x" for name in placeholders(text)})


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", [MESSAGES_DOMAIN, COMMANDS_DOMAIN])
def test_no_translation_is_left_in_english(language: str, domain: str) -> None:
    same = [
        (context, text)
        for (context, text), (translation, flags) in _entries(language, domain).items()
        if translation == text and SAME_FLAG not in flags
    ]
    assert not same, f"{language} {domain}.po: flag these `#, same` or translate them: {same}"


def test_placeholder_mismatch_is_caught() -> None:
    """`{label}` in English against `{etiqueta}` in a translation is a failure."""
    assert placeholders("as **{label}**") != placeholders("como **{etiqueta}**")


# Discord's rule for slash command and option names (CHAT_INPUT), from its documentation.
NAME_RULE = regex.compile(r"^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")


@pytest.mark.parametrize("language", TRANSLATED)
def test_command_strings_obey_discords_rules(language: str) -> None:
    commands = read_catalogue(language).commands
    assert commands, f"{language} has no command translations"
    for (context, text), translation in commands.items():
        if context == "name":
            assert NAME_RULE.match(translation), (language, text, translation)
            assert translation == translation.lower(), (language, text, translation)
        elif context == "menu":
            assert 1 <= len(translation) <= 32, (language, text, translation)
        else:
            assert 1 <= len(translation) <= 100, (language, text, translation)


def _ids_in_file(path: Path) -> list[tuple[str, str]]:
    """(context, id) of every entry as written, duplicates kept (Babel keeps only the first).
    A wrapped id (`msgid ""` and its continuation lines) is joined; the header is left out."""
    entries: list[tuple[str, str]] = []
    context, current, field = "", None, ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith('"') and field:
            if field == "msgid" and current is not None:
                current += line
            elif field == "msgctxt":
                context += line
            continue
        if current not in (None, '""'):
            entries.append((context, str(current)))
        if current is not None:
            context, current = "", None
        field = ""
        if line.startswith("msgctxt "):
            context, field = line[len("msgctxt ") :], "msgctxt"
        elif line.startswith("msgid "):
            current, field = line[len("msgid ") :], "msgid"
    return entries


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", [MESSAGES_DOMAIN, COMMANDS_DOMAIN])
def test_no_entry_is_written_twice(language: str, domain: str) -> None:
    """A second entry for the same text would be silently ignored, whatever it says."""
    entries = _ids_in_file(LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po")
    repeated = sorted({entry for entry in entries if entries.count(entry) > 1})
    assert not repeated, f"{language} {domain}.po has these twice: {repeated}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_is_still_used(language: str) -> None:
    """An entry whose English text is gone from the code is dead weight for translators."""
    used = message_ids()
    stale = [text for text in read_catalogue(language).messages if text not in used]
    assert not stale, f"{language} circlekeeper.po: no longer in the code: {stale}"
