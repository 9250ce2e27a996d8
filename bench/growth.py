"""Growth: what a post, `/anon mine` and `/mod queue` cost as the database fills up.

For each size N (1k, 10k, 100k) a fresh database gets, by bulk insert: ten open circles in one
server, N memberships (a tenth in each circle, every member with an anonymous label there), N
posted anonymous posts spread over those members, ten more by the member who asks `/anon mine`,
twenty posts held for review, and N/10 decided reports plus five open ones. The measured circle
therefore holds N/10 members, labels and posts.

Timed per operation (the service calls the command makes, on the bot's own Database):
- a post by a member who has posted in the circle before (`anonymous.submit`);
- a member's first post in the circle (`anonymous.submit`, which allocates a label);
- `/anon mine`: `anonymous.posts_by`;
- `/mod queue`: `config.get_config`, `circles.open_circles`, `anonymous.pending_reviews`,
  `moderation.open_reports`.
Rows compare each size with 1k (target: within 1.5x at 100k); at 100k the measured circle
has more authors (10,000) than plain labels (6,688), so new authors get numbered ones.
`EXPLAIN QUERY PLAN` of every query involved is printed below the table.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Result, Row, median, ms, plural, ratio, scratch_dir, verdict
from bench.services import GUILD_ID, NOW, keys, make_circle, member_id, open_db
from bot.db import Database
from bot.services import anonymous as anon
from bot.services import circles, times
from bot.services import moderation as mod
from bot.services.circles import Circle
from bot.services.config import get_config
from bot.services.wordlists import ADJECTIVES, NOUNS

TARGET = 1.5
CIRCLES = 10
MINE = 10  # posts by the member who asks /anon mine
HELD = 20  # posts waiting for a moderator
OPEN_REPORTS = 5
TEXT = "A post of a typical length: a few sentences about what happened and how it felt."


def label(n: int) -> str:
    """The n-th distinct label of a circle, in the bot's adjective-noun style."""
    combinations = len(ADJECTIVES) * len(NOUNS)
    noun, adjective = divmod(n % combinations, len(ADJECTIVES))
    base = f"{ADJECTIVES[adjective]} {NOUNS[noun]}"
    return base if n < combinations else f"{base} {n // combinations + 1}"


@dataclass
class Fixture:
    db: Database
    circle: Circle  # the measured circle
    circle_ids: list[int]
    asker: bytes  # label key of the member who asks /anon mine
    returning: list[bytes]  # label keys of members who posted here before
    next_member: int  # first member number with no label anywhere
    last_post_id: int
    last_label_rowid: int


async def build(path: Path, size: int) -> Fixture:
    """The database for one size. Like the bot's own, it has no ANALYZE statistics."""
    if size < 2 * CIRCLES:
        raise ValueError(f"growth needs at least {2 * CIRCLES} posts and memberships")
    db = await open_db(path)
    made = [await make_circle(db, f"Circle {c}") for c in range(CIRCLES)]
    circle_keys = keys()
    old = NOW - timedelta(days=30)
    memberships, labels, posts = [], [], []
    member_keys: dict[int, list[bytes]] = {c.id: [] for c in made}
    for n in range(size):
        circle = made[n % CIRCLES]
        user = member_id(n)
        key = circle_keys.label_key(circle, user)
        member_keys[circle.id].append(key)
        memberships.append((circle.id, user, 0, old.isoformat()))
        labels.append((circle.id, key, label(n // CIRCLES)))
    for n in range(size):
        circle = made[n % CIRCLES]
        keys_here = member_keys[circle.id]
        key = keys_here[(n // CIRCLES) % len(keys_here)]
        posts.append(_post_row(circle.id, key, old + timedelta(seconds=n), "posted"))
    measured = made[0]
    asker = member_keys[measured.id][0]
    posts += [
        _post_row(measured.id, asker, old + timedelta(hours=h), "posted") for h in range(MINE)
    ]
    for n in range(HELD):
        circle = made[n % CIRCLES]
        posts.append(_post_row(circle.id, member_keys[circle.id][-1], old, "review"))
    async with db.transaction():
        await db.executemany(
            "INSERT INTO memberships (circle_id, user_id, agreed_count, agreed_at)"
            " VALUES (?, ?, ?, ?)",
            memberships,
        )
        await db.executemany(
            "INSERT INTO anon_labels (circle_id, label_key, label) VALUES (?, ?, ?)", labels
        )
        await db.executemany(
            "INSERT INTO anon_posts (token, circle_id, label, label_key, text, status,"
            " message_id, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            posts,
        )
        await db.executemany(
            "INSERT INTO reports (token, guild_id, channel_id, message_id, anonymous, escalated,"
            " snapshot, reason, status, created_at, decided_at)"
            " VALUES (?, ?, 1, ?, 1, 0, ?, ?, ?, ?, ?)",
            [
                (
                    secrets.token_urlsafe(anon.TOKEN_BYTES),
                    GUILD_ID,
                    n,
                    None if n >= OPEN_REPORTS else TEXT,
                    None if n >= OPEN_REPORTS else "it names someone",
                    "dismissed" if n >= OPEN_REPORTS else "open",
                    old.isoformat(),
                    None if n < OPEN_REPORTS else old.isoformat(),
                )
                for n in range(OPEN_REPORTS + size // 10)
            ],
        )
    return Fixture(
        db=db,
        circle=measured,
        circle_ids=[c.id for c in made],
        asker=asker,
        returning=member_keys[measured.id][1:],
        next_member=size + 1,
        last_post_id=await db.fetchval("SELECT max(id) FROM anon_posts"),
        last_label_rowid=await db.fetchval("SELECT max(rowid) FROM anon_labels"),
    )


def _post_row(circle_id: int, key: bytes, when: datetime, status: str) -> tuple[object, ...]:
    """An anon_posts row: posted ones have lost their text and carry a message id."""
    stamp = when.isoformat(timespec="microseconds")
    posted = status == "posted"
    return (
        secrets.token_urlsafe(anon.TOKEN_BYTES),
        circle_id,
        label(secrets.randbelow(1000)),
        key,
        None if posted else TEXT,
        status,
        secrets.randbits(60) if posted else None,
        stamp,
        stamp if posted else None,
    )


async def _submit(fixture: Fixture, key: bytes, n: int) -> None:
    await anon.submit(
        fixture.db,
        fixture.circle,
        key,
        text=f"{TEXT} ({n})",
        content_note=None,
        reply_to_message_id=None,
        quote_link=None,
        now=NOW,
        delay_max_seconds=0,
    )


async def _undo_submits(fixture: Fixture) -> None:
    """Put the database back as built: drop posts and labels the timed submits added."""
    await fixture.db.execute("DELETE FROM anon_posts WHERE id > ?", (fixture.last_post_id,))
    await fixture.db.execute("DELETE FROM anon_labels WHERE rowid > ?", (fixture.last_label_rowid,))


async def _mod_queue(fixture: Fixture) -> None:
    db = fixture.db
    await get_config(db, GUILD_ID)
    open_circles = await circles.open_circles(db, GUILD_ID)
    held = await anon.pending_reviews(db, [c.id for c in open_circles])
    reports = await mod.open_reports(db, GUILD_ID)
    assert len(held) == HELD and len(reports) == OPEN_REPORTS


async def _posts_by(fixture: Fixture) -> None:
    mine = await anon.posts_by(fixture.db, fixture.circle.id, fixture.asker)
    assert len(mine) >= MINE


OPERATIONS = ("submit_returning", "submit_first", "posts_by", "mod_queue")
DESCRIPTIONS = {
    "submit_returning": "post by a member who posted here before (submit)",
    "submit_first": "a member's first post in the circle (submit, new label)",
    "posts_by": "/anon mine (posts_by)",
    "mod_queue": "/mod queue (config, open circles, held posts, open reports)",
}


async def measure(fixture: Fixture, operation: str, count: int) -> float:
    """Seconds per operation, over `count` operations."""
    actions: dict[str, Callable[[int], Awaitable[None]]] = {
        "submit_returning": lambda n: _submit(
            fixture, fixture.returning[n % len(fixture.returning)], n
        ),
        "submit_first": lambda n: _submit(
            fixture,
            keys().label_key(fixture.circle, member_id(fixture.next_member + n)),
            n,
        ),
        "posts_by": lambda n: _posts_by(fixture),
        "mod_queue": lambda n: _mod_queue(fixture),
    }
    action = actions[operation]
    start = time.perf_counter()
    for n in range(count):
        await action(n)
    elapsed = time.perf_counter() - start
    if operation.startswith("submit"):
        await _undo_submits(fixture)
    return elapsed / count


async def query_plans(fixture: Fixture) -> list[str]:
    """`EXPLAIN QUERY PLAN` of every query the timed operations run, one line each."""
    db, circle, key = fixture.db, fixture.circle, fixture.asker
    now = times.stored(NOW)
    ids = fixture.circle_ids
    marks = ", ".join("?" for _ in ids)
    queries: list[tuple[str, str, tuple[object, ...]]] = [
        (
            "submit: circle open",
            "SELECT 1 FROM circles WHERE id = ? AND state = 'open' AND salt IS NOT NULL",
            (circle.id,),
        ),
        (
            "submit: block",
            "SELECT 1 FROM anon_blocks WHERE circle_id = ? AND label_key = ?"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (circle.id, key, now),
        ),
        (
            "submit: rate limit",
            "SELECT created_at FROM anon_posts WHERE circle_id = ? AND label_key = ?"
            " AND status IN (?, ?, ?, ?) AND created_at > ? ORDER BY created_at",
            (circle.id, key, *anon._COUNTED, now),
        ),
        (
            "submit: label",
            "SELECT label FROM anon_labels WHERE circle_id = ? AND label_key = ?",
            (circle.id, key),
        ),
        (
            "submit: label candidates taken (first post)",
            "SELECT label FROM anon_labels WHERE circle_id = ? AND label IN (?, ?)",
            (circle.id, "Quiet Heron", "Quiet Heron 7"),
        ),
        (
            "submit: delivery time",
            "SELECT max(deliver_at) FROM anon_posts WHERE circle_id = ?"
            " AND status IN ('queued', 'sending')",
            (circle.id,),
        ),
        (
            "submit: earliest later delivery (outbox pass)",
            "SELECT min(deliver_at) FROM anon_posts WHERE deliver_at > ? AND (status IN"
            " ('queued', 'sending') OR (status = 'review' AND review_message_id IS NULL))",
            (now,),
        ),
        (
            "posts_by",
            "SELECT * FROM anon_posts WHERE circle_id = ? AND label_key = ? AND status != 'draft'"
            " ORDER BY created_at DESC, id DESC",
            (circle.id, key),
        ),
        (
            "mod queue: open circles",
            "SELECT * FROM circles WHERE guild_id = ? AND state = 'open'"
            " AND thread_id IS NOT NULL ORDER BY id",
            (GUILD_ID,),
        ),
        (
            "mod queue: held posts",
            f"SELECT * FROM anon_posts WHERE status = 'review' AND circle_id IN ({marks})"
            " ORDER BY created_at, id",
            tuple(ids),
        ),
        (
            "mod queue: open reports",
            "SELECT * FROM reports WHERE guild_id = ? AND status = 'open' ORDER BY created_at, id",
            (GUILD_ID,),
        ),
    ]
    lines = []
    for name, sql, params in queries:
        plan = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        lines.append(f"{name}: " + "; ".join(str(row["detail"]) for row in plan))
    return lines


async def growth(
    *, sizes: tuple[int, ...] = (1_000, 10_000, 100_000), runs: int = 5, count: int = 50
) -> Result:
    """Per size and operation, the median over `runs` of the mean over `count` operations."""
    timings: dict[int, dict[str, float]] = {}
    plans: list[str] = []
    for size in sizes:
        with scratch_dir() as folder:
            fixture = await build(folder / "growth.db", size)
            try:
                # Warm the page cache and the code paths once before timing.
                for operation in OPERATIONS:
                    await measure(fixture, operation, min(count, 5))
                samples: dict[str, list[float]] = {op: [] for op in OPERATIONS}
                for _ in range(runs):
                    for operation in OPERATIONS:
                        samples[operation].append(await measure(fixture, operation, count))
                timings[size] = {op: median(values) for op, values in samples.items()}
                if size == sizes[-1]:
                    plans = await query_plans(fixture)
            finally:
                await fixture.db.close()
    result = Result()
    smallest = sizes[0]
    for operation in OPERATIONS:
        base = timings[smallest][operation]
        for size in sizes[1:]:
            value = timings[size][operation]
            result.rows.append(
                Row(
                    "Growth",
                    f"{DESCRIPTIONS[operation]}, {_size(size)} vs {_size(smallest)}",
                    ms(value),
                    ms(base),
                    ratio(value, base),
                    verdict(value / base, TARGET, at_most=True) if size == sizes[-1] else "—",
                )
            )
    result.notes.append(
        f"Growth: {plural(runs, 'run')} of {count} operations of each kind per size, after a "
        "warm-up; "
        f"posts and memberships in {CIRCLES} circles, so the measured circle holds a tenth."
    )
    result.notes.append(f"EXPLAIN QUERY PLAN at {_size(sizes[-1])} posts and memberships:")
    result.notes += [f"  {line}" for line in plans]
    return result


def _size(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)
