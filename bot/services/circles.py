"""Circles: creation, agreements, membership, keepers, removal and closing.

A circle is created in two steps so that no half-made circle is left behind: `create_circle`
writes the record (holding its name), the caller makes the Discord thread and card, then
`attach_thread` completes it — or `discard_circle` removes the record if Discord refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db import Database
from bot.decks import Agreement
from bot.i18n import N_
from bot.services import times
from bot.services.errors import Refusal

MAX_NAME = 80
MAX_AGREEMENT = 300
SALT_BYTES = 32
# Below this many people who can post (members; a keeper who never joined cannot), an anonymous
# post has too few possible authors to hide among, and the bot says so instead of promising
# anonymity.
SMALL_CIRCLE = 5
REMOVED = N_("A keeper removed you from this circle, so you can't rejoin it.")


class CircleError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


@dataclass(frozen=True, slots=True)
class Circle:
    id: int
    guild_id: int
    channel_id: int
    thread_id: int | None
    card_message_id: int | None
    name: str
    deck_id: str
    private: bool
    review: bool
    strict: bool
    salt: bytes | None
    state: str
    created_at: datetime
    closed_at: datetime | None
    language: str = "en"  # what the bot writes in the circle: its content and messages

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True, slots=True)
class CircleAgreement:
    position: int
    short: str
    text: str


@dataclass(frozen=True, slots=True)
class Membership:
    circle_id: int
    user_id: int
    agreed_count: int
    agreed_at: datetime


def _circle(r: sqlite3.Row) -> Circle:
    return Circle(
        id=r["id"],
        guild_id=r["guild_id"],
        channel_id=r["channel_id"],
        thread_id=r["thread_id"],
        card_message_id=r["card_message_id"],
        name=r["name"],
        deck_id=r["deck_id"],
        private=bool(r["private"]),
        review=bool(r["review"]),
        strict=bool(r["strict"]),
        salt=r["salt"],
        state=r["state"],
        created_at=times.read(r["created_at"]),
        closed_at=(times.read(r["closed_at"]) if r["closed_at"] else None),
        language=r["language"],
    )


def clean_name(name: str) -> str:
    """A circle name, stripped; CircleError when empty or too long."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise CircleError(N_("A circle needs a name."))
    if len(cleaned) > MAX_NAME:
        raise CircleError(N_("Circle names can be at most {limit} characters."), limit=MAX_NAME)
    return cleaned


# --- reading -----------------------------------------------------------------------------


async def get_circle(db: Database, circle_id: int) -> Circle | None:
    row = await db.fetchone("SELECT * FROM circles WHERE id = ?", (circle_id,))
    return _circle(row) if row else None


async def circle_for_thread(db: Database, thread_id: int) -> Circle | None:
    """The circle whose thread this is (open or closed), or None."""
    row = await db.fetchone("SELECT * FROM circles WHERE thread_id = ?", (thread_id,))
    return _circle(row) if row else None


async def open_circle_by_name(db: Database, guild_id: int, name: str) -> Circle | None:
    row = await db.fetchone(
        "SELECT * FROM circles WHERE guild_id = ? AND state = 'open' AND thread_id IS NOT NULL"
        " AND name = ? COLLATE NOCASE",
        (guild_id, " ".join(name.split())),
    )
    return _circle(row) if row else None


async def open_circles(db: Database, guild_id: int | None = None) -> list[Circle]:
    """Open circles, oldest first; every server's when `guild_id` is None."""
    if guild_id is None:
        rows = await db.fetchall(
            "SELECT * FROM circles WHERE state = 'open' AND thread_id IS NOT NULL ORDER BY id"
        )
    else:
        rows = await db.fetchall(
            "SELECT * FROM circles WHERE guild_id = ? AND state = 'open'"
            " AND thread_id IS NOT NULL ORDER BY id",
            (guild_id,),
        )
    return [_circle(r) for r in rows]


async def keepers(db: Database, circle_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM circle_keepers WHERE circle_id = ? ORDER BY rowid", (circle_id,)
    )
    return [r["user_id"] for r in rows]


async def is_keeper(db: Database, circle_id: int, user_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM circle_keepers WHERE circle_id = ? AND user_id = ?",
            (circle_id, user_id),
        )
    )


async def agreements(db: Database, circle_id: int) -> list[CircleAgreement]:
    rows = await db.fetchall(
        "SELECT position, short, text FROM circle_agreements WHERE circle_id = ? ORDER BY position",
        (circle_id,),
    )
    return [CircleAgreement(r["position"], r["short"], r["text"]) for r in rows]


async def membership(db: Database, circle_id: int, user_id: int) -> Membership | None:
    row = await db.fetchone(
        "SELECT * FROM memberships WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
    )
    if row is None:
        return None
    return Membership(
        row["circle_id"],
        row["user_id"],
        row["agreed_count"],
        times.read(row["agreed_at"]),
    )


async def members(db: Database, circle_id: int) -> list[int]:
    """Every member of the circle, whether or not they accepted its newest agreements, in
    joining order. What the bot shows to everyone is drawn from this set, never from those
    who accepted the current agreements: that set is exactly who can post anonymously."""
    rows = await db.fetchall(
        "SELECT user_id FROM memberships WHERE circle_id = ? ORDER BY rowid", (circle_id,)
    )
    return [r["user_id"] for r in rows]


async def head_count(db: Database, circle_id: int) -> int:
    """How many people could have written an anonymous post here: the circle's members. A
    keeper who never joined cannot post, so counting them would give the author more company
    than they have. Counted from every membership, not from those who accepted the newest
    agreement: that narrower count, shown publicly, would itself say who can post. Read-only."""
    value = await db.fetchval("SELECT count(*) FROM memberships WHERE circle_id = ?", (circle_id,))
    return int(value or 0)


def small_circle_note(count: int) -> str | None:
    """What to tell people in a circle too small to hide in; None when it is big enough."""
    if count >= SMALL_CIRCLE:
        return None
    people = "person is" if count == 1 else "people are"
    return (
        f"Only {count} {people} in this circle (counting those who joined it): too few to "
        "hide in. "
        "Anonymous posts carry no name, but the others may well guess who wrote one."
    )


async def has_current_agreement(db: Database, circle_id: int, user_id: int) -> bool:
    """True when the member joined and accepted every agreement the circle has now."""
    row = await db.fetchone(
        "SELECT m.agreed_count >= (SELECT count(*) FROM circle_agreements a"
        " WHERE a.circle_id = m.circle_id) FROM memberships m"
        " WHERE m.circle_id = ? AND m.user_id = ?",
        (circle_id, user_id),
    )
    return bool(row and row[0])


def removal_key(secret: bytes, user_id: int) -> bytes:
    """How a removal is stored: keyed by the master secret, so the database alone does not
    say who was removed, and the bar holds after the member deletes their data."""
    return hmac.new(secret, b"removed:" + str(user_id).encode(), hashlib.sha256).digest()


async def was_removed(db: Database, circle_id: int, member_key: bytes) -> bool:
    """`member_key` is `removal_key(secret, user_id)`."""
    return bool(
        await db.fetchval(
            "SELECT 1 FROM circle_removals WHERE circle_id = ? AND member_key = ?",
            (circle_id, member_key),
        )
    )


# --- creating and closing ----------------------------------------------------------------


async def create_circle(
    db: Database,
    *,
    guild_id: int,
    channel_id: int,
    name: str,
    deck_id: str,
    keeper_id: int,
    default_agreements: Sequence[Agreement],
    now: datetime,
    private: bool = True,
    review: bool = False,
    strict: bool = False,
    language: str = "en",
) -> Circle:
    """Record a new circle (no thread yet) with its first keeper and agreements.

    Raises CircleError when the name is empty, too long or taken by an open circle.
    """
    cleaned = clean_name(name)
    async with db.transaction():
        taken = await db.fetchone(
            "SELECT thread_id FROM circles WHERE guild_id = ? AND state = 'open'"
            " AND name = ? COLLATE NOCASE",
            (guild_id, cleaned),
        )
        if taken is not None:
            if taken["thread_id"] is None:
                raise CircleError(
                    N_("A circle called “{name}” is being created right now."), name=cleaned
                )
            raise CircleError(N_("There is already an open circle called “{name}”."), name=cleaned)
        circle_id = await db.insert(
            "INSERT INTO circles (guild_id, channel_id, name, deck_id, private, review, strict,"
            " salt, created_at, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                channel_id,
                cleaned,
                deck_id,
                int(private),
                int(review),
                int(strict),
                secrets.token_bytes(SALT_BYTES),
                times.stored(now),
                language,
            ),
        )
        await db.execute(
            "INSERT INTO circle_keepers (circle_id, user_id) VALUES (?, ?)", (circle_id, keeper_id)
        )
        await db.executemany(
            "INSERT INTO circle_agreements (circle_id, position, short, text) VALUES (?, ?, ?, ?)",
            [(circle_id, i, a.short, a.text) for i, a in enumerate(default_agreements, start=1)],
        )
    circle = await get_circle(db, circle_id)
    assert circle is not None
    return circle


async def attach_thread(
    db: Database, circle_id: int, *, thread_id: int, card_message_id: int | None
) -> Circle:
    """Complete a circle once its thread (and card) exist. Idempotent."""
    await db.execute(
        "UPDATE circles SET thread_id = ?, card_message_id = ? WHERE id = ?",
        (thread_id, card_message_id, circle_id),
    )
    circle = await get_circle(db, circle_id)
    assert circle is not None
    return circle


async def set_card_message(db: Database, circle_id: int, message_id: int) -> None:
    await db.execute("UPDATE circles SET card_message_id = ? WHERE id = ?", (message_id, circle_id))


async def discard_circle(db: Database, circle_id: int) -> None:
    """Remove a circle that never got its thread (Discord refused). Idempotent."""
    await db.execute("DELETE FROM circles WHERE id = ?", (circle_id,))


@dataclass(frozen=True, slots=True)
class Closing:
    """A circle just closed, and its held posts' messages in the queue channel (to delete)."""

    circle: Circle
    review_message_ids: list[int]


async def close(db: Database, circle_id: int, *, now: datetime) -> Closing:
    """Close a circle in one transaction: destroy its salt and its anonymous records, end its
    schedule, its round and any pause (a closed thread stays locked for good).

    Memberships and keepers stay (they hold no anonymous content) until a member deletes
    their data. Idempotent.
    """
    async with db.transaction():
        rows = await db.fetchall(
            "SELECT review_message_id FROM anon_posts WHERE circle_id = ?"
            " AND review_message_id IS NOT NULL",
            (circle_id,),
        )
        await db.execute(
            "UPDATE circles SET state = 'closed', salt = NULL, closed_at = coalesce(closed_at, ?)"
            " WHERE id = ?",
            (times.stored(now), circle_id),
        )
        for table in (
            "anon_posts",
            "anon_labels",
            "anon_blocks",
            "poll_votes",
            "prompt_suggestions",
            "prompt_schedules",
            "rounds",
            "pauses",
        ):
            await db.execute(f"DELETE FROM {table} WHERE circle_id = ?", (circle_id,))
    await db.scrub()  # the destroyed salt and records must not stay in the WAL
    circle = await get_circle(db, circle_id)
    assert circle is not None
    return Closing(circle, [r["review_message_id"] for r in rows])


async def close_circle(db: Database, circle_id: int, *, now: datetime) -> Circle:
    """`close`, for callers that need only the closed circle."""
    return (await close(db, circle_id, now=now)).circle


# --- membership --------------------------------------------------------------------------


async def accept_agreements(
    db: Database, circle_id: int, user_id: int, *, member_key: bytes, now: datetime
) -> Membership:
    """Record that the member accepted every current agreement (joining if new). Idempotent.

    Raises CircleError when the member (`member_key`, see `removal_key`) was removed.
    """
    if await was_removed(db, circle_id, member_key):
        raise CircleError(REMOVED)
    # One statement: the count of current agreements, the upsert, and the row as written.
    row = await db.fetchone(
        "INSERT INTO memberships (circle_id, user_id, agreed_count, agreed_at)"
        " VALUES (?, ?, (SELECT count(*) FROM circle_agreements WHERE circle_id = ?), ?)"
        # Re-accepting keeps the joining time: a fresh time, written just before someone
        # takes part again, could be lined up with an anonymous post's time.
        " ON CONFLICT (circle_id, user_id) DO UPDATE SET agreed_count = excluded.agreed_count"
        " RETURNING circle_id, user_id, agreed_count, agreed_at",
        (circle_id, user_id, circle_id, times.stored(now)),
    )
    assert row is not None
    return Membership(
        row["circle_id"], row["user_id"], row["agreed_count"], times.read(row["agreed_at"])
    )


async def leave(db: Database, circle_id: int, user_id: int) -> bool:
    """Take the member out of the circle (and its keepers). True if they were in it."""
    async with db.transaction():
        left = await db.execute(
            "DELETE FROM memberships WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        await db.execute(
            "DELETE FROM circle_keepers WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
    return left > 0


async def undo_join(db: Database, circle_id: int, user_id: int) -> None:
    """Forget a membership that could not be completed on Discord; keeper status stays."""
    await db.execute(
        "DELETE FROM memberships WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
    )


async def remove_member(db: Database, circle_id: int, user_id: int, *, member_key: bytes) -> None:
    """Take a member out and bar them (by `member_key`) from rejoining. Idempotent."""
    async with db.transaction():
        await db.execute(
            "DELETE FROM memberships WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        await db.execute(
            "DELETE FROM circle_keepers WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        await db.execute(
            "INSERT OR IGNORE INTO circle_removals (circle_id, member_key) VALUES (?, ?)",
            (circle_id, member_key),
        )


async def add_agreement(db: Database, circle_id: int, text: str) -> CircleAgreement:
    """Append an agreement; members who agreed earlier must accept it before taking part."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise CircleError(N_("An agreement needs some text."))
    if len(cleaned) > MAX_AGREEMENT:
        raise CircleError(N_("Agreements can be at most {limit} characters."), limit=MAX_AGREEMENT)
    async with db.transaction():
        position = (
            await db.fetchval(
                "SELECT coalesce(max(position), 0) + 1 FROM circle_agreements WHERE circle_id = ?",
                (circle_id,),
            )
            or 1
        )
        await db.execute(
            "INSERT INTO circle_agreements (circle_id, position, short, text) VALUES (?, ?, ?, ?)",
            (circle_id, position, cleaned[:100], cleaned),
        )
    return CircleAgreement(position, cleaned[:100], cleaned)


# --- keepers -----------------------------------------------------------------------------


async def add_keeper(db: Database, circle_id: int, user_id: int) -> bool:
    """Make the member a keeper. True if they were not one already."""
    added = await db.execute(
        "INSERT OR IGNORE INTO circle_keepers (circle_id, user_id) VALUES (?, ?)",
        (circle_id, user_id),
    )
    return added > 0


async def remove_keeper(db: Database, circle_id: int, user_id: int) -> bool:
    """True if they were a keeper. With no keepers left, moderators keep the circle running."""
    removed = await db.execute(
        "DELETE FROM circle_keepers WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
    )
    return removed > 0
