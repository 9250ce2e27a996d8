"""Anonymous posting: labels, checks on the text, the post queue, review and blocks.

Nothing here stores a user id. An author is known only by a label key,
HMAC-SHA256(circle key, user id), and the circle key is HMAC-SHA256(master secret, circle
salt). The master secret lives outside the database, so a copy of the database alone links
no post to anyone; closing a circle destroys its salt, so its old keys can never be computed
again. In strict circles the circle key is random and held only in memory (`CircleKeys`), so
not even the operator can link labels, and labels, blocks and post histories start afresh
after a restart.

Every author-facing lookup (their posts, deleting one, blocks, rate limits) works by
recomputing the label key from the person asking, never by a stored id. Post text is kept
only while a post waits (draft, review, queued, sending) and is dropped once it is posted or
decided.

All times are timezone-aware UTC datetimes passed in by the caller and stored as fixed-width
ISO strings, so SQL string comparisons order them correctly. Stored times are no finer than
needed, so they line up with nothing else in the file: when a post was written or decided and
a block's times to the minute (the rate limit and draft expiry work at that precision),
delivery due times to the second.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import random
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.services import times
from bot.services.circles import Circle
from bot.services.errors import Refusal
from bot.services.wordlists import ADJECTIVES, NOUNS

MAX_TEXT = 2000
MAX_NOTE = 200
RATE_LIMIT = 5
RATE_WINDOW = timedelta(minutes=10)
DRAFT_TTL = timedelta(minutes=15)

KEY_BYTES = 32
TOKEN_BYTES = 16
EXCERPT_CHARS = 40

# Where delivery delays are drawn from; tests put a seeded generator here.
DELAY_RANDOM: random.Random = secrets.SystemRandom()

# Posts that count towards the rate limit: drafts are not submitted yet, and rejected or
# removed posts already cost the author their post.
_COUNTED = ("review", "queued", "sending", "posted")


# --- errors --------------------------------------------------------------------------------


class AnonError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class InvalidText(AnonError):
    """The text cannot be posted as it is; the message says what to change."""


class RateLimited(AnonError):
    """Too many posts in a short time; `retry_at` is when the next one will be accepted."""

    def __init__(self, retry_at: datetime, *, now: datetime) -> None:
        minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"You can post again in {minutes} {unit}.")
        self.retry_at = retry_at


class Blocked(AnonError):
    """The author may not post anonymously in this circle at the moment."""

    # Worded not to accuse: the author may not know what happened, and a moderator can
    # explain in private.
    def __init__(
        self,
        message: str = (
            "Anonymous posting isn't available to you in this circle right now. "
            "A moderator can tell you more."
        ),
    ) -> None:
        super().__init__(message)


class CircleClosed(AnonError):
    """The circle is closed (or its salt is gone), so there is no anonymous posting in it."""

    def __init__(
        self, message: str = "This circle is closed, so anonymous posting has ended here."
    ) -> None:
        super().__init__(message)


class NotFound(AnonError):
    """The post, draft or block does not exist (any more) or is not in the expected state."""

    def __init__(self, message: str = "That post no longer exists or was already handled.") -> None:
        super().__init__(message)


# --- keys and labels -----------------------------------------------------------------------


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


class CircleKeys:
    """Computes circle keys and label keys; holds the in-memory keys of strict circles.

    Make one per process. A new object (a restart) has no strict keys, so strict circles
    get fresh labels.
    """

    def __init__(self, master_secret: bytes) -> None:
        if not master_secret:
            raise ValueError("the master secret is empty")
        self._master = master_secret
        self._strict: dict[int, bytes] = {}

    def __repr__(self) -> str:
        # Never show key material, even in a debugger or a log line.
        return f"<CircleKeys strict_circles={len(self._strict)}>"

    def circle_key(self, circle: Circle) -> bytes:
        """The key for `circle`. Raises CircleClosed when it is closed or has no salt."""
        if not circle.is_open or circle.salt is None:
            raise CircleClosed()
        if circle.strict:
            key = self._strict.get(circle.id)
            if key is None:
                key = self._strict[circle.id] = secrets.token_bytes(KEY_BYTES)
            return key
        return _hmac(self._master, circle.salt)

    def label_key(self, circle: Circle, user_id: int) -> bytes:
        """The author's key in this circle: stable within it, unlinkable across circles."""
        return _hmac(self.circle_key(circle), str(user_id).encode())

    def forget(self, circle_id: int) -> None:
        """Drop a strict circle's key (at close) so its labels can never be linked. Idempotent."""
        self._strict.pop(circle_id, None)


_COMBINATIONS = len(ADJECTIVES) * len(NOUNS)
# Candidates tried one by one before reading the circle's used labels at once: in a circle
# of a few dozen members nearly every member gets one of their first few.
_LABEL_ATTEMPTS = 16


def label_candidates(label_key: bytes) -> Iterator[str]:
    """Every adjective-noun label once, in an order fixed by the key.

    A start and a step coprime to the number of combinations visit each combination
    exactly once; deriving both from the key spreads members over the whole space, so
    most members get their first candidate.
    """
    n = _COMBINATIONS
    start = int.from_bytes(label_key[:8], "big") % n
    step = int.from_bytes(label_key[8:16], "big") % n or 1
    while math.gcd(step, n) != 1:
        step = step % n + 1
    for i in range(n):
        adjective, noun = divmod((start + i * step) % n, len(NOUNS))
        yield f"{ADJECTIVES[adjective]} {NOUNS[noun]}"


def _numbered_candidates(label_key: bytes) -> Iterator[str]:
    """Labels with a number (2 to 999), for circles with more members than plain labels."""
    base = int.from_bytes(label_key[16:24], "big")
    for i, name in enumerate(label_candidates(label_key)):
        yield f"{name} {2 + (base + i) % 998}"


def _first_free(label_key: bytes, used: set[str]) -> str:
    first = None
    for candidate in label_candidates(label_key):
        if candidate not in used:
            return candidate
        first = first or candidate
    assert first is not None
    number = 2
    while f"{first} {number}" in used:
        number += 1
    return f"{first} {number}"


async def _stored_label(db: Database, circle_id: int, label_key: bytes) -> str | None:
    value = await db.fetchval(
        "SELECT label FROM anon_labels WHERE circle_id = ? AND label_key = ?",
        (circle_id, label_key),
    )
    return None if value is None else str(value)


async def label_for(db: Database, circle_id: int, label_key: bytes) -> str:
    """The author's label in this circle, allocating one on first use.

    No two label keys in one circle share a label. Safe without a transaction (and so
    usable inside one): the key's candidates are tried in turn with INSERT OR IGNORE, so if
    another task takes a label first the next one is tried. Each try is an indexed write;
    only in a circle that has used up the early candidates are all its labels read.
    """
    existing = await _stored_label(db, circle_id, label_key)
    if existing is not None:
        return existing
    # The key's own order of plain labels first, then (in a circle that has used up the
    # plain ones) the same names with a number the key also fixes.
    plain = itertools.islice(label_candidates(label_key), _LABEL_ATTEMPTS)
    numbered = itertools.islice(_numbered_candidates(label_key), _LABEL_ATTEMPTS)
    for candidate in itertools.chain(plain, numbered):
        if await _claim(db, circle_id, label_key, candidate):
            return candidate
        existing = await _stored_label(db, circle_id, label_key)
        if existing is not None:  # another task gave this key its label meanwhile
            return existing
    rows = await db.fetchall("SELECT label FROM anon_labels WHERE circle_id = ?", (circle_id,))
    label = _first_free(label_key, {r["label"] for r in rows})
    if await _claim(db, circle_id, label_key, label):
        return label
    existing = await _stored_label(db, circle_id, label_key)
    if existing is None:
        raise AnonError("Too many people are posting at once. Please try again in a moment.")
    return existing


async def _claim(db: Database, circle_id: int, label_key: bytes, label: str) -> bool:
    """Give `label` to the key if neither has one yet in the circle. True if it did."""
    return (
        await db.execute(
            "INSERT OR IGNORE INTO anon_labels (circle_id, label_key, label) VALUES (?, ?, ?)",
            (circle_id, label_key, label),
        )
        > 0
    )


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


# --- posts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnonPost:
    """One anonymous post. `text` and `content_note` are None once it is posted or decided.

    `decided_at` is when a moderator approved, rejected or removed it, or else when it was
    delivered or found undeliverable. A post that could never be delivered (its thread was
    gone) ends 'rejected' but keeps its `deliver_at`, which a moderator's rejection clears:
    see `undeliverable`.
    """

    id: int
    token: str
    circle_id: int
    label: str
    label_key: bytes
    status: str
    text: str | None
    content_note: str | None
    reply_to_message_id: int | None
    quote_link: str | None
    message_id: int | None
    review_message_id: int | None
    created_at: datetime
    deliver_at: datetime | None
    decided_at: datetime | None
    queue_tries: int = 0  # failed sends of a held post to the moderators' queue channel

    @property
    def undeliverable(self) -> bool:
        """It was on its way but could never go out: nobody rejected it."""
        return self.status == "rejected" and self.deliver_at is not None


@dataclass(frozen=True, slots=True)
class AnonBlock:
    """A block on one label key in one circle; nobody learns whose key it is."""

    id: int
    circle_id: int
    label: str
    reason: str
    created_at: datetime
    expires_at: datetime | None


def _post(r: sqlite3.Row) -> AnonPost:
    return AnonPost(
        id=r["id"],
        token=r["token"],
        circle_id=r["circle_id"],
        label=r["label"],
        label_key=bytes(r["label_key"]),
        status=r["status"],
        text=r["text"],
        content_note=r["content_note"],
        reply_to_message_id=r["reply_to_message_id"],
        quote_link=r["quote_link"],
        message_id=r["message_id"],
        review_message_id=r["review_message_id"],
        created_at=times.read(r["created_at"]),
        deliver_at=times.read_optional(r["deliver_at"]),
        decided_at=times.read_optional(r["decided_at"]),
        queue_tries=r["queue_tries"],
    )


def _block(r: sqlite3.Row) -> AnonBlock:
    return AnonBlock(
        id=r["id"],
        circle_id=r["circle_id"],
        label=r["label"],
        reason=r["reason"],
        created_at=times.read(r["created_at"]),
        expires_at=times.read_optional(r["expires_at"]),
    )


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


async def _post_where(db: Database, condition: str, params: Sequence[object]) -> AnonPost | None:
    row = await db.fetchone(f"SELECT * FROM anon_posts WHERE {condition}", params)
    return _post(row) if row else None


async def check_can_post(db: Database, circle: Circle, label_key: bytes, *, now: datetime) -> None:
    """Raise CircleClosed, Blocked or RateLimited if this author may not post now.

    The circle's state is read again from the database, so a post cannot slip into a
    circle that closed after the caller loaded it.
    """
    if not circle.is_open or circle.salt is None:
        raise CircleClosed()
    if not await db.fetchval(
        "SELECT 1 FROM circles WHERE id = ? AND state = 'open' AND salt IS NOT NULL",
        (circle.id,),
    ):
        raise CircleClosed()
    if await db.fetchval(
        "SELECT 1 FROM anon_blocks WHERE circle_id = ? AND label_key = ?"
        " AND (expires_at IS NULL OR expires_at > ?)",
        (circle.id, label_key, times.stored(now)),
    ):
        raise Blocked()
    rows = await db.fetchall(
        f"SELECT created_at FROM anon_posts WHERE circle_id = ? AND label_key = ?"
        f" AND status IN ({_placeholders(_COUNTED)}) AND created_at > ? ORDER BY created_at",
        (circle.id, label_key, *_COUNTED, times.stored(now - RATE_WINDOW)),
    )
    if len(rows) >= RATE_LIMIT:
        # The post that must age out of the window before the count drops below the limit.
        oldest = times.read(rows[len(rows) - RATE_LIMIT]["created_at"])
        raise RateLimited(oldest + RATE_WINDOW, now=now)


def _clean_note(content_note: str | None) -> str | None:
    if content_note is None or not content_note.strip():
        return None
    return clean_text(content_note, limit=MAX_NOTE, what="The content note")


async def save_draft(
    db: Database,
    circle: Circle,
    label_key: bytes,
    *,
    text: str,
    content_note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    now: datetime,
) -> AnonPost:
    """Hold a post whose text has identifying details until its author confirms it.

    Runs the same checks as `submit`, so the author is not asked to confirm a post that
    would then be refused. The draft expires after DRAFT_TTL.
    """
    cleaned = clean_text(text)
    note = _clean_note(content_note)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with db.transaction():
        await check_can_post(db, circle, label_key, now=now)
        label = await label_for(db, circle.id, label_key)
        await db.insert(
            "INSERT INTO anon_posts (token, circle_id, label, label_key, status, text,"
            " content_note, reply_to_message_id, quote_link, created_at)"
            " VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?)",
            (
                token,
                circle.id,
                label,
                label_key,
                cleaned,
                note,
                reply_to_message_id,
                quote_link,
                times.to_minute(now),
            ),
        )
    post = await get_post(db, token)
    assert post is not None
    return post


async def get_draft(db: Database, token: str, *, now: datetime) -> AnonPost | None:
    """The draft with this token, or None when there is none or it has expired."""
    return await _post_where(
        db,
        "token = ? AND status = 'draft' AND created_at > ?",
        (token, times.stored(now - DRAFT_TTL)),
    )


async def discard_draft(db: Database, token: str) -> bool:
    """Delete a draft. True if there was one. Idempotent."""
    return (
        await db.execute("DELETE FROM anon_posts WHERE token = ? AND status = 'draft'", (token,))
        > 0
    )


async def submit(
    db: Database,
    circle: Circle,
    label_key: bytes,
    *,
    text: str,
    content_note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    now: datetime,
    delay_max_seconds: int,
    draft_token: str | None = None,
    rng: random.Random | None = None,
) -> AnonPost:
    """Store a post for review (review circles) or delivery; return it as stored.

    In the queue, a post waits a random time up to `delay_max_seconds`, so its timing does
    not point at whoever was just active, but never leaves before a post queued earlier in
    the same circle. A post held for review waits its own random time before it reaches
    the moderators' queue (`deliver_at` until then; see `due_reviews`), since a queue
    message's timestamp would otherwise be the moment it was written. With `draft_token`,
    that (unexpired) draft of this author becomes the post, keeping its token; NotFound if
    it is gone. Identifying details are not checked here: the caller does that first and
    saves a draft instead.
    """
    cleaned = clean_text(text)
    note = _clean_note(content_note)
    delay = _random_delay(delay_max_seconds, rng)
    async with db.transaction():
        await check_can_post(db, circle, label_key, now=now)
        label = await label_for(db, circle.id, label_key)
        if circle.review:
            status, deliver_at = "review", now + (delay or timedelta())
        else:
            status, deliver_at = "queued", await _deliver_at(db, circle.id, now, delay)
        values = (
            label,
            status,
            cleaned,
            note,
            reply_to_message_id,
            quote_link,
            times.to_minute(now),
            None if deliver_at is None else times.to_second(deliver_at),
        )
        if draft_token is None:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            await db.insert(
                "INSERT INTO anon_posts (label, status, text, content_note, reply_to_message_id,"
                " quote_link, created_at, deliver_at, token, circle_id, label_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, token, circle.id, label_key),
            )
        else:
            token = draft_token
            # created_at moves to the moment of submitting: the rate limit counts posts
            # from then, and the draft's own time only served its expiry.
            changed = await db.execute(
                "UPDATE anon_posts SET label = ?, status = ?, text = ?, content_note = ?,"
                " reply_to_message_id = ?, quote_link = ?, created_at = ?, deliver_at = ?"
                " WHERE token = ? AND circle_id = ? AND label_key = ? AND status = 'draft'"
                " AND created_at > ?",
                (*values, token, circle.id, label_key, times.stored(now - DRAFT_TTL)),
            )
            if not changed:
                raise NotFound("That draft has expired. Please write your post again.")
    post = await get_post(db, token)
    assert post is not None
    return post


def _random_delay(delay_max_seconds: int, rng: random.Random | None) -> timedelta | None:
    if not delay_max_seconds:
        return None
    source = rng if rng is not None else DELAY_RANDOM
    # At least a second: due times are stored to the second (rounded down), so a shorter
    # wait could be due at once and the post appear as its author submitted it.
    return timedelta(seconds=source.uniform(1, max(delay_max_seconds, 1)))


async def _deliver_at(
    db: Database, circle_id: int, now: datetime, delay: timedelta | None
) -> datetime:
    wanted = now + delay if delay is not None else now
    latest = await db.fetchval(
        "SELECT max(deliver_at) FROM anon_posts WHERE circle_id = ?"
        " AND status IN ('queued', 'sending')",
        (circle_id,),
    )
    if latest is not None:
        wanted = max(wanted, times.read(latest))
    return wanted


# --- review --------------------------------------------------------------------------------


async def pending_reviews(db: Database, guild_circle_ids: Sequence[int]) -> list[AnonPost]:
    """Posts waiting for a moderator in these circles, oldest first.

    Only those whose wait before reaching the queue is over: listing one earlier would give
    away when it was written.
    """
    if not guild_circle_ids:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM anon_posts WHERE status = 'review'"
        f" AND (deliver_at IS NULL OR queue_tries > 0)"
        f" AND circle_id IN ({_placeholders(guild_circle_ids)}) ORDER BY created_at, id",
        tuple(guild_circle_ids),
    )
    return [_post(r) for r in rows]


async def review_send_failed(db: Database, post_id: int, *, retry_at: datetime | None) -> bool:
    """A held post could not be sent to the moderators' queue channel: try again at
    `retry_at` (None: not by itself, e.g. the channel is gone). It stays held and listed in
    /mod queue meanwhile (its wait is over); `queue_tries` counts the failed sends, so the
    next try looks for it in the channel first. False if it is no longer held or already in
    the queue channel."""
    changed = await db.execute(
        "UPDATE anon_posts SET deliver_at = ?, queue_tries = queue_tries + 1"
        " WHERE id = ? AND status = 'review' AND review_message_id IS NULL",
        (None if retry_at is None else times.stored(retry_at), post_id),
    )
    return changed > 0


async def due_reviews(db: Database, *, now: datetime, limit: int = 50) -> list[AnonPost]:
    """Held posts due to be sent to the moderators' queue channel: their random wait is
    over, or an earlier send failed and its retry is due."""
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE status = 'review' AND review_message_id IS NULL"
        " AND deliver_at <= ? ORDER BY id LIMIT ?",
        (times.stored(now), limit),
    )
    return [_post(r) for r in rows]


async def mark_announced(db: Database, post_id: int, message_id: int | None) -> bool:
    """Record that a held post reached the queue (`message_id` None: only `/mod queue` lists
    it, as when no queue channel is set). False when it is no longer held or was already
    announced; idempotent."""
    changed = await db.execute(
        "UPDATE anon_posts SET deliver_at = NULL,"
        " review_message_id = coalesce(?, review_message_id)"
        " WHERE id = ? AND status = 'review' AND deliver_at IS NOT NULL",
        (message_id, post_id),
    )
    return changed > 0


async def approve(
    db: Database,
    token: str,
    *,
    now: datetime,
    delay_max_seconds: int = 0,
    rng: random.Random | None = None,
) -> AnonPost:
    """Send a post in review to the outbox: after a random wait up to `delay_max_seconds`,
    as any post, and behind any post of its circle that is still waiting to go out, so the
    approval's moment does not become the post's. NotFound if it is not in review: already
    decided by another moderator, deleted, or its circle closed."""
    delay = _random_delay(delay_max_seconds, rng)
    async with db.transaction():
        circle_id = await db.fetchval(
            "SELECT circle_id FROM anon_posts WHERE token = ? AND status = 'review'", (token,)
        )
        changed = 0
        if circle_id is not None:
            deliver_at = await _deliver_at(db, circle_id, now, delay)
            changed = await db.execute(
                "UPDATE anon_posts SET status = 'queued', deliver_at = ?, decided_at = ?"
                " WHERE token = ? AND status = 'review'",
                (times.to_second(deliver_at), times.to_minute(now), token),
            )
    return await _decided(db, token, changed)


async def reject(db: Database, token: str, *, now: datetime) -> AnonPost:
    """Reject a post in review and drop its text. NotFound if it is not in review."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'rejected', text = NULL, content_note = NULL,"
        " deliver_at = NULL, decided_at = ? WHERE token = ? AND status = 'review'",
        (times.to_minute(now), token),
    )
    if changed:
        db.scrub_soon()
    return await _decided(db, token, changed)


async def _decided(db: Database, token: str, changed: int) -> AnonPost:
    post = await get_post(db, token) if changed else None
    if post is None:
        raise NotFound("That post was already handled or no longer exists.")
    return post


# --- outbox --------------------------------------------------------------------------------


async def due_posts(db: Database, *, now: datetime, limit: int = 50) -> list[AnonPost]:
    """Posts to deliver now, by circle and in the order they were submitted.

    Includes posts left in 'sending' by a crash or by a failure that may have reached
    Discord: the caller checks whether Discord already has them before sending again.
    """
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE status IN ('queued', 'sending')"
        " AND coalesce(deliver_at, '') <= ? ORDER BY circle_id, id LIMIT ?",
        (times.stored(now), limit),
    )
    return [_post(r) for r in rows]


async def next_delivery_at(db: Database) -> datetime | None:
    """When the earliest waiting post falls due (to its thread, or a held post to the
    queue channel after its wait or a failed send), or None when there is none."""
    value = await db.fetchval(
        "SELECT min(deliver_at) FROM anon_posts WHERE status IN ('queued', 'sending')"
        " OR (status = 'review' AND review_message_id IS NULL)"
    )
    return None if value is None else times.read(value)


async def mark_sending(db: Database, post_id: int) -> bool:
    """Claim a queued post for delivery. True if it was queued; False when it is already
    sending (idempotent) or no longer waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'sending' WHERE id = ? AND status = 'queued'", (post_id,)
    )
    return changed > 0


async def mark_posted(db: Database, post_id: int, message_id: int, *, now: datetime) -> bool:
    """Record delivery and drop the text. Idempotent: False if it was not waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'posted', message_id = ?, text = NULL,"
        " content_note = NULL, decided_at = coalesce(decided_at, ?)"
        " WHERE id = ? AND status IN ('queued', 'sending')",
        (message_id, times.to_minute(now), post_id),
    )
    if changed:
        db.scrub_soon()  # the text is still in the WAL's older frames until then
    return changed > 0


async def mark_failed(
    db: Database,
    post_id: int,
    *,
    retry_at: datetime,
    may_have_gone_out: bool = False,
) -> bool:
    """Put a post whose delivery failed for now back in the queue until `retry_at`.

    With `may_have_gone_out` (a server error: Discord may have posted it before failing)
    it stays 'sending', so the next try looks for it before sending again. Later posts of
    the same circle wait until `retry_at` too, so they do not overtake it. Idempotent:
    False if the post was not waiting.
    """
    async with db.transaction():
        row = await db.fetchone(
            "SELECT circle_id FROM anon_posts WHERE id = ? AND status IN ('queued', 'sending')",
            (post_id,),
        )
        if row is None:
            return False
        when = times.to_second(retry_at)
        await db.execute(
            "UPDATE anon_posts SET status = ?, deliver_at = max(coalesce(deliver_at, ?), ?)"
            " WHERE id = ?",
            ("sending" if may_have_gone_out else "queued", when, when, post_id),
        )
        await db.execute(
            "UPDATE anon_posts SET deliver_at = ? WHERE circle_id = ? AND id > ?"
            " AND status = 'queued' AND deliver_at < ?",
            (when, row["circle_id"], post_id, when),
        )
    return True


async def mark_undeliverable(db: Database, post_id: int, *, now: datetime) -> bool:
    """Give up on a post that can never be delivered (its thread is gone) and drop its
    text. It keeps its `deliver_at`, which marks it `undeliverable` rather than rejected.
    Idempotent: False if it was not waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'rejected', text = NULL, content_note = NULL,"
        " decided_at = ? WHERE id = ? AND status IN ('queued', 'sending')",
        (times.to_minute(now), post_id),
    )
    if changed:
        db.scrub_soon()
    return changed > 0


# --- the author's own posts ----------------------------------------------------------------


async def posts_by(db: Database, circle_id: int, label_key: bytes) -> list[AnonPost]:
    """This author's posts in the circle (not drafts), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE circle_id = ? AND label_key = ? AND status != 'draft'"
        " ORDER BY created_at DESC, id DESC",
        (circle_id, label_key),
    )
    return [_post(r) for r in rows]


async def delete_own(
    db: Database,
    circle_id: int,
    label_key: bytes,
    token: str,
    *,
    checked_not_sent: bool = False,
) -> AnonPost:
    """Delete one of the author's posts and return what it was, so the caller can delete
    its Discord message.

    A post in 'sending' is refused unless the caller holds the outbox and has made sure no
    message of it went out (`checked_not_sent`). NotFound unless the post belongs to this
    key in this circle; the message does not say whether someone else's post with that
    token exists.
    """
    post = await _post_where(
        db, "token = ? AND circle_id = ? AND label_key = ?", (token, circle_id, label_key)
    )
    if post is None:
        raise NotFound("That isn't one of your posts, or it no longer exists.")
    if post.status == "sending" and not checked_not_sent:
        # Deleting now would leave the message that is on its way with no record to
        # delete it by.
        raise AnonError("That post is being delivered right now. Please try again in a moment.")
    deleted = await db.execute(
        "DELETE FROM anon_posts WHERE id = ? AND (status != 'sending' OR ?)",
        (post.id, checked_not_sent),
    )
    if not deleted:  # delivery began between the read and the delete
        raise AnonError("That post is being delivered right now. Please try again in a moment.")
    await db.scrub()
    return post


async def delete_own_posts(
    db: Database, circle_id: int, label_key: bytes, tokens: Sequence[str]
) -> list[AnonPost]:
    """Delete these posts of the author's at once ("all my posts in this circle"); return
    those deleted. Tokens that are not this key's posts in this circle, or are being
    delivered right now, are left alone. Idempotent.
    """
    deleted: list[AnonPost] = []
    async with db.transaction():
        for token in tokens:
            post = await _post_where(
                db,
                "token = ? AND circle_id = ? AND label_key = ? AND status != 'sending'",
                (token, circle_id, label_key),
            )
            if post is not None:
                await db.execute("DELETE FROM anon_posts WHERE id = ?", (post.id,))
                deleted.append(post)
    if deleted:
        await db.scrub()
    return deleted


# --- lookups -------------------------------------------------------------------------------


async def review_messages(db: Database, circle_id: int) -> list[int]:
    """The queue-channel messages of the circle's posts, for clearing them when it closes."""
    rows = await db.fetchall(
        "SELECT review_message_id FROM anon_posts WHERE circle_id = ?"
        " AND review_message_id IS NOT NULL",
        (circle_id,),
    )
    return [r["review_message_id"] for r in rows]


async def post_for_message(db: Database, message_id: int) -> AnonPost | None:
    """The anonymous post that this Discord message is, if any."""
    return await _post_where(db, "message_id = ?", (message_id,))


async def get_post(db: Database, token: str) -> AnonPost | None:
    return await _post_where(db, "token = ?", (token,))


# --- moderation ----------------------------------------------------------------------------


async def mark_removed(db: Database, post_id: int, *, now: datetime) -> bool:
    """Mark a post removed by a moderator and drop its text.

    The label and key stay, so the author can still be blocked and sees the post as
    removed in their list. Idempotent: False if it was already removed or is a draft.
    """
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'removed', text = NULL, content_note = NULL,"
        " decided_at = ? WHERE id = ? AND status NOT IN ('removed', 'draft')",
        (times.to_minute(now), post_id),
    )
    if changed:
        await db.scrub()
    return changed > 0


async def block(
    db: Database,
    circle_id: int,
    label_key: bytes,
    label: str,
    *,
    reason: str,
    now: datetime,
    expires_at: datetime | None,
) -> int:
    """Block an author (by key) from posting anonymously in one circle; return the block id.

    An expired block is replaced; an active one raises AnonError.
    """
    async with db.transaction():
        await db.execute(
            "DELETE FROM anon_blocks WHERE circle_id = ? AND label_key = ?"
            " AND expires_at IS NOT NULL AND expires_at <= ?",
            (circle_id, label_key, times.stored(now)),
        )
        try:
            return await db.insert(
                "INSERT INTO anon_blocks (circle_id, label_key, label, reason, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    circle_id,
                    label_key,
                    label,
                    reason.strip(),
                    times.to_minute(now),
                    None if expires_at is None else times.to_minute(expires_at),
                ),
            )
        except sqlite3.IntegrityError:
            raise AnonError("That author is already blocked in this circle.") from None


async def unblock(db: Database, block_id: int, circle_ids: Sequence[int]) -> bool:
    """Lift a block, only if it belongs to one of `circle_ids` (the moderator's server).
    True if it was lifted."""
    if not circle_ids:
        return False
    changed = await db.execute(
        f"DELETE FROM anon_blocks WHERE id = ? AND circle_id IN ({_placeholders(circle_ids)})",
        (block_id, *circle_ids),
    )
    return changed > 0


async def blocks(db: Database, circle_ids: Sequence[int], *, now: datetime) -> list[AnonBlock]:
    """Active blocks in these circles, oldest first."""
    if not circle_ids:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM anon_blocks WHERE circle_id IN ({_placeholders(circle_ids)})"
        " AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, id",
        (*circle_ids, times.stored(now)),
    )
    return [_block(r) for r in rows]


async def purge_expired(db: Database, *, now: datetime) -> int:
    """Delete expired drafts and blocks; return how many rows went."""
    async with db.transaction():
        drafts = await db.execute(
            "DELETE FROM anon_posts WHERE status = 'draft' AND created_at <= ?",
            (times.stored(now - DRAFT_TTL),),
        )
        expired = await db.execute(
            "DELETE FROM anon_blocks WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (times.stored(now),),
        )
    if drafts:
        db.scrub_soon()
    return drafts + expired
