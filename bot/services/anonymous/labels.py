"""Label keys and labels: who an author is to the bot (a key), and to the circle (a label)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import secrets
from collections.abc import Iterator

from bot.db import Database
from bot.i18n import N_
from bot.services.anonymous.rules import KEY_BYTES, AnonError, CircleClosed
from bot.services.circles import Circle
from bot.services.wordlists import ENGLISH_WORDS, LabelWords, label_words

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


# Candidates tried one by one before reading the circle's used labels at once: in a circle
# of a few dozen members nearly every member gets one of their first few.
_LABEL_ATTEMPTS = 16


def label_candidates(label_key: bytes, words: LabelWords = ENGLISH_WORDS) -> Iterator[str]:
    """Every adjective-noun label once, in an order fixed by the key.

    A start and a step coprime to the number of combinations visit each combination
    exactly once; deriving both from the key spreads members over the whole space, so
    most members get their first candidate.
    """
    n = len(words.adjectives) * len(words.nouns)
    start = int.from_bytes(label_key[:8], "big") % n
    step = int.from_bytes(label_key[8:16], "big") % n or 1
    while math.gcd(step, n) != 1:
        step = step % n + 1
    for i in range(n):
        adjective, noun = divmod((start + i * step) % n, len(words.nouns))
        yield words.label(adjective, noun)


def _numbered_candidates(label_key: bytes, words: LabelWords) -> Iterator[str]:
    """Labels with a number (2 to 999), for circles with more members than plain labels."""
    base = int.from_bytes(label_key[16:24], "big")
    for i, name in enumerate(label_candidates(label_key, words)):
        yield f"{name} {2 + (base + i) % 998}"


def _first_free(label_key: bytes, used: set[str], words: LabelWords) -> str:
    first = None
    for candidate in label_candidates(label_key, words):
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


async def label_for(db: Database, circle_id: int, label_key: bytes, language: str = "en") -> str:
    """The author's label in this circle, allocating one on first use from the words of the
    circle's language (a label already given stays as it is).

    No two label keys in one circle share a label. Safe without a transaction (and so
    usable inside one): the key's candidates are tried in turn with INSERT OR IGNORE, so if
    another task takes a label first the next one is tried. The candidates are checked with
    one indexed read; only in a circle that has used up the early candidates
    are all its labels read.
    """
    existing = await _stored_label(db, circle_id, label_key)
    if existing is not None:
        return existing
    # The key's own order of plain labels first, then (in a circle that has used up the
    # plain ones) the same names with a number the key also fixes: all checked with one
    # indexed read, so a circle with more authors than plain labels costs no more, and the
    # first free one claimed.
    words = label_words(language)
    candidates = [
        *itertools.islice(label_candidates(label_key, words), _LABEL_ATTEMPTS),
        *itertools.islice(_numbered_candidates(label_key, words), _LABEL_ATTEMPTS),
    ]
    taken = await _taken(db, circle_id, candidates)
    for candidate in candidates:
        if candidate in taken:
            continue
        if await _claim(db, circle_id, label_key, candidate):
            return candidate
        existing = await _stored_label(db, circle_id, label_key)
        if existing is not None:  # another task gave this key its label meanwhile
            return existing
    rows = await db.fetchall("SELECT label FROM anon_labels WHERE circle_id = ?", (circle_id,))
    label = _first_free(label_key, {r["label"] for r in rows}, words)
    if await _claim(db, circle_id, label_key, label):
        return label
    existing = await _stored_label(db, circle_id, label_key)
    if existing is None:
        raise AnonError(N_("Too many people are posting at once. Please try again in a moment."))
    return existing


async def _taken(db: Database, circle_id: int, labels: list[str]) -> set[str]:
    """Which of these labels someone in the circle already has."""
    rows = await db.fetchall(
        f"SELECT label FROM anon_labels WHERE circle_id = ?"
        f" AND label IN ({', '.join('?' for _ in labels)})",
        (circle_id, *labels),
    )
    return {r["label"] for r in rows}


async def _claim(db: Database, circle_id: int, label_key: bytes, label: str) -> bool:
    """Give `label` to the key if neither has one yet in the circle. True if it did."""
    return (
        await db.execute(
            "INSERT OR IGNORE INTO anon_labels (circle_id, label_key, label) VALUES (?, ?, ?)",
            (circle_id, label_key, label),
        )
        > 0
    )
