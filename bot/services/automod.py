"""A server's own rules applied to what the bot posts in members' words.

Discord's AutoMod never looks at messages sent by bots, so every anonymous post would bypass
the rules a server set for everyone. Here are those rules as plain data (the Discord layer
reads them from Discord and keeps them current), the server's own word list for servers
without AutoMod, and the matching, with Discord's semantics:

- keywords are case-insensitive; `cat*` is the start of a word, `*cat` its end, `*cat*`
  anywhere, a bare `cat` a whole word;
- a match inside a word on the rule's allow list (same wildcards) does not count;
- regex patterns run on RE2, which takes linear time (Discord's are Rust regex, also linear),
  never on Python's backtracking `re`; a pattern RE2 cannot compile is skipped and named;
- exempt channels apply; exempt roles never do, since honouring them for anonymous posts
  would let whoever edits the rules learn whether an author holds a role.

No default word list ships: the design says the bot never filters sex-work vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import re2

from bot.db import Database
from bot.i18n import ENGLISH, N_, tr
from bot.services.errors import Refusal

log = logging.getLogger(__name__)

Action = Literal["block", "review"]
ACTIONS: tuple[Action, ...] = ("block", "review")
MAX_WORD = 60  # Discord's limit for a keyword
MAX_WORDS = 1000  # Discord's limit for a rule's keywords
WORD_LIST_NAME = "this server's word list"


class FilterError(Refusal):
    """A word-list change the rules turn down; the message says why."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One keyword rule: from the server's AutoMod (`rule_id` set) or its word list."""

    name: str
    action: Action
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    custom_message: str | None = None
    exempt_channels: frozenset[int] = frozenset()
    rule_id: int | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule decided about a text; `message` is for its author (block only), in
    English: `notice` gives it in the author's language."""

    action: Action
    rule_name: str
    message: str
    custom_message: str | None = None  # the server's own words, shown as they are
    server_rule: bool = False  # an AutoMod rule, not the server's word list


@dataclass(slots=True)
class _Compiled:
    rule: Rule
    patterns: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _wildcard_hits(keyword: str, text: str) -> Iterable[tuple[int, int]]:
    """Spans of `text` (already lower-cased) where the keyword matches, by its wildcards."""
    prefix_free = keyword.startswith("*")
    suffix_free = keyword.endswith("*")
    core = keyword.strip("*").lower()
    if not core:
        return
    start = text.find(core)
    while start != -1:
        end = start + len(core)
        left_ok = prefix_free or start == 0 or not _is_word_char(text[start - 1])
        right_ok = suffix_free or end == len(text) or not _is_word_char(text[end])
        if left_ok and right_ok:
            yield start, end
        start = text.find(core, start + 1)


def _word_around(text: str, start: int, end: int) -> str:
    while start > 0 and _is_word_char(text[start - 1]):
        start -= 1
    while end < len(text) and _is_word_char(text[end]):
        end += 1
    return text[start:end]


def _allowed(rule: Rule, text: str, start: int, end: int) -> bool:
    word = _word_around(text, start, end)
    return any(any(True for _ in _wildcard_hits(entry, word)) for entry in rule.allow)


class RuleSet:
    """A server's rules, compiled once; `check` is what the posting flow asks."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._compiled: list[_Compiled] = []
        for rule in rules:
            compiled = _Compiled(rule)
            for pattern in rule.patterns:
                try:
                    # Case-insensitive, as Discord applies them.
                    compiled.patterns.append(re2.compile(f"(?i){pattern}"))
                except Exception:  # re2 raises its own error type for patterns it rejects
                    compiled.skipped.append(pattern)
            self._compiled.append(compiled)

    @property
    def rules(self) -> list[Rule]:
        return [c.rule for c in self._compiled]

    def skipped_patterns(self) -> list[tuple[str, str]]:
        """(rule name, pattern) for every pattern RE2 could not compile."""
        return [(c.rule.name, p) for c in self._compiled for p in c.skipped]

    def check(self, text: str, channel_ids: Iterable[int] = ()) -> Verdict | None:
        """The strictest verdict of any rule on `text` posted in one of `channel_ids` (a
        thread and its parent); None when no rule objects. Blocking beats holding."""
        lowered = text.lower()
        here = set(channel_ids)
        found: Verdict | None = None
        for compiled in self._compiled:
            rule = compiled.rule
            if here & rule.exempt_channels or not self._matches(compiled, lowered):
                continue
            verdict = Verdict(
                rule.action,
                rule.name,
                _message(rule),
                custom_message=rule.custom_message,
                server_rule=rule.rule_id is not None,
            )
            if verdict.action == "block":
                return verdict
            found = found or verdict
        return found

    @staticmethod
    def _matches(compiled: _Compiled, text: str) -> bool:
        rule = compiled.rule
        for keyword in rule.keywords:
            for start, end in _wildcard_hits(keyword, text):
                if not _allowed(rule, text, start, end):
                    return True
        for pattern in compiled.patterns:
            for match in pattern.finditer(text):
                if match.end() > match.start() and not _allowed(
                    rule, text, match.start(), match.end()
                ):
                    return True
        return False


def _message(rule: Rule) -> str:
    return _notice(ENGLISH, rule.name, rule.custom_message, server_rule=rule.rule_id is not None)


def notice(verdict: Verdict, language: str) -> str:
    """The verdict's words for the author, in their `language` (a rule's own custom message
    stays in the server's words)."""
    return _notice(
        language, verdict.rule_name, verdict.custom_message, server_rule=verdict.server_rule
    )


def _notice(language: str, name: str, custom_message: str | None, *, server_rule: bool) -> str:
    if custom_message:
        return f"{custom_message}\n\n" + tr(
            language, "Nothing was posted; you can edit your message."
        )
    return tr(
        language,
        "This server's rule **{rule}** does not allow something in your message, so nothing "
        "was posted. You can edit it and try again."
        if server_rule
        else "This server's word list does not allow something in your message, so nothing "
        "was posted. You can edit it and try again.",
        rule=name,
    )


# --- the server's word list ----------------------------------------------------------------


def clean_word(word: str) -> str:
    """A word-list entry as stored (lower case, trimmed), or FilterError saying what to fix."""
    cleaned = " ".join(word.split()).lower()
    if not cleaned.strip("*"):
        raise FilterError(N_("Please give a word or phrase (a `*` alone matches nothing)."))
    if len(cleaned) > MAX_WORD:
        raise FilterError(
            N_("An entry can be at most {limit} characters, as in AutoMod."), limit=MAX_WORD
        )
    if "*" in cleaned.strip("*"):
        raise FilterError(
            N_(
                "`*` can only stand at the start or the end: `cat*` (words starting with cat), "
                "`*cat` (ending with it), `*cat*` (anywhere), or a bare word for the whole word."
            )
        )
    return cleaned


async def add_word(db: Database, guild_id: int, word: str, action: Action) -> tuple[str, bool]:
    """Add (or change the action of) a word; (the stored word, whether it was new)."""
    cleaned = clean_word(word)
    count = await db.fetchval("SELECT count(*) FROM filter_words WHERE guild_id = ?", (guild_id,))
    existing = await db.fetchval(
        "SELECT 1 FROM filter_words WHERE guild_id = ? AND word = ?", (guild_id, cleaned)
    )
    if existing is None and count >= MAX_WORDS:
        raise FilterError(
            N_("The word list is full ({limit} entries). Remove some first."), limit=MAX_WORDS
        )
    await db.execute(
        "INSERT INTO filter_words (guild_id, word, action) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id, word) DO UPDATE SET action = excluded.action",
        (guild_id, cleaned, action),
    )
    return cleaned, existing is None


async def remove_word(db: Database, guild_id: int, word: str) -> bool:
    """Remove a word; True if it was there. Idempotent."""
    cleaned = " ".join(word.split()).lower()
    return (
        await db.execute(
            "DELETE FROM filter_words WHERE guild_id = ? AND word = ?", (guild_id, cleaned)
        )
        > 0
    )


async def words(db: Database, guild_id: int) -> list[tuple[str, Action]]:
    """The server's word list, alphabetically, with each word's action."""
    rows = await db.fetchall(
        "SELECT word, action FROM filter_words WHERE guild_id = ? ORDER BY word", (guild_id,)
    )
    return [(row["word"], row["action"]) for row in rows]


async def word_list_rules(db: Database, guild_id: int) -> list[Rule]:
    """The word list as rules: one that blocks, one that holds for review."""
    entries = await words(db, guild_id)
    return [
        Rule(WORD_LIST_NAME, action, keywords=tuple(w for w, a in entries if a == action))
        for action in ACTIONS
        if any(a == action for _, a in entries)
    ]
