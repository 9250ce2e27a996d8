"""Anonymous polls: one vote per member, nothing shown while open, only thresholded totals after.

A vote is stored while the poll is open, keyed by HMAC(poll key, member id) with poll key =
HMAC(circle key, poll id). The circle key needs the master secret (in strict circles it lives
in memory only), so the database alone says nobody's vote, and a restart keeps the count
honest. A vote under a different key, as in a strict circle after a restart, never counts: it
is refused and the poll closes, so nobody is counted twice.

At close the votes are counted and deleted in one transaction. Only what the public results
show is kept: whether at least `SHOW_FROM` people voted, and each option's count, or None
where it was under `SMALL_UNDER`. The number of voters is kept nowhere, so a hidden count can
not be worked out from the others.

Times are timezone-aware UTC datetimes passed in by the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.i18n import N_
from bot.services import times
from bot.services.errors import Refusal

MIN_OPTIONS = 2
MAX_OPTIONS = 5
MAX_QUESTION = 300
MAX_OPTION = 80  # Discord's limit for a button's label
HOURS = (1, 168)  # a poll closes by itself within a week at most
DEFAULT_HOURS = 24
# Results show only when this many people voted, and an option's count only from this many.
SHOW_FROM = 5
SMALL_UNDER = 3
SEPARATOR = "|"
TOKEN_BYTES = 9


class PollError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class PollClosed(PollError):
    def __init__(self) -> None:
        super().__init__(N_("This poll has closed, so votes are no longer taken."))


class PollKeyLost(PollError):
    """The poll's key is not the one it was opened with (a strict circle restarted)."""

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This poll closed when the bot restarted: in a strict circle the keys that keep "
                "each vote counted once live only in memory, so they were gone."
            )
        )


@dataclass(frozen=True, slots=True)
class Poll:
    id: int
    circle_id: int
    token: str
    question: str
    options: tuple[str, ...]
    multi: bool
    key_check: bytes
    message_id: int | None
    closes_at: datetime
    closed_at: datetime | None
    enough: bool | None
    results: tuple[int | None, ...] | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class Vote:
    """The member's choices after a click (option indexes), and whether the click changed them."""

    choices: tuple[int, ...]
    changed: bool


# --- keys ------------------------------------------------------------------------------------


def poll_key(circle_key: bytes, poll_id: int) -> bytes:
    return hmac.new(circle_key, b"poll:%d" % poll_id, hashlib.sha256).digest()


def voter_key(key: bytes, user_id: int) -> bytes:
    return hmac.new(key, b"voter:" + str(user_id).encode(), hashlib.sha256).digest()


def key_check(key: bytes) -> bytes:
    return hmac.new(key, b"check", hashlib.sha256).digest()[:16]


# --- input -----------------------------------------------------------------------------------


def parse_options(text: str) -> list[str]:
    """2 to 5 distinct, non-empty choices separated by `|`; PollError saying what to change."""
    options = [" ".join(part.split()) for part in text.split(SEPARATOR)]
    if any(not option for option in options):
        raise PollError(
            N_(
                "One of the choices is empty. Separate 2 to 5 choices with `|`, for example "
                "`Mornings | Evenings | Weekends`."
            )
        )
    if len(options) < MIN_OPTIONS:
        raise PollError(
            N_(
                "A poll needs at least {count} choices, separated by `|`, for example "
                "`Yes | No | Not sure`."
            ),
            count=MIN_OPTIONS,
        )
    if len(options) > MAX_OPTIONS:
        raise PollError(
            N_("A poll can have at most {limit} choices; this one has {count}."),
            limit=MAX_OPTIONS,
            count=len(options),
        )
    long = next((o for o in options if len(o) > MAX_OPTION), None)
    if long is not None:
        raise PollError(
            N_("Each choice can be at most {limit} characters; “{choice}…” has {count}."),
            limit=MAX_OPTION,
            choice=long[:30],
            count=len(long),
        )
    folded = [o.casefold() for o in options]
    repeated = next((o for o, f in zip(options, folded, strict=True) if folded.count(f) > 1), None)
    if repeated is not None:
        raise PollError(
            N_("“{choice}” is there twice; each choice must be different."), choice=repeated
        )
    return options


def clean_question(text: str) -> str:
    question = " ".join(text.split())
    if not question:
        raise PollError(N_("A poll needs a question."))
    if len(question) > MAX_QUESTION:
        raise PollError(
            N_("The question can be at most {limit} characters; this one has {count}."),
            limit=MAX_QUESTION,
            count=len(question),
        )
    return question


def check_hours(hours: int | None) -> int:
    chosen = DEFAULT_HOURS if hours is None else hours
    if not HOURS[0] <= chosen <= HOURS[1]:
        raise PollError(
            N_("A poll can stay open between {low} and {high} hours."), low=HOURS[0], high=HOURS[1]
        )
    return chosen


def public_results(counts: list[int], voters: int) -> tuple[bool, tuple[int | None, ...] | None]:
    """What may be shown at close: (enough voters, per-option counts with small ones hidden)."""
    if voters < SHOW_FROM:
        return False, None
    return True, tuple(c if c >= SMALL_UNDER else None for c in counts)


# --- rows ------------------------------------------------------------------------------------


def _poll(row: sqlite3.Row) -> Poll:
    results = None if row["results"] is None else tuple(json.loads(row["results"]))
    return Poll(
        id=row["id"],
        circle_id=row["circle_id"],
        token=row["token"],
        question=row["question"],
        options=tuple(json.loads(row["options"])),
        multi=bool(row["multi"]),
        key_check=row["key_check"],
        message_id=row["message_id"],
        closes_at=times.read(row["closes_at"]),
        closed_at=times.read_optional(row["closed_at"]),
        enough=None if row["enough"] is None else bool(row["enough"]),
        results=results,
    )


async def create_poll(
    db: Database,
    circle_id: int,
    circle_key: bytes,
    *,
    question: str,
    options: str,
    multi: bool,
    hours: int | None,
    now: datetime,
) -> Poll:
    """Check every part, then store the poll (one row, no votes). PollError on bad input."""
    cleaned = clean_question(question)
    choices = parse_options(options)
    closes_at = now + timedelta(hours=check_hours(hours))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with db.atomic():
        poll_id = await db.insert(
            "INSERT INTO polls (circle_id, token, question, options, multi, key_check, closes_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                circle_id,
                token,
                cleaned,
                json.dumps(choices),
                int(multi),
                b"",
                times.to_second(closes_at),
            ),
        )
        check = key_check(poll_key(circle_key, poll_id))
        await db.execute("UPDATE polls SET key_check = ? WHERE id = ?", (check, poll_id))
    poll = await get_poll(db, poll_id)
    assert poll is not None
    return poll


async def set_message(db: Database, poll_id: int, message_id: int) -> None:
    await db.execute("UPDATE polls SET message_id = ? WHERE id = ?", (message_id, poll_id))


async def discard_poll(db: Database, poll_id: int) -> None:
    """Forget a poll that could not be posted. Idempotent."""
    await db.execute("DELETE FROM polls WHERE id = ?", (poll_id,))


async def get_poll(db: Database, poll_id: int) -> Poll | None:
    row = await db.fetchone("SELECT * FROM polls WHERE id = ?", (poll_id,))
    return _poll(row) if row else None


async def poll_by_token(db: Database, token: str) -> Poll | None:
    row = await db.fetchone("SELECT * FROM polls WHERE token = ?", (token,))
    return _poll(row) if row else None


async def vote(
    db: Database, poll: Poll, key: bytes, user_id: int, option: int, *, now: datetime
) -> Vote:
    """Count a click on `option` for this member: in a one-choice poll it becomes their vote;
    in a multiple-choice poll it adds or takes back that choice.

    Raises PollClosed after close (or once its time is up) and PollKeyLost when `key` is not
    the key the poll was opened with.
    """
    if not 0 <= option < len(poll.options):
        raise PollError(N_("That choice isn't part of this poll."))
    if not hmac.compare_digest(key_check(key), poll.key_check):
        raise PollKeyLost()
    voter = voter_key(key, user_id)
    bit = 1 << option
    async with db.atomic():
        state = await db.fetchone("SELECT closed_at, closes_at FROM polls WHERE id = ?", (poll.id,))
        if state is None or state["closed_at"] is not None or times.read(state["closes_at"]) <= now:
            raise PollClosed()
        before = await db.fetchval(
            "SELECT choices FROM poll_votes WHERE poll_id = ? AND voter_key = ?", (poll.id, voter)
        )
        current = int(before or 0)
        after = (current ^ bit) if poll.multi else bit
        if after == current:
            return Vote(_indexes(after), changed=False)
        if after == 0:
            await db.execute(
                "DELETE FROM poll_votes WHERE poll_id = ? AND voter_key = ?", (poll.id, voter)
            )
        else:
            await db.execute(
                "INSERT INTO poll_votes (poll_id, circle_id, voter_key, choices)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (poll_id, voter_key) DO UPDATE SET choices = excluded.choices",
                (poll.id, poll.circle_id, voter, after),
            )
    return Vote(_indexes(after), changed=True)


def _indexes(choices: int) -> tuple[int, ...]:
    return tuple(i for i in range(MAX_OPTIONS) if choices & (1 << i))


async def close_poll(db: Database, poll_id: int, *, now: datetime) -> Poll | None:
    """Count the votes, keep only the public results and delete every vote, in one
    transaction. The closed poll, or None if it was already closed (or is gone). Idempotent.
    """
    async with db.atomic():
        poll = await get_poll(db, poll_id)
        if poll is None or not poll.is_open:
            return None
        rows = await db.fetchall("SELECT choices FROM poll_votes WHERE poll_id = ?", (poll_id,))
        counts = [sum(1 for r in rows if r["choices"] & (1 << i)) for i in range(len(poll.options))]
        enough, results = public_results(counts, len(rows))
        await db.execute(
            "UPDATE polls SET closed_at = ?, enough = ?, results = ? WHERE id = ?",
            (
                times.to_minute(now),
                int(enough),
                None if results is None else json.dumps(results),
                poll_id,
            ),
        )
        await db.execute("DELETE FROM poll_votes WHERE poll_id = ?", (poll_id,))
    db.scrub_soon()  # the per-voter rows must not stay in the WAL
    return await get_poll(db, poll_id)


async def due_polls(db: Database, *, now: datetime) -> list[Poll]:
    """Open polls whose time is up, the earliest first."""
    rows = await db.fetchall(
        "SELECT * FROM polls WHERE closed_at IS NULL AND closes_at <= ? ORDER BY closes_at, id",
        (times.stored(now),),
    )
    return [_poll(r) for r in rows]


async def next_close_at(db: Database) -> datetime | None:
    value = await db.fetchval("SELECT min(closes_at) FROM polls WHERE closed_at IS NULL")
    return None if value is None else times.read(value)


async def open_polls(db: Database, circle_id: int) -> list[Poll]:
    rows = await db.fetchall(
        "SELECT * FROM polls WHERE circle_id = ? AND closed_at IS NULL ORDER BY id", (circle_id,)
    )
    return [_poll(r) for r in rows]


async def open_polls_in_strict_circles(db: Database) -> list[Poll]:
    """Open polls whose keys lived in a process that has ended (strict circles)."""
    rows = await db.fetchall(
        "SELECT p.* FROM polls p JOIN circles c ON c.id = p.circle_id"
        " WHERE p.closed_at IS NULL AND c.strict = 1 ORDER BY p.id"
    )
    return [_poll(r) for r in rows]
