"""Bursts of anonymous posts.

`service_burst`: N members of one circle submit at the same moment (asyncio.gather of the
service path `anonymous.submit` on a real migrated database). Each then hands its post to the
real outbox, `bot.layer.posting.Outbox.deliver_due`, as the posting flow does after acknowledging
the author; the outbox sends to a stand-in thread that records every message. Reports the time to
acknowledgement (submit returning) and checks that every post went out once, in the order it
was stored.

`simcord_burst`: N posts in a row end to end through simcord (open the modal, submit, posted
in the thread), five per member so the rate limit never refuses one.
"""

from __future__ import annotations

import asyncio
import math
import time

import discord

from bench import world as w
from bench.common import Result, Row, bench_settings, median, ms, percentile, plural, scratch_dir
from bench.services import RecordingThread, keys, make_circle, member_id, open_db, outbox
from bot.client import create_bot
from bot.services import anonymous as anon

ACK_P99_TARGET = 0.5  # seconds
TEXT = "Something I have wanted to say in this circle for a long time, finally said here."


async def one_service_burst(posts: int) -> tuple[list[float], float]:
    """One burst on a fresh database: each post's seconds to acknowledgement, and the seconds
    until every post was delivered. Raises AssertionError if delivery lost, doubled or
    reordered a post."""
    with scratch_dir() as folder:
        db = await open_db(folder / "burst.db")
        try:
            circle = await make_circle(db, "Burst circle")
            thread = RecordingThread(circle.thread_id or 0)
            cog = outbox(db, [thread])
            circle_keys = keys()
            authors = [circle_keys.label_key(circle, member_id(n)) for n in range(posts)]
            acknowledged: list[float] = [0.0] * posts
            stored: list[anon.AnonPost | None] = [None] * posts
            start = time.perf_counter()

            async def submit(n: int) -> None:
                post = await anon.submit(
                    db,
                    circle,
                    authors[n],
                    text=f"{TEXT} ({n})",
                    content_note=None,
                    reply_to_message_id=None,
                    quote_link=None,
                    now=discord.utils.utcnow(),
                    delay_max_seconds=0,
                )
                acknowledged[n] = time.perf_counter() - start
                stored[n] = post
                await cog.queued(post)  # what the cog does right after acknowledging

            await asyncio.gather(*(submit(n) for n in range(posts)))
            while await anon.due_posts(db, now=discord.utils.utcnow()):
                await cog.deliver_due()
            delivered = time.perf_counter() - start
            check_delivery(thread, [p for p in stored if p is not None], posts)
            rows = await db.fetchall("SELECT status, message_id, text FROM anon_posts")
            assert len(rows) == posts, "a post was not stored"
            assert all(r["status"] == "posted" and r["text"] is None for r in rows), "not posted"
            assert {r["message_id"] for r in rows} == {m.id for m in thread.sent}
        finally:
            await db.close()
    return acknowledged, delivered


def check_delivery(thread: RecordingThread, stored: list[anon.AnonPost], expected: int) -> None:
    """Every post delivered exactly once, in the order it was stored (submission order)."""
    tokens = [m.token for m in thread.sent]
    assert len(stored) == expected, f"{len(stored)} of {expected} posts were acknowledged"
    assert len(tokens) == expected, f"{len(tokens)} of {expected} posts were delivered"
    assert len(set(tokens)) == expected, "a post was delivered twice"
    in_order = [p.token for p in sorted(stored, key=lambda p: p.id)]
    assert tokens == in_order, "posts were delivered out of submission order"
    labels = {p.token: p.label for p in stored}
    assert all(m.author == f"Anonymous · {labels[m.token]}" for m in thread.sent)


async def one_simcord_burst(posts: int) -> list[float]:
    """Seconds per post for `posts` posts in a row through simcord, on a fresh bot."""
    members = math.ceil(posts / 5)
    with scratch_dir() as folder:
        bot = create_bot(bench_settings(folder))
        world = await w.start(bot, members)
        try:
            await w.configure(world)
            thread, card = await w.open_circle(world, "Busy circle")
            for member in world.members:
                await w.join(member, card)
            before = len(thread.history())
            times = []
            for n in range(posts):
                start = time.perf_counter()
                await w.post(world.members[n % members], thread, f"{TEXT} ({n})")
                times.append(time.perf_counter() - start)
            assert len(thread.history()) == before + posts, "a post did not arrive"
        finally:
            await w.stop(world, bot)
    return times


async def burst(
    *, runs: int = 7, posts: int = 1000, simcord_runs: int = 5, simcord_posts: int = 200
) -> Result:
    p50, p99, worst, delivered = [], [], [], []
    for _ in range(runs):
        acknowledged, done = await one_service_burst(posts)
        p50.append(percentile(acknowledged, 0.50))
        p99.append(percentile(acknowledged, 0.99))
        worst.append(max(acknowledged))
        delivered.append(done)
    totals, per_post = [], []
    for _ in range(simcord_runs):
        times = await one_simcord_burst(simcord_posts)
        totals.append(sum(times))
        per_post.append(median(times))
    name = f"Burst of {posts}"
    result = Result()
    result.rows += [
        Row(name, "concurrent submits (service): acknowledged, p50", ms(median(p50))),
        Row(
            name,
            "concurrent submits (service): acknowledged, p99",
            ms(median(p99)),
            target=f"< {ms(ACK_P99_TARGET)}: "
            + ("met" if median(p99) < ACK_P99_TARGET else "missed"),
        ),
        Row(name, "concurrent submits (service): acknowledged, max", ms(median(worst))),
        Row(
            name,
            "concurrent submits (service): all delivered, in order, once",
            f"{posts} of {posts} in {ms(median(delivered))}",
        ),
        Row(name, f"{simcord_posts} posts in a row through simcord: total", ms(median(totals))),
        Row(
            name,
            f"{simcord_posts} posts in a row through simcord: per post, median",
            ms(median(per_post)),
        ),
    ]
    result.notes.append(
        f"Burst: {plural(runs, 'run')} of {posts} concurrent submits by {posts} members of "
        "one circle; "
        f"{plural(simcord_runs, 'run')} of {simcord_posts} posts in a row through simcord by "
        f"{math.ceil(simcord_posts / 5)} members who joined with Join and I agree."
    )
    return result
