"""Checks on text a member writes for the bot to post: cleaning it, and spotting details that
could identify someone.

Used for anonymous posts, round shares and check-out takeaways, and for anything else the bot
posts in a member's words. The checks lean on maintained data rather than hand-kept lists:
Unicode properties (`regex`), emoji sequences (`emoji`), phone-number plans (`phonenumbers`)
and the public-suffix list as shipped inside `tldextract` (never fetched at run time).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import emoji
import phonenumbers
import regex
import tldextract

from bot.i18n import N_, Phrase
from bot.services.errors import Refusal

MAX_TEXT = 2000  # Discord's limit for a message
EXCERPT_CHARS = 40


class InvalidText(Refusal):
    """The text cannot be posted as it is; the message says what to change."""


# --- cleaning ------------------------------------------------------------------------------

# Format characters (zero-width spaces and joiners, direction marks and isolates, U+061C, soft
# hyphens, tag characters) and other default-ignorable ones (U+3164 and the other Hangul
# fillers, variation selectors) can hide text from moderators or make a post read differently
# from what was reviewed. Emoji sequences need some of them; see `_hidden_characters`.
_INVISIBLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]")
# Scripts such as Persian, Hindi or Malayalam need zero-width (non-)joiners between letters.
# Latin, Cyrillic and Greek never do, and there a joiner would only split a word in two.
_SCRIPT_JOINER = regex.compile(
    r"(?<=[\p{L}\p{M}](?<![\p{Latin}\p{Cyrillic}\p{Greek}]))[\u200c\u200d]"
)
_MENTION = re.compile(r"<@!?\d+>|<@&\d+>|<#\d+>")
_MASS_MENTION = re.compile(r"@(?:everyone|here)\b")


def _hidden_characters(text: str) -> bool:
    """Whether `text` holds an invisible or format character outside an emoji sequence."""
    if not _INVISIBLE.search(text):
        return False
    # Joiners, variation selectors and tag characters belong to flags (🏳️‍⚧️, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), families
    # and other sequences the emoji data knows: blank those out before looking again.
    spans = [(m["match_start"], m["match_end"]) for m in emoji.emoji_list(text)]
    parts, last = [], 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(" ")
        last = end
    parts.append(text[last:])
    rest = _SCRIPT_JOINER.sub("", "".join(parts))
    return bool(_INVISIBLE.search(rest))


def clean_text(text: str, *, limit: int = MAX_TEXT, what: str = N_("Your message")) -> str:
    """The text stripped of surrounding whitespace, or InvalidText saying what to change.

    Windows line endings become plain newlines; other control characters, invisible
    characters outside emoji, text over `limit` and text made only of mentions are refused.
    """
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    field = Phrase(what)
    if not cleaned:
        raise InvalidText(N_("{what} is empty. Please write something first."), what=field)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in cleaned):
        raise InvalidText(
            N_(
                "{what} contains invisible control characters. "
                "Please retype it or paste it as plain text."
            ),
            what=field,
        )
    if _hidden_characters(cleaned):
        raise InvalidText(
            N_(
                "{what} contains invisible characters (such as zero-width spaces or "
                "text-direction marks). Please remove them and try again."
            ),
            what=field,
        )
    if len(cleaned) > limit:
        raise InvalidText(
            N_("{what} is {count} characters long; the limit is {limit}. Please shorten it."),
            what=field,
            count=len(cleaned),
            limit=limit,
        )
    if not _MASS_MENTION.sub("", _MENTION.sub("", cleaned)).strip():
        raise InvalidText(
            N_(
                "{what} has only mentions in it. Anonymous posts never notify anyone, "
                "so please add some words."
            ),
            what=field,
        )
    return cleaned


# --- identifying details -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """Something in a post that could identify a person; `kind` is in plain words."""

    kind: str
    excerpt: str


# Discord's locales, and the region whose phone numbers people writing in each would use.
LOCALE_REGIONS = {
    "id": "ID", "da": "DK", "de": "DE", "en-GB": "GB", "en-US": "US", "es-ES": "ES",
    "es-419": "MX", "fr": "FR", "hr": "HR", "it": "IT", "lt": "LT", "hu": "HU", "nl": "NL",
    "no": "NO", "pl": "PL", "pt-BR": "BR", "ro": "RO", "fi": "FI", "sv-SE": "SE", "vi": "VN",
    "tr": "TR", "cs": "CZ", "el": "GR", "bg": "BG", "ru": "RU", "uk": "UA", "hi": "IN",
    "th": "TH", "zh-CN": "CN", "ja": "JP", "zh-TW": "TW", "ko": "KR",
}  # fmt: skip
DEFAULT_REGION = "US"


def regions_for(locales: Iterable[str | None]) -> tuple[str, ...]:
    """The phone regions for these Discord locales, in order, without repeats; the US when
    none is known."""
    found: list[str] = []
    for locale in locales:
        region = LOCALE_REGIONS.get(locale or "")
        if region is not None and region not in found:
            found.append(region)
    return tuple(found) or (DEFAULT_REGION,)


@cache
def _suffixes() -> tldextract.TLDExtract:
    # The snapshot shipped inside the package: no download, no cache files written.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
    )


def _is_domain(host: str) -> bool:
    parts = _suffixes()(host.lower())
    return bool(parts.domain and parts.suffix)


_DISCORD_INVITE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:discord(?:app)?\.com/invite|discord\.gg)/[\w-]+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.%+-]+@([\w-]+(?:\.[\w-]+)*\.[a-z]{2,})", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
# A word with dots in it; it is a link only when it ends in a public suffix (see _is_domain).
_HOST = regex.compile(r"(?<![\w@.])[\p{L}\p{N}](?:[\p{L}\p{N}-]*\.)+[\p{L}\p{N}-]+(?:/\S*)?")
# Written out to get past filters: "name [at] gmail [dot] com", "quietheron dot com".
_AT = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+)"
_SPELLED_EMAIL = re.compile(rf"\b[\w.+-]+{_AT}([\w-]+(?:(?:{_DOT}|\.)[\w-]+)+)\b", re.IGNORECASE)
_SPELLED_DOMAIN = re.compile(rf"\b([\w-]+(?:{_DOT}[\w-]+)+)\b", re.IGNORECASE)
_SPELLED_DOT = re.compile(_DOT, re.IGNORECASE)
_NOT_A_NAME = frozenset({"a", "an", "the", "this", "that", "one", "each", "every"})
# A handle named with its platform: "IG is quiet_heron_88", "snap: quietheron". A bare "x"
# is an ordinary word, so X needs its domain or its old name.
_PLATFORM = (
    r"ig|insta(?:gram)?|snap(?:chat)?|onlyfans|only\s?fans|fansly|telegram|whatsapp|twitter"
    r"|x\.com|tiktok|tik\s?tok|kik|signal|threads|bluesky|bsky|reddit|facebook|fb|discord"
    r"|tumblr|twitch|cashapp|cash\s?app|venmo|linktree|session|line|wechat|viber|skype"
)
_SOCIAL = re.compile(
    rf"\b(?:{_PLATFORM})(?:\s+(?:handle|name|username|account|id))?"
    r"(?P<sep>\s*[:=\-]\s*|\s+(?:is|at|@)\s+|\s+)"
    r"(?P<at>@)?(?P<name>[a-z0-9_][a-z0-9_.]{1,31})",
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


def _is_isbn(digits: str) -> bool:
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
        return total % 10 == 0
    if len(digits) == 10:
        return sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11 == 0
    return False


def _written_like_phone(candidate: str) -> bool:
    """A number laid out as phone numbers are (groups with separators or an area code in
    brackets), that is no year list, date, amount or ISBN."""
    groups = re.findall(r"\d+", candidate)
    digits = "".join(groups)
    if len(digits) not in _PHONE_DIGITS or (len(groups) < 3 and "(" not in candidate):
        # One long run ("order 12345678") or two groups are ids and amounts more often than
        # phone numbers; phonenumbers judges those by each region's numbering plan.
        return False
    if all(_YEAR.fullmatch(group) for group in groups):
        return False
    if (
        len(groups) == 3
        and (_YEAR.fullmatch(groups[0]) or _YEAR.fullmatch(groups[2]))
        and sum(1 for group in groups if len(group) <= 2) == 2
    ):
        return False
    if _is_isbn(digits):
        return False
    return not _DOTTED_THOUSANDS.fullmatch(candidate)


# phonenumbers' matcher is the costliest check on a post, so it runs only where a valid number
# could be found. A valid number has at least as many digits as its region's shortest national
# number (4 digits in the shortest numbering plans); one in international form (read with no
# region, "ZZ") starts with a plus sign and adds a country code of at least one digit.
FEWEST_DIGITS_ANYWHERE = 4
_PLUS_SIGNS = frozenset("+\uff0b")  # the signs phonenumbers reads as a plus


@cache
def _fewest_digits(region: str) -> int:
    """The fewest digits a valid number of `region` written in national form can have."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general = metadata.general_desc if metadata is not None else None
    lengths = [n for n in general.possible_length if n > 0] if general is not None else []
    return min(lengths, default=FEWEST_DIGITS_ANYWHERE)


def _matcher_regions(text: str, regions: Sequence[str]) -> list[str]:
    """The regions whose numbers `text` has enough digits (and signs) to hold."""
    digits = sum(character.isdigit() for character in text)
    found = []
    if digits > FEWEST_DIGITS_ANYWHERE and not _PLUS_SIGNS.isdisjoint(text):
        found.append("ZZ")
    found += [region for region in regions if digits >= _fewest_digits(region)]
    return found


def _phone_spans(text: str, regions: Sequence[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for region in _matcher_regions(text, regions):
        for number in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        ):
            spans.append((number.start, number.end))
    for match in _PHONE.finditer(text):
        if _written_like_phone(match.group()):
            spans.append((match.start(), match.end()))
    return spans


def find_identifying_details(
    text: str, *, regions: Sequence[str] = (DEFAULT_REGION,)
) -> list[Finding]:
    """Things in `text` that could identify someone, in order of appearance, without repeats.

    Used to hold a post and ask its author to confirm before it goes out, so a rare false
    alarm costs a click; ordinary numbers (years, times, percentages, dates, order numbers,
    ISBNs) are still left alone so the question keeps its meaning. `regions` are where
    numbers written without a country code are read as phone numbers (the server's and the
    author's; see `regions_for`).
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
    for match in _SPELLED_EMAIL.finditer(text):
        # "look at www.example.net" is a link: a plain "at" needs a spelled-out dot too.
        spelled = _SPELLED_DOT.search(match.group(1)) or not re.search(r"\sat\s", match.group())
        if spelled and _is_domain(_SPELLED_DOT.sub(".", match.group(1))):
            add("email address", match.start(), match.end())
    for match in _URL.finditer(text):
        add("link", match.start(), match.end())
    for host_match in _HOST.finditer(text):
        host = host_match.group().split("/", 1)[0].rstrip(_TRAILING_PUNCTUATION)
        ending = host.rsplit(".", 1)[-1]
        # "tired.So I left": a capital after the dot starts a sentence, not a domain.
        if ending[:1].isupper() and not ending.isupper():
            continue
        if _is_domain(host):
            add("link", host_match.start(), host_match.end())
    for match in _SPELLED_DOMAIN.finditer(text):
        first = re.split(r"\W", match.group(1), maxsplit=1)[0].lower()
        if first not in _NOT_A_NAME and _is_domain(_SPELLED_DOT.sub(".", match.group(1))):
            add("link", match.start(), match.end())
    for match in _MENTION.finditer(text):
        add("mention", match.start(), match.end())
    for match in _SOCIAL.finditer(text):
        name = match.group("name").rstrip(".")
        marked = match.group("at") or match.group("sep").strip() in (":", "=", "-", "@")
        if marked or re.search(r"[\d_.]", name):
            add("social media handle", match.start(), match.start("name") + len(name))
    for match in _STREET.finditer(text):
        add("street address", match.start(), match.end())
    for start, end in sorted(_phone_spans(text, regions)):
        add("phone number", start, end)
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
