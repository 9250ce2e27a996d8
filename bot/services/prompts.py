"""Prompts in circles: which one comes next, the ones keepers add, and posting schedules.

A circle works through its deck in deck order, then through the prompts its keepers added
(oldest first). A circle's own prompts have the id ``c<row id>`` and are moderate, with at
most one content note. ``posted_prompts`` holds one row per prompt and circle, so nothing is
chosen twice however it was posted.

Times are passed in (``now``) and stored as ISO strings.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.db import Database
from bot.decks import MAX_CONTENT_NOTE, MAX_PROMPT_TEXT, Library, Prompt, Session
from bot.i18n import N_, Phrase
from bot.services import times
from bot.services.circles import Circle
from bot.services.errors import Refusal

CUSTOM_PREFIX = "c"
CUSTOM_INTENSITY = "moderate"
MIN_EVERY_HOURS = 1
MAX_EVERY_HOURS = 720  # 30 days, the schema's limit
FIRST_AT_FORMAT = Phrase(
    N_(
        "Give the start time as an ISO 8601 date and time with its UTC offset, for example "
        "2026-12-01T18:00:00+01:00 (or 2026-12-01T17:00:00Z for UTC)."
    )
)

_CUSTOM_ID = re.compile(r"c([0-9]+)")


class PromptError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class Schedule(NamedTuple):
    """A circle's posting schedule: a prompt every `every_hours`, the next one at `next_at`.

    Heavy prompts are posted automatically only when `include_heavy` is set; otherwise the
    schedule stops before one.
    """

    circle_id: int
    every_hours: int
    next_at: datetime
    include_heavy: bool = False


def _custom_prompt(row_id: int, text: str, content_note: str) -> Prompt:
    return Prompt(
        id=f"{CUSTOM_PREFIX}{row_id}",
        text=text,
        follow_ups=(),
        content_notes=(content_note,) if content_note else (),
        intensity=CUSTOM_INTENSITY,
        source="added by a keeper",
        deck_id="",
        session_id="",
    )


# --- choosing prompts --------------------------------------------------------------------


async def posted_ids(db: Database, circle_id: int) -> list[str]:
    """Ids of the prompts posted in the circle, in the order they were first recorded."""
    rows = await db.fetchall(
        "SELECT prompt_id FROM posted_prompts WHERE circle_id = ? ORDER BY rowid",
        (circle_id,),
    )
    return [r["prompt_id"] for r in rows]


async def next_prompt(db: Database, library: Library, circle: Circle) -> Prompt | None:
    """The first prompt of the circle's deck not yet posted there, then its own prompts.

    None when every one has been posted.
    """
    return await _first_unposted(db, library, circle, set(await posted_ids(db, circle.id)))


async def next_prompt_opening(
    db: Database, library: Library, circle: Circle
) -> tuple[Prompt | None, Session | None]:
    """`next_prompt`, and the session it opens (`session_started_by`), reading once what was
    posted in the circle."""
    posted = set(await posted_ids(db, circle.id))
    prompt = await _first_unposted(db, library, circle, posted)
    return prompt, _session_opened(library, prompt, posted) if prompt is not None else None


async def _first_unposted(
    db: Database, library: Library, circle: Circle, posted: set[str]
) -> Prompt | None:
    deck = library.deck(circle.deck_id)
    if deck is not None:
        for prompt in deck.prompts():
            if prompt.id not in posted:
                return prompt
    rows = await db.fetchall(
        "SELECT id, text, content_note FROM custom_prompts WHERE circle_id = ? ORDER BY id",
        (circle.id,),
    )
    for row in rows:
        prompt = _custom_prompt(row["id"], row["text"], row["content_note"])
        if prompt.id not in posted:
            return prompt
    return None


async def session_started_by(
    db: Database, library: Library, circle_id: int, prompt: Prompt
) -> Session | None:
    """The deck session this prompt opens in the circle: nothing from it was posted there yet.

    None for a circle's own prompts and for a prompt inside a session already begun.
    """
    if not prompt.deck_id:
        return None  # a circle's own prompt
    return _session_opened(library, prompt, set(await posted_ids(db, circle_id)))


def _session_opened(library: Library, prompt: Prompt, posted: set[str]) -> Session | None:
    deck = library.deck(prompt.deck_id) if prompt.deck_id else None
    if deck is None:
        return None
    session = next((s for s in deck.sessions if s.id == prompt.session_id), None)
    if session is None or any(p.id in posted for p in session.prompts):
        return None
    return session


async def find_prompt(
    db: Database, library: Library, circle_id: int, prompt_id: str
) -> Prompt | None:
    """A deck prompt by id, or one of this circle's own prompts ("c12"); None otherwise."""
    wanted = prompt_id.strip().lower()
    prompt = library.prompt(wanted)
    if prompt is not None:
        return prompt
    match = _CUSTOM_ID.fullmatch(wanted)
    if match is None:
        return None
    row = await db.fetchone(
        "SELECT id, text, content_note FROM custom_prompts WHERE id = ? AND circle_id = ?",
        (int(match.group(1)), circle_id),
    )
    return _custom_prompt(row["id"], row["text"], row["content_note"]) if row else None


async def custom_prompts(db: Database, circle_id: int) -> list[Prompt]:
    """The prompts keepers added to the circle, oldest first."""
    rows = await db.fetchall(
        "SELECT id, text, content_note FROM custom_prompts WHERE circle_id = ? ORDER BY id",
        (circle_id,),
    )
    return [_custom_prompt(r["id"], r["text"], r["content_note"]) for r in rows]


# --- posting -----------------------------------------------------------------------------


async def record_posted(
    db: Database, circle_id: int, prompt_id: str, message_id: int | None, now: datetime
) -> bool:
    """Record that the prompt was posted in the circle. Idempotent: the first post is kept.

    True when this was the first time.
    """
    added = await db.execute(
        "INSERT OR IGNORE INTO posted_prompts (circle_id, prompt_id, message_id, posted_at)"
        " VALUES (?, ?, ?, ?)",
        (circle_id, prompt_id, message_id, times.stored(now)),
    )
    return added > 0


async def was_posted(db: Database, circle_id: int, prompt_id: str) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM posted_prompts WHERE circle_id = ? AND prompt_id = ?",
            (circle_id, prompt_id),
        )
    )


async def add_custom_prompt(
    db: Database, circle_id: int, text: str, content_note: str | None, now: datetime
) -> Prompt:
    """Add a prompt for this circle only; it comes after the deck.

    Raises PromptError when the text is empty or too long, or the note too long.
    """
    cleaned = text.strip()
    if not cleaned:
        raise PromptError(N_("A prompt needs some text."))
    if len(cleaned) > MAX_PROMPT_TEXT:
        raise PromptError(
            N_("Prompts can be at most {limit} characters; this one has {count}."),
            limit=MAX_PROMPT_TEXT,
            count=len(cleaned),
        )
    note = " ".join((content_note or "").split())
    if len(note) > MAX_CONTENT_NOTE:
        raise PromptError(
            N_(
                "A content note can be at most {limit} characters (a few words, like "
                "“police violence”); this one has {count}."
            ),
            limit=MAX_CONTENT_NOTE,
            count=len(note),
        )
    row_id = await db.insert(
        "INSERT INTO custom_prompts (circle_id, text, content_note, created_at)"
        " VALUES (?, ?, ?, ?)",
        (circle_id, cleaned, note, times.stored(now)),
    )
    return _custom_prompt(row_id, cleaned, note)


# --- schedules ---------------------------------------------------------------------------


def parse_first_at(text: str) -> datetime:
    """A date and time in ISO 8601 with its UTC offset (or Z); PromptError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PromptError(
            N_("“{text}” is not a time I understand. {format}"),
            text=text.strip()[:60],
            format=FIRST_AT_FORMAT,
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PromptError(
            N_("That time has no UTC offset, so I can't tell when it is. {format}"),
            format=FIRST_AT_FORMAT,
        )
    return moment


def _schedule(row: sqlite3.Row) -> Schedule:
    return Schedule(
        circle_id=row["circle_id"],
        every_hours=row["every_hours"],
        next_at=times.read(row["next_at"]),
        include_heavy=bool(row["include_heavy"]),
    )


async def get_schedule(db: Database, circle_id: int) -> Schedule | None:
    row = await db.fetchone("SELECT * FROM prompt_schedules WHERE circle_id = ?", (circle_id,))
    return _schedule(row) if row else None


async def set_schedule(
    db: Database,
    circle_id: int,
    every_hours: int,
    first_at: datetime | None,
    now: datetime,
    *,
    include_heavy: bool = False,
) -> Schedule:
    """Post a prompt in the circle every `every_hours`, first at `first_at` (default: one
    interval from now). Replaces any earlier schedule. Heavy prompts are posted only when
    `include_heavy` is set.

    Raises PromptError when the interval is out of range or `first_at` is not in the future.
    """
    if not MIN_EVERY_HOURS <= every_hours <= MAX_EVERY_HOURS:
        raise PromptError(
            N_("Choose between {low} and {high} hours between prompts."),
            low=MIN_EVERY_HOURS,
            high=MAX_EVERY_HOURS,
        )
    if first_at is None:
        first_at = now + timedelta(hours=every_hours)
    elif first_at.tzinfo is None:
        raise PromptError(N_("That time has no UTC offset. {format}"), format=FIRST_AT_FORMAT)
    elif first_at <= now:
        raise PromptError(N_("The first prompt's time has already passed; choose a later one."))
    await db.execute(
        "INSERT INTO prompt_schedules (circle_id, every_hours, next_at, include_heavy)"
        " VALUES (?, ?, ?, ?)"
        " ON CONFLICT (circle_id) DO UPDATE SET every_hours = excluded.every_hours,"
        " next_at = excluded.next_at, include_heavy = excluded.include_heavy",
        (circle_id, every_hours, times.stored(first_at), int(include_heavy)),
    )
    schedule = await get_schedule(db, circle_id)
    assert schedule is not None
    return schedule


async def clear_schedule(db: Database, circle_id: int) -> bool:
    """Stop the circle's schedule. True if it had one. Idempotent."""
    removed = await db.execute("DELETE FROM prompt_schedules WHERE circle_id = ?", (circle_id,))
    return removed > 0


async def due_schedules(db: Database, now: datetime) -> list[Schedule]:
    """Schedules whose next prompt is due at `now`, the longest-waiting first."""
    rows = await db.fetchall(
        "SELECT * FROM prompt_schedules WHERE next_at <= ? ORDER BY next_at, circle_id",
        (times.stored(now),),
    )
    return [_schedule(r) for r in rows]


async def next_schedule_at(db: Database) -> datetime | None:
    """When the earliest schedule falls due, or None when there is none."""
    value = await db.fetchval("SELECT min(next_at) FROM prompt_schedules")
    return None if value is None else times.read(value)


async def advance_schedule(db: Database, circle_id: int, now: datetime) -> Schedule | None:
    """Move the next time on by whole intervals until it is after `now`.

    Runs missed while the bot was offline are skipped, not posted in a burst. None when the
    circle has no schedule.
    """
    schedule = await get_schedule(db, circle_id)
    if schedule is None:
        return None
    if schedule.next_at > now:
        return schedule
    interval = timedelta(hours=schedule.every_hours)
    missed = (now - schedule.next_at) // interval + 1
    next_at = schedule.next_at + missed * interval
    await db.execute(
        "UPDATE prompt_schedules SET next_at = ? WHERE circle_id = ?",
        (times.stored(next_at), circle_id),
    )
    return schedule._replace(next_at=next_at)
