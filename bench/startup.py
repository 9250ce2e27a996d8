"""Start-up: how long until the bot is ready with a database that has seen a lot of use.

Our bot starts on a database holding `posts` posted anonymous posts, `memberships`
memberships and `circles` open circles (bulk-inserted, in a server of their own); the bare bot
starts with nothing. Each is timed in the same kind of fresh simulated server from `env.start()`
(login, `setup_hook`: opening the database, persistent buttons registered, commands synced)
until it is ready: for ours, also the outbox's first pass finished; for both, the first command
a member runs answered (`/about` for ours; `/open`, which opens a thread and so does more,
for the bare bot, whose other commands need a thread). Target: ours within one
second more than the bare bot's.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import discord

from bench import world as w
from bench.bare import BareBot
from bench.common import Result, Row, bench_settings, median, ms, plural, scratch_dir
from bench.growth import _post_row
from bench.services import NOW, keys, make_circle, member_id, open_db
from bot.client import CircleBot, create_bot

TARGET = 1.0  # seconds more than the bare bot


async def fill(path: Path, *, posts: int, memberships: int, circles: int) -> None:
    """A database that has seen use: open circles, memberships spread over them, and
    posted anonymous posts spread over their members."""
    db = await open_db(path)
    try:
        made = [await make_circle(db, f"Circle {n}") for n in range(circles)]
        circle_keys = keys()
        members, authors = [], []
        old = NOW - timedelta(days=30)
        for n in range(memberships):
            circle = made[n % circles]
            members.append((circle.id, member_id(n), 0, old.isoformat()))
            authors.append((circle.id, circle_keys.label_key(circle, member_id(n))))
        rows = [
            _post_row(*authors[n % memberships], old + timedelta(seconds=n), "posted")
            for n in range(posts)
        ]
        async with db.transaction():
            await db.executemany(
                "INSERT INTO memberships (circle_id, user_id, agreed_count, agreed_at)"
                " VALUES (?, ?, ?, ?)",
                members,
            )
            await db.executemany(
                "INSERT INTO anon_posts (token, circle_id, label, label_key, text, status,"
                " message_id, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        await db.close()


def _first_pass(bot: CircleBot) -> asyncio.Event:
    """Set once the outbox's first pass (`deliver_due`) has finished."""
    done = asyncio.Event()
    deliver_due = bot.outbox.deliver_due

    async def timed() -> None:
        await deliver_due()
        done.set()

    bot.outbox.deliver_due = timed  # type: ignore[method-assign]
    return done


async def one_start(*, bare: bool, posts: int, memberships: int, circles: int) -> float:
    """Seconds from `env.start()` until ready and the first command answered."""
    with scratch_dir() as folder:
        settings = bench_settings(folder)
        if not bare:
            await fill(
                settings.database_path, posts=posts, memberships=memberships, circles=circles
            )
        bot: discord.Client = BareBot() if bare else create_bot(settings)
        passed = _first_pass(bot) if isinstance(bot, CircleBot) else None
        start = time.perf_counter()
        world = await w.start(bot, 1)
        try:
            if passed is not None:
                await asyncio.wait_for(passed.wait(), timeout=30)
            if bare:
                answer = await world.mod.slash(world.general, "open", name="First")
            else:
                answer = await world.members[0].slash(world.general, "about")
            assert answer.acknowledged, answer
            elapsed = time.perf_counter() - start
        finally:
            await w.stop(world, bot)
    return elapsed


async def startup(
    *, runs: int = 3, posts: int = 100_000, memberships: int = 10_000, circles: int = 1_000
) -> Result:
    ours: list[float] = []
    bare: list[float] = []
    for run in range(runs):
        for is_bare in (False, True) if run % 2 == 0 else (True, False):
            seconds = await one_start(
                bare=is_bare, posts=posts, memberships=memberships, circles=circles
            )
            (bare if is_bare else ours).append(seconds)
    mine, theirs = median(ours), median(bare)
    extra = mine - theirs
    result = Result()
    result.rows.append(
        Row(
            "Start-up",
            f"ready and first command answered, with {posts:,} posts, {memberships:,} "
            f"memberships and {circles:,} open circles (ours) vs an empty bare bot",
            ms(mine),
            ms(theirs),
            f"+{ms(extra)}" if extra >= 0 else f"-{ms(-extra)}",
            f"≤ +{ms(TARGET)}: {'met' if extra <= TARGET else 'missed'}",
        )
    )
    result.notes.append(
        f"Start-up: {plural(runs, 'run')} per bot, alternating which goes first; ours is ready "
        "once `setup_hook` is done (database opened, persistent buttons registered, commands "
        "synced), the outbox's first pass has finished and the first command is answered; the "
        "ratio column there is the difference. The database is filled before the clock starts."
    )
    return result
