"""A circle's structure: check-in totals, the check-out answer, prompt rounds and pauses.

Check-ins are counted in memory only (`Checkins`): who clicked is kept as an HMAC under a key
that exists only for that check-in, just to count each person once, and never what they
chose. Nothing about a check-in reaches the database, so a restart ends every check-in.

A round passes a talking piece around every member of the circle, in random order: drawn
from all members, not from those who did something posting needs (such as accepting a new
agreement), so the round's size and holders never single out who can post. Named rounds
store the members' ids. Anonymous rounds store a holder key per member,
HMAC(round key, member id) with round key = HMAC(circle key, random round salt): neither a
label key nor anything the file alone can compute from one, and gone with the round. A
turn is done when its holder shares, passes or runs out of time; each turn gets a fresh
random token, so an old button or a late timer can never move the piece twice. Someone
who left keeps their place until the piece reaches it, and is skipped then: leaving, a
named action, never changes an anonymous round's rows in the same moment.

A pause locks a circle's thread until `ends_at`; the schedule is in the database so a
restart cannot leave the thread locked.

All times are timezone-aware UTC datetimes passed in by the caller, stored as fixed-width
ISO strings so that SQL string comparisons order them correctly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import secrets
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.db import Database
from bot.i18n import N_
from bot.services import times
from bot.services.anonymous import label_candidates
from bot.services.errors import Refusal
from bot.services.wordlists import ENGLISH_WORDS, LabelWords

TOKEN_BYTES = 9  # 12 URL-safe characters: ample for a token that lives for one turn
PAUSE_MINUTES = (1, 120)
TURN_MINUTES = (1, 30)
MAX_CHECKINS_IN_MEMORY = 200
# Public per-option totals change only on a fixed clock, every PUBLISH_EVERY_SECONDS from the
# check-in's start (never timed from a click, whose time an edit would then give away), and
# only when at least PUBLISH_FROM answers came in since the last totals shown: a total edited
# after each click, or after one or two, shows what those people chose.
PUBLISH_FROM = 3
PUBLISH_EVERY_SECONDS = 30.0

Mode = Literal["named", "anonymous"]
MODES: tuple[Mode, ...] = ("named", "anonymous")

_SYSTEM_RANDOM = secrets.SystemRandom()


class StructureError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


ROUND_SALT_BYTES = 16


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


# --- check-in: memory only -------------------------------------------------------------------


@dataclass
class CheckinTally:
    """One check-in's totals. `_seen` holds HMACs under a key that dies with the tally."""

    circle_id: int
    options: tuple[str, ...]
    counts: dict[str, int] = field(init=False)
    # Serialises edits of the public totals, so an older total never overwrites a newer one.
    edit_lock: asyncio.Lock = field(init=False, repr=False)
    # The public message, once posted, and the clock that publishes its totals.
    thread_id: int | None = field(default=None, init=False)
    message_id: int | None = field(default=None, init=False)
    publishing: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    # The totals last shown publicly (None before the first time), and how many answers
    # they held.
    published: dict[str, int] | None = field(default=None, init=False)
    published_total: int = field(default=0, init=False)
    # The circle's language, for the public message (memory only, like the rest).
    language: str = field(default="en", init=False)
    _key: bytes = field(init=False, repr=False)
    _seen: set[bytes] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.options, 0)
        self.edit_lock = asyncio.Lock()
        self._key = secrets.token_bytes(32)
        self._seen = set()

    def count(self, user_id: int, option: str) -> bool:
        """Add one to `option` unless this person was already counted. True if counted.

        Only *that* someone was counted is remembered, never which option they chose.
        """
        if option not in self.counts:
            raise StructureError(N_("That answer isn't part of this check-in."))
        seen = hmac.new(self._key, str(user_id).encode(), hashlib.sha256).digest()
        if seen in self._seen:
            return False
        self._seen.add(seen)
        self.counts[option] += 1
        return True

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def due(self) -> bool:
        """Enough answers came in since the totals last shown (at least PUBLISH_FROM) for new
        totals to hide each of them."""
        return self.total - self.published_total >= PUBLISH_FROM

    def publish(self) -> bool:
        """Take the current totals as the ones shown, if they are due. True if they were."""
        if not self.due:
            return False
        self.published = dict(self.counts)
        self.published_total = self.total
        return True

    @property
    def unpublished(self) -> int:
        """Answers given since the totals last shown."""
        return self.total - self.published_total


class Checkins:
    """Every running check-in, by its token. One per circle: a new one ends the last one."""

    def __init__(self) -> None:
        self._tallies: dict[str, CheckinTally] = {}

    def __repr__(self) -> str:
        return f"<Checkins running={len(self._tallies)}>"

    def start(self, circle_id: int, options: Sequence[str]) -> str:
        """Start a check-in for the circle and return its token."""
        self.end_circle(circle_id)
        while len(self._tallies) >= MAX_CHECKINS_IN_MEMORY:
            # Dicts keep insertion order: the oldest check-in ends first.
            _stop(self._tallies.pop(next(iter(self._tallies))))
        token = new_token()
        self._tallies[token] = CheckinTally(circle_id, tuple(options))
        return token

    def get(self, token: str) -> CheckinTally | None:
        return self._tallies.get(token)

    def running(self, circle_id: int) -> list[CheckinTally]:
        """The circle's running check-in (none or one). Read-only."""
        return [t for t in self._tallies.values() if t.circle_id == circle_id]

    def end(self, token: str) -> None:
        """Idempotent."""
        _stop(self._tallies.pop(token, None))

    def end_all(self) -> None:
        """End every check-in (the bot is stopping). Idempotent."""
        while self._tallies:
            _stop(self._tallies.pop(next(iter(self._tallies))))

    def end_circle(self, circle_id: int) -> None:
        """End the circle's running check-in, if any. Idempotent."""
        for token in [t for t, tally in self._tallies.items() if tally.circle_id == circle_id]:
            _stop(self._tallies.pop(token))


def _stop(tally: CheckinTally | None) -> None:
    if tally is not None and tally.publishing is not None:
        tally.publishing.cancel()
        tally.publishing = None


# --- rounds ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Round:
    circle_id: int
    mode: Mode
    prompt_id: str | None
    turn_seconds: int
    turn_token: str
    turn_message_id: int | None
    turn_ends_at: datetime
    started_at: datetime
    round_salt: bytes | None = None

    @property
    def anonymous(self) -> bool:
        return self.mode == "anonymous"


@dataclass(frozen=True, slots=True)
class Turn:
    """Who holds (or will hold) the piece: a member id in named rounds, a holder key
    (`holder_key`) in anonymous ones."""

    position: int
    user_id: int | None
    holder_key: bytes | None

    @property
    def who(self) -> int | bytes:
        return self.user_id if self.user_id is not None else self.holder_key or b""


@dataclass(frozen=True, slots=True)
class Moved:
    """The piece moved on: `round` is the new state, None when the round is complete."""

    round: Round | None


def holder_key(round_salt: bytes | None, circle_key: bytes, user_id: int) -> bytes:
    """How an anonymous round knows a member: HMAC(round key, member id), where the round
    key is HMAC(circle key, the round's salt `Round.round_salt`). It needs the circle key,
    so the master secret (or a strict circle's in-memory key); it is new in every round and
    unrelated to the member's label key."""
    if round_salt is None:
        raise StructureError(N_("This round has no anonymous holders."))
    round_key = hmac.new(circle_key, b"round:" + round_salt, hashlib.sha256).digest()
    return hmac.new(round_key, b"holder:" + str(user_id).encode(), hashlib.sha256).digest()


def round_alias(holder: bytes, words: LabelWords = ENGLISH_WORDS) -> str:
    """The name an anonymous round gives a holder (from their holder key), made from the
    circle language's label `words`: fixed for this round, new in the next.

    Not the circle label: a list of every member's label, compared across a join or a
    leave between two rounds, would show whose label is whose.
    """
    return next(label_candidates(hashlib.sha256(b"alias:" + holder).digest(), words))


def _round(r: sqlite3.Row) -> Round:
    return Round(
        circle_id=r["circle_id"],
        mode=r["mode"],
        prompt_id=r["prompt_id"],
        turn_seconds=r["turn_seconds"],
        turn_token=r["turn_token"],
        turn_message_id=r["turn_message_id"],
        turn_ends_at=times.read(r["turn_ends_at"]),
        started_at=times.read(r["started_at"]),
        round_salt=r["round_salt"],
    )


def check_turn_minutes(minutes: int) -> int:
    low, high = TURN_MINUTES
    if not low <= minutes <= high:
        raise StructureError(
            N_("Each turn can last from {low} to {high} minutes."), low=low, high=high
        )
    return minutes


async def get_round(db: Database, circle_id: int) -> Round | None:
    row = await db.fetchone("SELECT * FROM rounds WHERE circle_id = ?", (circle_id,))
    return _round(row) if row else None


async def round_by_token(db: Database, token: str) -> Round | None:
    """The round whose *current* turn has this token; None for a turn that is over."""
    row = await db.fetchone("SELECT * FROM rounds WHERE turn_token = ?", (token,))
    return _round(row) if row else None


async def holder(db: Database, circle_id: int) -> Turn | None:
    """Who holds the piece now, or None when nobody is left."""
    row = await db.fetchone(
        "SELECT position, user_id, holder_key FROM round_turns WHERE circle_id = ?"
        " ORDER BY position LIMIT 1",
        (circle_id,),
    )
    return Turn(row["position"], row["user_id"], row["holder_key"]) if row else None


async def waiting(db: Database, circle_id: int) -> int:
    """How many are still to hold the piece after the current holder."""
    count = await db.fetchval("SELECT count(*) FROM round_turns WHERE circle_id = ?", (circle_id,))
    return max(0, int(count or 0) - 1)


def is_holder(turn: Turn, *, user_id: int | None = None, holder: bytes | None = None) -> bool:
    """Compare the named holder's id, or the anonymous holder's key in constant time."""
    if turn.user_id is not None:
        return user_id is not None and turn.user_id == user_id
    return (
        turn.holder_key is not None
        and holder is not None
        and hmac.compare_digest(turn.holder_key, holder)
    )


async def start_round(
    db: Database,
    circle_id: int,
    *,
    mode: Mode,
    member_ids: Sequence[int],
    circle_key: bytes | None = None,
    prompt_id: str | None,
    turn_minutes: int,
    now: datetime,
    rng: random.Random | None = None,
) -> Round:
    """Start a round with every one of `member_ids` in random order; the first holds the
    piece. Anonymous rounds need `circle_key` and store holder keys, never an id.

    StructureError when nobody is in it, the turn length is out of range, or a round is
    already running in the circle.
    """
    if mode not in MODES:
        raise StructureError(N_("A round is either named or anonymous."))
    seconds = check_turn_minutes(turn_minutes) * 60
    if not member_ids:
        raise StructureError(
            N_(
                "Nobody has joined this circle yet, so there is nobody to pass the talking "
                "piece to."
            )
        )
    salt = secrets.token_bytes(ROUND_SALT_BYTES)
    order: list[int | bytes] = list(member_ids)
    if mode == "anonymous":
        if circle_key is None:
            raise ValueError("an anonymous round needs the circle key")
        order = [holder_key(salt, circle_key, m) for m in member_ids]
    # Random order, so the stored order tells nothing about who joined when.
    (rng or _SYSTEM_RANDOM).shuffle(order)
    async with db.transaction():
        if await db.fetchval("SELECT 1 FROM rounds WHERE circle_id = ?", (circle_id,)):
            raise StructureError(
                N_("A round is already running here. Use `/circle round end` to end it first.")
            )
        await db.execute(
            "INSERT INTO rounds (circle_id, mode, prompt_id, turn_seconds, turn_token,"
            " turn_ends_at, started_at, round_salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                circle_id,
                mode,
                prompt_id,
                seconds,
                new_token(),
                times.stored(now + timedelta(seconds=seconds)),
                times.stored(now),
                salt,
            ),
        )
        await db.executemany(
            "INSERT INTO round_turns (circle_id, position, user_id, holder_key)"
            " VALUES (?, ?, ?, ?)",
            [
                (
                    circle_id,
                    position,
                    member if isinstance(member, int) else None,
                    member if isinstance(member, bytes) else None,
                )
                for position, member in enumerate(order, start=1)
            ],
        )
    started = await get_round(db, circle_id)
    assert started is not None
    return started


async def set_turn_message(db: Database, circle_id: int, token: str, message_id: int) -> None:
    """Remember the message announcing the turn with this token. Idempotent."""
    await db.execute(
        "UPDATE rounds SET turn_message_id = ? WHERE circle_id = ? AND turn_token = ?",
        (message_id, circle_id, token),
    )


async def _next_turn(db: Database, circle_id: int, now: datetime) -> Moved:
    """Inside a transaction: give the piece to whoever is first now, or end the round."""
    remaining = await db.fetchval(
        "SELECT count(*) FROM round_turns WHERE circle_id = ?", (circle_id,)
    )
    if not remaining:
        await db.execute("DELETE FROM rounds WHERE circle_id = ?", (circle_id,))
        return Moved(None)
    seconds = int(
        await db.fetchval("SELECT turn_seconds FROM rounds WHERE circle_id = ?", (circle_id,))
    )
    await db.execute(
        "UPDATE rounds SET turn_token = ?, turn_message_id = NULL, turn_ends_at = ?"
        " WHERE circle_id = ?",
        (new_token(), times.stored(now + timedelta(seconds=seconds)), circle_id),
    )
    return Moved(await get_round(db, circle_id))


async def finish_turn(db: Database, circle_id: int, token: str, *, now: datetime) -> Moved | None:
    """The holder shared, passed or ran out of time: the piece moves on.

    None when the turn with `token` is already over (someone else moved the piece first).
    """
    async with db.transaction():
        if not await db.fetchval(
            "SELECT 1 FROM rounds WHERE circle_id = ? AND turn_token = ?", (circle_id, token)
        ):
            return None
        await db.execute(
            "DELETE FROM round_turns WHERE circle_id = ? AND position ="
            " (SELECT min(position) FROM round_turns WHERE circle_id = ?)",
            (circle_id, circle_id),
        )
        return await _next_turn(db, circle_id, now)


async def defer_turn(db: Database, circle_id: int, token: str, *, now: datetime) -> Moved | None:
    """ "Come back to me": the holder goes to the end of the order and the piece moves on.

    None when the turn is already over; StructureError when nobody is left after them.
    """
    async with db.transaction():
        if not await db.fetchval(
            "SELECT 1 FROM rounds WHERE circle_id = ? AND turn_token = ?", (circle_id, token)
        ):
            return None
        row = await db.fetchone(
            "SELECT min(position) AS first, max(position) AS last, count(*) AS n"
            " FROM round_turns WHERE circle_id = ?",
            (circle_id,),
        )
        if row is None or row["n"] < 2:
            raise StructureError(
                N_(
                    "You're the last one in this round, so there's nobody to go before you. "
                    "Share or pass whenever you're ready; either is fine."
                )
            )
        await db.execute(
            "UPDATE round_turns SET position = ? WHERE circle_id = ? AND position = ?",
            (row["last"] + 1, circle_id, row["first"]),
        )
        return await _next_turn(db, circle_id, now)


async def leave_named_round(db: Database, circle_id: int, *, user_id: int) -> bool:
    """Take someone who left the circle out of a named round, so their id goes now. If they
    hold the piece now, their turn simply runs out. Idempotent; True if a place was removed.

    Never touches an anonymous round: their place there is skipped when the piece reaches
    it (`drop_departed`), so the leave and the anonymous rows never change together.
    """
    removed = await db.execute(
        "DELETE FROM round_turns WHERE circle_id = ? AND user_id = ?"
        " AND position > (SELECT min(position) FROM round_turns WHERE circle_id = ?)",
        (circle_id, user_id, circle_id),
    )
    return removed > 0


async def drop_departed(
    db: Database,
    circle_id: int,
    token: str,
    *,
    present: Collection[int] | Collection[bytes],
    now: datetime,
) -> Moved | None:
    """The piece just came to the turn with `token`: skip every place, from the holder on,
    whose member is no longer in the circle (`present` holds the members' ids in named
    rounds, their holder keys in anonymous ones).

    None when nobody was skipped or the turn is already over; otherwise where the piece is now.
    """
    async with db.transaction():
        if not await db.fetchval(
            "SELECT 1 FROM rounds WHERE circle_id = ? AND turn_token = ?", (circle_id, token)
        ):
            return None
        dropped = False
        while (turn := await holder(db, circle_id)) is not None and turn.who not in present:
            await db.execute(
                "DELETE FROM round_turns WHERE circle_id = ? AND position = ?",
                (circle_id, turn.position),
            )
            dropped = True
        return await _next_turn(db, circle_id, now) if dropped else None


async def end_round(db: Database, circle_id: int) -> Round | None:
    """End the circle's round and forget its order; the round as it was, or None."""
    async with db.transaction():
        ended = await get_round(db, circle_id)
        await db.execute("DELETE FROM rounds WHERE circle_id = ?", (circle_id,))
    return ended


async def due_turns(db: Database, *, now: datetime) -> list[Round]:
    """Rounds whose current turn has run out, leaving out circles that are paused."""
    rows = await db.fetchall(
        "SELECT * FROM rounds WHERE turn_ends_at <= ?"
        " AND circle_id NOT IN (SELECT circle_id FROM pauses) ORDER BY turn_ends_at",
        (times.stored(now),),
    )
    return [_round(r) for r in rows]


async def restart_turn_clock(db: Database, circle_id: int, *, now: datetime) -> None:
    """Give the current holder their full time again (after a pause). Idempotent."""
    seconds = await db.fetchval("SELECT turn_seconds FROM rounds WHERE circle_id = ?", (circle_id,))
    if seconds is not None:
        await db.execute(
            "UPDATE rounds SET turn_ends_at = ? WHERE circle_id = ?",
            (times.stored(now + timedelta(seconds=int(seconds))), circle_id),
        )


async def rounds_in(db: Database, circle_ids: Sequence[int]) -> list[Round]:
    if not circle_ids:
        return []
    marks = ", ".join("?" for _ in circle_ids)
    rows = await db.fetchall(
        f"SELECT * FROM rounds WHERE circle_id IN ({marks}) ORDER BY circle_id", tuple(circle_ids)
    )
    return [_round(r) for r in rows]


async def rounds_of_closed_circles(db: Database) -> list[int]:
    """Circles that closed with a round still recorded (closing does not know about rounds)."""
    rows = await db.fetchall(
        "SELECT r.circle_id FROM rounds r JOIN circles c ON c.id = r.circle_id"
        " WHERE c.state != 'open'"
    )
    return [r["circle_id"] for r in rows]


async def anonymous_rounds_in_strict_circles(db: Database) -> list[int]:
    """Circles with an anonymous round whose holder keys came from a strict circle's in-memory
    key; after a restart that key is gone, so nobody can be matched to those turns."""
    rows = await db.fetchall(
        "SELECT r.circle_id FROM rounds r JOIN circles c ON c.id = r.circle_id"
        " WHERE r.mode = 'anonymous' AND c.strict = 1"
    )
    return [r["circle_id"] for r in rows]


# --- pauses ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pause:
    circle_id: int
    ends_at: datetime


def check_pause_minutes(minutes: int) -> int:
    low, high = PAUSE_MINUTES
    if not low <= minutes <= high:
        raise StructureError(N_("A pause lasts from {low} to {high} minutes."), low=low, high=high)
    return minutes


async def get_pause(db: Database, circle_id: int) -> Pause | None:
    row = await db.fetchone("SELECT * FROM pauses WHERE circle_id = ?", (circle_id,))
    return Pause(row["circle_id"], times.read(row["ends_at"])) if row else None


async def schedule_pause(db: Database, circle_id: int, *, minutes: int, now: datetime) -> Pause:
    """Record that the circle is paused until `now + minutes` (replacing an earlier pause).

    StructureError outside 1-120 minutes.
    """
    check_pause_minutes(minutes)
    ends_at = now + timedelta(minutes=minutes)
    await db.execute(
        "INSERT INTO pauses (circle_id, ends_at) VALUES (?, ?)"
        " ON CONFLICT (circle_id) DO UPDATE SET ends_at = excluded.ends_at",
        (circle_id, times.stored(ends_at)),
    )
    return Pause(circle_id, ends_at)


async def restore_pause(db: Database, circle_id: int, previous: Pause | None) -> None:
    """Put back the pause that was there before (or none), when locking failed. Idempotent."""
    if previous is None:
        await clear_pause(db, circle_id)
    else:
        await db.execute(
            "INSERT OR REPLACE INTO pauses (circle_id, ends_at) VALUES (?, ?)",
            (circle_id, times.stored(previous.ends_at)),
        )


async def clear_pause(db: Database, circle_id: int) -> bool:
    """Idempotent; True if there was a pause."""
    return await db.execute("DELETE FROM pauses WHERE circle_id = ?", (circle_id,)) > 0


async def due_pauses(db: Database, *, now: datetime) -> list[Pause]:
    rows = await db.fetchall(
        "SELECT * FROM pauses WHERE ends_at <= ? ORDER BY ends_at", (times.stored(now),)
    )
    return [Pause(r["circle_id"], times.read(r["ends_at"])) for r in rows]


async def next_due(db: Database) -> datetime | None:
    """The earliest time a pause ends or an unpaused turn runs out, or None."""
    value = await db.fetchval(
        "SELECT min(at) FROM (SELECT ends_at AS at FROM pauses UNION ALL"
        " SELECT turn_ends_at FROM rounds WHERE circle_id NOT IN (SELECT circle_id FROM pauses))"
    )
    return None if value is None else times.read(value)
