"""Storage throughput: anonymous submissions per second through the service and database,
against raw aiosqlite inserts of rows of the same size into the same kind of database file
(migrated schema, WAL, the same pragmas), one transaction per row on both sides.

The service side is `anonymous.submit` as the cog calls it: one unit on the database thread
(`Database.unit`) with the checks (circle open, no block, rate limit), the author's label, the
delivery time and the insert, whose row comes back from the insert itself. Forty members of
one circle take turns, and the clock the service is given moves 3 s per post so the rate limit
(5 per 10 minutes) never refuses one.

A second pair of rows times one indexed point query both ways: through `Database.fetchone`
(one hop to the database thread) and through aiosqlite's `execute_fetchall` (one hop).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

import aiosqlite

from bench.common import Result, Row, median, ms, plural, ratio, scratch_dir, verdict
from bench.services import NOW, keys, make_circle, member_id, open_db
from bot.db import BUSY_TIMEOUT_MS
from bot.services import anonymous as anon
from bot.services import times

TARGET = 0.5
MEMBERS = 40
STEP = timedelta(seconds=3.01)  # 40 members × 5 posts per 10 minutes: one post every 3 s
TEXT = "A post of a typical length: a few sentences about what happened and how it felt. " * 3
INSERT = (
    "INSERT INTO anon_posts (label, status, text, content_note, reply_to_message_id,"
    " quote_link, created_at, deliver_at, token, circle_id, label_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def service_rate(folder: Path, posts: int) -> float:
    """Submissions per second through `anonymous.submit`, on a fresh database."""
    db = await open_db(folder / "service.db")
    try:
        circle = await make_circle(db, "Storage circle")
        circle_keys = keys()
        authors = [circle_keys.label_key(circle, member_id(n)) for n in range(MEMBERS)]
        start = time.perf_counter()
        for n in range(posts):
            await anon.submit(
                db,
                circle,
                authors[n % MEMBERS],
                text=TEXT,
                content_note=None,
                reply_to_message_id=None,
                quote_link=None,
                now=NOW + n * STEP,
                delay_max_seconds=0,
            )
        elapsed = time.perf_counter() - start
        assert await db.fetchval("SELECT count(*) FROM anon_posts") == posts
    finally:
        await db.close()
    return posts / elapsed


async def raw_connection(path: Path) -> aiosqlite.Connection:
    """aiosqlite on its own, with the bot's pragmas."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


async def raw_rate(folder: Path, posts: int) -> float:
    """Rows per second inserted with plain aiosqlite, one autocommitted INSERT each, into a
    database migrated the same way (so the same table and indexes)."""
    path = folder / "raw.db"
    db = await open_db(path)
    circle = await make_circle(db, "Storage circle")
    label_key = keys().label_key(circle, member_id(0))
    await db.close()
    conn = await raw_connection(path)
    try:
        start = time.perf_counter()
        for n in range(posts):
            now = times.stored(NOW + n * STEP)
            await conn.execute(
                INSERT,
                (
                    "Quiet Heron",
                    "queued",
                    TEXT,
                    None,
                    None,
                    None,
                    now,
                    now,
                    secrets.token_urlsafe(anon.TOKEN_BYTES),
                    circle.id,
                    label_key,
                ),
            )
        elapsed = time.perf_counter() - start
        async with conn.execute("SELECT count(*) FROM anon_posts") as cursor:
            row = await cursor.fetchone()
        assert row is not None and row[0] == posts
    finally:
        await conn.close()
    return posts / elapsed


async def point_query(folder: Path, queries: int) -> tuple[float, float]:
    """Seconds per indexed point query: through `Database.fetchone`, and in one hop."""
    path = folder / "query.db"
    db = await open_db(path)
    try:
        circle = await make_circle(db, "Query circle")
        sql, params = "SELECT * FROM circles WHERE id = ?", (circle.id,)
        start = time.perf_counter()
        for _ in range(queries):
            await db.fetchone(sql, params)
        ours = (time.perf_counter() - start) / queries
    finally:
        await db.close()
    conn = await raw_connection(path)
    try:
        start = time.perf_counter()
        for _ in range(queries):
            await conn.execute_fetchall(sql, params)
        raw = (time.perf_counter() - start) / queries
    finally:
        await conn.close()
    return ours, raw


async def storage(*, runs: int = 7, posts: int = 1000, queries: int = 2000) -> Result:
    ours, raw, query_ours, query_raw = [], [], [], []
    for run in range(runs):
        with scratch_dir() as folder:
            if run % 2 == 0:
                ours.append(await service_rate(folder, posts))
                raw.append(await raw_rate(folder, posts))
            else:
                raw.append(await raw_rate(folder, posts))
                ours.append(await service_rate(folder, posts))
            one, hop = await point_query(folder, queries)
            query_ours.append(one)
            query_raw.append(hop)
    rate, raw_rate_ = median(ours), median(raw)
    result = Result()
    result.rows += [
        Row(
            "Storage",
            "anonymous submissions per second (service + database) vs raw inserts",
            f"{rate:,.0f}/s",
            f"{raw_rate_:,.0f}/s",
            ratio(rate, raw_rate_),
            verdict(rate / raw_rate_, TARGET, at_most=False),
        ),
        Row(
            "Storage",
            "one indexed point query: Database.fetchone vs aiosqlite execute_fetchall",
            ms(median(query_ours)),
            ms(median(query_raw)),
            ratio(median(query_ours), median(query_raw)),
        ),
    ]
    result.notes.append(
        f"Storage: {plural(runs, 'run')} of {posts} submissions and {posts} raw inserts (text of "
        f"{len(TEXT.strip())} characters), alternating which goes first; {queries} point "
        "queries each way per run."
    )
    return result
