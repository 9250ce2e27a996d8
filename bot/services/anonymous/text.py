"""Checks on a post's text: cleaning it, and spotting details that could identify someone."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.services.anonymous.rules import EXCERPT_CHARS, MAX_TEXT, InvalidText

# --- checks on the text --------------------------------------------------------------------

# Zero-width and text-direction characters can hide text from moderators or make a post
# read differently from what was reviewed.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_MENTION = re.compile(r"<@!?\d+>|<@&\d+>|<#\d+>")
_MASS_MENTION = re.compile(r"@(?:everyone|here)\b")


def clean_text(text: str, *, limit: int = MAX_TEXT, what: str = "Your message") -> str:
    """The text stripped of surrounding whitespace, or InvalidText saying what to change.

    Windows line endings become plain newlines; other control characters, invisible
    characters, text over `limit` and text made only of mentions are refused.
    """
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise InvalidText(f"{what} is empty. Please write something first.")
    if _INVISIBLE.search(cleaned):
        raise InvalidText(
            f"{what} contains invisible characters (such as zero-width spaces or "
            "text-direction marks). Please remove them and try again."
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in cleaned):
        raise InvalidText(
            f"{what} contains invisible control characters. "
            "Please retype it or paste it as plain text."
        )
    if len(cleaned) > limit:
        raise InvalidText(
            f"{what} is {len(cleaned)} characters long; the limit is {limit}. Please shorten it."
        )
    if not _MASS_MENTION.sub("", _MENTION.sub("", cleaned)).strip():
        raise InvalidText(
            f"{what} has only mentions in it. Anonymous posts never notify anyone, "
            "so please add some words."
        )
    return cleaned


@dataclass(frozen=True, slots=True)
class Finding:
    """Something in a post that could identify a person; `kind` is in plain words."""

    kind: str
    excerpt: str


_DISCORD_INVITE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:discord(?:app)?\.com/invite|discord\.gg)/[\w-]+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# Bare domains need a known ending, so "e.g." or a missing space after a full stop is not a
# link. The list favours endings common for personal pages and messaging links (t.me, wa.me).
_TLDS = (
    "com|net|org|info|biz|io|co|me|gg|app|dev|xyz|ly|tv|us|uk|ca|au|nz|ie|de|fr|nl|es|eu|ch"
    "|be|at|se|ru|ee|cc|ws|site|online|club|live|link|page|store|shop|social|chat|fans"
)
_LINK = re.compile(
    r"https?://\S+"
    r"|\bwww\.\S+"
    rf"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/\S*)?",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"""
    (?<![\w.,:/+])                     # not the middle of another number, time or link
    \+?                                # international prefix
    (?:\(\d{1,5}\)|\d)                 # a digit, or an area code in brackets
    (?:[ .-]?(?:\(\d{1,5}\)|\d))+      # more of them, one separator at most between
    (?![\w%]|[.,:]\d)                  # not a percentage, decimal, time or longer number
    """,
    re.VERBOSE,
)
_PHONE_DIGITS = range(7, 16)
_YEAR = re.compile(r"(?:19|20)\d\d")
_DOTTED_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
# Words that follow a number in ordinary sentences ("19 and on the street", "a 10 minute
# drive") but never start a street name.
_NOT_STREET_NAME = (
    "a|an|and|or|but|the|on|in|at|of|to|for|from|by|with|into|onto|off|up|down|out|over"
    "|i|we|you|he|she|they|it|was|were|is|are|my|your|his|her|their|our|its|this|that"
    "|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|miles?|km|blocks?|times?"
)
_STREET = re.compile(
    rf"""
    \b\d{{1,6}}[a-z]?\s+                           # house number, maybe with a letter (221b)
    (?:(?!(?:{_NOT_STREET_NAME})\b)[a-z]+\s+){{1,3}}?  # one to three words of street name
    (?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl)
    \b\.?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w<@.])@([a-z0-9_][a-z0-9_.]{1,31})", re.IGNORECASE)
# "@5pm" and "@ 10:30" mean "at", not a handle.
_TIME_WORD = re.compile(r"\d{1,2}(?:[:.]\d{2})?(?:am|pm|h)?", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»”’"


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _is_phone(candidate: str) -> bool:
    digits = re.findall(r"\d+", candidate)
    if sum(len(group) for group in digits) not in _PHONE_DIGITS:
        return False
    # Lists and ranges of years ("2019-2021"), dates ("2019-05-30", "30.05.2019") and
    # amounts written with dots ("1.500.000") have enough digits but are no phone number.
    if all(_YEAR.fullmatch(group) for group in digits):
        return False
    if (
        len(digits) == 3
        and (_YEAR.fullmatch(digits[0]) or _YEAR.fullmatch(digits[2]))
        and sum(1 for group in digits if len(group) <= 2) == 2
    ):
        return False
    return not _DOTTED_THOUSANDS.fullmatch(candidate)


def find_identifying_details(text: str) -> list[Finding]:
    """Things in `text` that could identify someone, in order of appearance, without repeats.

    Used to hold a post and ask its author to confirm before it goes out, so a rare false
    alarm costs a click; ordinary numbers (years, times, percentages, dates) are still left
    alone so the question keeps its meaning.
    """
    found: list[tuple[int, Finding]] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        matched = text[start:end].rstrip(_TRAILING_PUNCTUATION)
        end = start + len(matched)
        # A more specific kind (an invite inside a link, a handle inside an e-mail address)
        # claims the text first; later patterns skip what it covers.
        if not matched or any(start < t_end and t_start < end for t_start, t_end in taken):
            return
        taken.append((start, end))
        found.append((start, Finding(kind, _excerpt(matched))))

    for match in _DISCORD_INVITE.finditer(text):
        add("Discord invite", match.start(), match.end())
    for match in _EMAIL.finditer(text):
        add("email address", match.start(), match.end())
    for match in _LINK.finditer(text):
        add("link", match.start(), match.end())
    for match in _MENTION.finditer(text):
        add("mention", match.start(), match.end())
    for match in _STREET.finditer(text):
        add("street address", match.start(), match.end())
    for match in _PHONE.finditer(text):
        if _is_phone(match.group()):
            add("phone number", match.start(), match.end())
    for match in _HANDLE.finditer(text):
        name = match.group(1).rstrip(".")
        if name.lower() in ("everyone", "here") or _TIME_WORD.fullmatch(name):
            continue
        add("handle", match.start(), match.start(1) + len(name))

    findings: list[Finding] = []
    for _, finding in sorted(found, key=lambda item: item[0]):
        if finding not in findings:
            findings.append(finding)
    return findings
