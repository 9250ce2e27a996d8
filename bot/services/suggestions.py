"""Prompts members suggest for a circle without their name, and the keepers' decisions.

A suggestion is known to the bot only by its author key, HMAC(circle key, "suggestion:" +
member id): it needs the master secret (in strict circles, the key in memory) and is no label
key, so nothing links a suggestion to the author's posts or to them. The author finds their
suggestions again by recomputing the key. Keepers see a suggestion only once its random wait
(the server's delay for anonymous posts) is over, so when it reaches them points at no one.

A keeper adds it, as an unattributed circle prompt `c<N>`, or declines it with an optional
reason for the author; either way its text goes from the row. Suggestions older than the
server's retention window are deleted, and closing the circle deletes them all.

Times are timezone-aware UTC datetimes passed in by the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.db import Database
from bot.decks import MAX_CONTENT_NOTE, MAX_PROMPT_TEXT
from bot.i18n import N_
from bot.services import prompts, times
from bot.services.anonymous import DELAY_RANDOM, clean_text
from bot.services.errors import Refusal

MAX_WAITING = 3  # undecided suggestions one author may have in a circle at once
MAX_REASON = 300
TOKEN_BYTES = 12

Status = Literal["waiting", "added", "declined"]


class SuggestionError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


ALREADY_DECIDED = N_(
    "This suggestion was already decided by a keeper (or is gone); nothing changed."
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    circle_id: int
    token: str
    text: str | None
    content_note: str | None
    status: Status
    shown_at: datetime
    created_at: datetime
    decided_at: datetime | None
    prompt_id: str | None
    reason: str | None


def author_key(circle_key: bytes, user_id: int) -> bytes:
    return hmac.new(circle_key, b"suggestion:" + str(user_id).encode(), hashlib.sha256).digest()


def _suggestion(row: sqlite3.Row) -> Suggestion:
    return Suggestion(
        id=row["id"],
        circle_id=row["circle_id"],
        token=row["token"],
        text=row["text"],
        content_note=row["content_note"],
        status=row["status"],
        shown_at=times.read(row["shown_at"]),
        created_at=times.read(row["created_at"]),
        decided_at=times.read_optional(row["decided_at"]),
        prompt_id=row["prompt_id"],
        reason=row["reason"],
    )


def clean_suggestion(text: str, content_note: str | None) -> tuple[str, str]:
    """The text and note as a circle prompt would keep them; SuggestionError if they can't be."""
    cleaned = clean_text(text, limit=MAX_PROMPT_TEXT, what=N_("Your suggestion"))
    note = " ".join((content_note or "").split())
    if len(note) > MAX_CONTENT_NOTE:
        raise SuggestionError(
            N_(
                "A content note can be at most {limit} characters (a few words, like "
                "“police violence”); this one has {count}."
            ),
            limit=MAX_CONTENT_NOTE,
            count=len(note),
        )
    return cleaned, note


async def suggest(
    db: Database,
    circle_id: int,
    key: bytes,
    *,
    text: str,
    content_note: str | None,
    delay_max_seconds: int,
    now: datetime,
    rng: random.Random | None = None,
) -> Suggestion:
    """Store a suggestion for the circle's keepers, shown to them after a random wait.

    Raises SuggestionError (or InvalidText) on bad text or when the author already has
    `MAX_WAITING` undecided suggestions here.
    """
    cleaned, note = clean_suggestion(text, content_note)
    source = rng if rng is not None else DELAY_RANDOM
    wait = timedelta(seconds=source.uniform(1, delay_max_seconds)) if delay_max_seconds else None
    shown_at = now + wait if wait else now
    async with db.atomic():
        waiting = await db.fetchval(
            "SELECT count(*) FROM prompt_suggestions WHERE circle_id = ? AND author_key = ?"
            " AND status = 'waiting'",
            (circle_id, key),
        )
        if waiting >= MAX_WAITING:
            raise SuggestionError(
                N_(
                    "You already have {count} suggestions waiting for this circle's keepers. "
                    "Please wait until they have looked at one (`/anon mine` shows where they "
                    "are)."
                ),
                count=waiting,
            )
        row_id = await db.insert(
            "INSERT INTO prompt_suggestions (circle_id, token, author_key, text, content_note,"
            " status, shown_at, created_at) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?)",
            (
                circle_id,
                secrets.token_urlsafe(TOKEN_BYTES),
                key,
                cleaned,
                note,
                times.to_second(shown_at),
                times.to_minute(now),
            ),
        )
    found = await _by_id(db, row_id)
    assert found is not None
    return found


async def _by_id(db: Database, row_id: int) -> Suggestion | None:
    row = await db.fetchone("SELECT * FROM prompt_suggestions WHERE id = ?", (row_id,))
    return _suggestion(row) if row else None


async def get(db: Database, token: str) -> Suggestion | None:
    row = await db.fetchone("SELECT * FROM prompt_suggestions WHERE token = ?", (token,))
    return _suggestion(row) if row else None


async def for_keepers(db: Database, circle_id: int, *, now: datetime) -> list[Suggestion]:
    """Undecided suggestions whose wait is over, in the order they became visible."""
    rows = await db.fetchall(
        "SELECT * FROM prompt_suggestions WHERE circle_id = ? AND status = 'waiting'"
        " AND shown_at <= ? ORDER BY shown_at, id",
        (circle_id, times.stored(now)),
    )
    return [_suggestion(r) for r in rows]


async def by_author(db: Database, circle_id: int, key: bytes) -> list[Suggestion]:
    """The author's suggestions in the circle, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM prompt_suggestions WHERE circle_id = ? AND author_key = ? ORDER BY id DESC",
        (circle_id, key),
    )
    return [_suggestion(r) for r in rows]


async def _waiting_in(db: Database, token: str, circle_id: int, now: datetime) -> Suggestion:
    found = await get(db, token)
    if (
        found is None
        or found.circle_id != circle_id
        or found.status != "waiting"
        or found.shown_at > now
    ):
        raise SuggestionError(ALREADY_DECIDED)
    return found


async def add(db: Database, token: str, circle_id: int, *, now: datetime) -> prompts.Prompt:
    """Make the suggestion a prompt of its circle (`c<N>`, unattributed) and drop its text,
    in one transaction. SuggestionError when it was already decided."""
    async with db.atomic():
        found = await _waiting_in(db, token, circle_id, now)
        assert found.text is not None
        prompt = await prompts.add_custom_prompt(
            db, circle_id, found.text, found.content_note or None, now
        )
        await db.execute(
            "UPDATE prompt_suggestions SET status = 'added', text = NULL, content_note = NULL,"
            " prompt_id = ?, decided_at = ? WHERE id = ? AND status = 'waiting'",
            (prompt.id, times.to_minute(now), found.id),
        )
    db.scrub_soon()
    return prompt


async def decline(
    db: Database, token: str, circle_id: int, *, reason: str | None, now: datetime
) -> Suggestion:
    """Decline the suggestion, keeping only the reason for its author; its text goes.

    SuggestionError when it was already decided or the reason is too long."""
    cleaned = " ".join((reason or "").split()) or None
    if cleaned is not None and len(cleaned) > MAX_REASON:
        raise SuggestionError(
            N_("A reason can be at most {limit} characters; this one has {count}."),
            limit=MAX_REASON,
            count=len(cleaned),
        )
    async with db.atomic():
        found = await _waiting_in(db, token, circle_id, now)
        await db.execute(
            "UPDATE prompt_suggestions SET status = 'declined', text = NULL, content_note = NULL,"
            " reason = ?, decided_at = ? WHERE id = ? AND status = 'waiting'",
            (cleaned, times.to_minute(now), found.id),
        )
    db.scrub_soon()
    decided = await _by_id(db, found.id)
    assert decided is not None
    return decided


async def purge_expired(db: Database, guild_id: int, retention_days: int, *, now: datetime) -> int:
    """Delete the server's suggestions made before its retention window. Idempotent."""
    cutoff = times.stored(now - timedelta(days=retention_days))
    removed = await db.execute(
        "DELETE FROM prompt_suggestions WHERE created_at < ?"
        " AND circle_id IN (SELECT id FROM circles WHERE guild_id = ?)",
        (cutoff, guild_id),
    )
    if removed:
        db.scrub_soon()
    return removed
