"""Posts that Discord refuses: the author is told privately, moderators once per channel and
cause, and every post ends delivered exactly once, in order, or clearly undeliverable; the
whole flow is checked over requests, rows and logs for anything that could unmask the author.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
import pytest
import simcord

from bot.db import Database
from bot.layer.posting import failure_cause
from bot.services import anonymous as anon
from bot.services import circles, delivery, modlog
from tests.conftest import World
from tests.test_anonymous import (
    TEXT,
    anonymous_posts,
    assert_author_answers_private,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    circle_with_members,
    post,
    snapshot,
)

SECOND = "And nobody asked us first."


async def immediate_circle(world: World, **options: object) -> simcord.ChannelHandle:
    """A circle whose posts go out at once, so the tests control every wait."""
    thread, _ = await circle_with_members(world, **options)
    await world.admin.slash(world.general, "setup delay", max_seconds=0)
    return thread


def clear_faults(world: World) -> None:
    world.env.backend.faults.clear()


def modlog_entries(world: World, action: str) -> list[str]:
    return [m.content for m in world.modlog.history() if m.content.startswith(f"**{action}**")]


async def labels(world: World) -> list[str]:
    return [r["label"] for r in await world.db.fetchall("SELECT label FROM anon_labels")]


async def assert_entries_do_not_point_at_posts(world: World) -> None:
    """Mod-log entries name the thread and cause, never a label, the text or a member."""
    actions = [*delivery.ACTIONS.values(), delivery.WORKS_AGAIN]
    stored = [
        r
        for r in await world.db.fetchall("SELECT * FROM mod_log WHERE moderator_id IS NULL")
        if r["action"] in actions
    ]
    assert stored, "no delivery entry, so this check would prove nothing"
    shown = [text for action in actions for text in modlog_entries(world, action)]
    for label in await labels(world):
        assert all(label not in text for text in shown)
        assert all(label not in (r["details"] or "") for r in stored)
    for row in stored:
        assert row["target_label"] is None and row["target_user_id"] is None
    for member in (world.alice, world.bob):
        assert all(str(member.id) not in text for text in shown)
    assert all(TEXT not in text for text in shown)


async def test_missing_permission_is_told_then_delivered_once_in_order(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A 403 in the thread: the author is told within seconds, moderators once, and both
    waiting posts go out once, in order, when it is fixed."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world)
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=403, code=50013, times=None
    )
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    first = await post(world.alice, thread)
    second = await post(world.bob, thread, text=SECOND)
    assert_author_answers_private(first + second)
    assert "can't post in this thread yet" in first[1].response.content
    assert "can't post in this thread yet" in second[1].response.content  # waits behind it
    mine = await world.alice.slash(thread, "anon mine")
    assert "waiting: Circlekeeper can't post in this thread yet" in mine.response.content
    assert "/anon delete" in mine.response.content
    await world.env.advance_time(900)
    assert anonymous_posts(thread) == []
    blocked = modlog_entries(world, "posting blocked")
    assert len(blocked) == 1, blocked
    assert f"<#{thread.id}>" in blocked[0] and "Send Messages in Threads" in blocked[0]
    clear_faults(world)
    await world.env.advance_time(310)
    assert [m.embeds[0].description for m in anonymous_posts(thread)] == [TEXT, SECOND]
    assert len(modlog_entries(world, "posting works again")) == 1
    assert len(modlog_entries(world, "posting blocked")) == 1
    await world.env.advance_time(600)
    assert len(anonymous_posts(thread)) == 2
    statuses = await world.db.fetchall("SELECT status, text FROM anon_posts")
    assert [(r["status"], r["text"]) for r in statuses] == [("posted", None)] * 2
    await assert_entries_do_not_point_at_posts(world)
    for author in (world.alice, world.bob):
        assert_requests_do_not_unmask(world, mark, author)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), author)
        assert_logs_clean(caplog, author, TEXT)
    assert_logs_clean(caplog, world.bob, SECOND)


async def test_author_can_take_back_a_waiting_post(world: World) -> None:
    """/anon delete takes back a post waiting on a missing permission; it never goes out."""
    thread = await immediate_circle(world)
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=403, code=50013, times=None
    )
    await post(world.alice, thread)
    picker = await world.alice.slash(thread, "anon delete")
    token = (await world.db.fetchone("SELECT token FROM anon_posts"))["token"]
    done = await world.alice.select(picker.response.message, values=[token])
    assert done.response.content == "Deleted."
    clear_faults(world)
    await world.env.advance_time(600)
    assert anonymous_posts(thread) == []
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 0


async def test_deleted_thread_ends_the_post_as_undeliverable(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 ends the post: its text goes, the author and /anon mine say it never went out."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world)
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=404, code=10003, times=None
    )
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await post(world.alice, thread)
    assert_author_answers_private(results)
    assert "could not be posted" in results[1].response.content
    row = await world.db.fetchone("SELECT status, text, content_note FROM anon_posts")
    assert (row["status"], row["text"], row["content_note"]) == ("rejected", None, None)
    mine = await world.alice.slash(thread, "anon mine")
    assert "not posted: the circle's thread was gone" in mine.response.content
    await world.env.advance_time(900)
    assert anonymous_posts(thread) == []
    assert len(modlog_entries(world, "channel gone")) == 1
    await assert_entries_do_not_point_at_posts(world)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_run_of_server_errors_retries_within_seconds(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Three 500s in a row: retried within seconds, delivered once, moderators told once."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=3)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await post(world.alice, thread)
    assert "Discord is having trouble" in results[1].response.content
    for _ in range(20):
        await world.env.advance_time(1)
    assert len(anonymous_posts(thread)) == 1
    assert "has gone out now" in results[1].response.content
    assert len(modlog_entries(world, "posting failing")) == 1
    assert len(modlog_entries(world, "posting works again")) == 1
    await world.env.advance_time(600)
    assert len(anonymous_posts(thread)) == 1
    await assert_entries_do_not_point_at_posts(world)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_rate_limit_without_retry_after_backs_off(world: World) -> None:
    """A 429 that says nothing of when: a short backoff, then one delivery, no mod-log entry."""
    thread = await immediate_circle(world)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=429, times=1)
    results = await post(world.alice, thread)
    assert "slow down" in results[1].response.content
    for _ in range(10):
        await world.env.advance_time(1)
    assert len(anonymous_posts(thread)) == 1
    assert modlog_entries(world, "posting blocked") == []
    assert modlog_entries(world, "posting works again") == []


def test_rate_limited_waits_as_long_as_discord_says() -> None:
    """discord.RateLimited's retry_after sets the wait; without one, the backoff does."""
    cause, retry_after = failure_cause(discord.RateLimited(42.0))
    assert (cause, retry_after) == ("rate_limited", 42.0)
    wait = delivery.retry_delay(cause, 1, retry_after)
    assert wait is not None and timedelta(seconds=42) < wait < timedelta(seconds=44)
    assert delivery.retry_delay("rate_limited", 1, None) == timedelta(seconds=2)
    assert delivery.retry_delay("server", 9) == timedelta(seconds=60)
    forbidden = [delivery.retry_delay("forbidden", n) for n in (1, 2, 3, 9)]
    assert forbidden == [timedelta(seconds=s) for s in (60, 120, 300, 300)]
    assert delivery.retry_delay("gone", 1) is None


async def test_restart_while_waiting_on_a_missing_permission(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """After a restart the waiting post is sent once, and moderators hear nothing twice."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world)
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=403, code=50013, times=None
    )
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await post(world.alice, thread)
    assert len(modlog_entries(world, "posting blocked")) == 1
    await world.restart()
    await world.env.advance_time(900)
    assert anonymous_posts(thread) == []
    assert len(modlog_entries(world, "posting blocked")) == 1
    clear_faults(world)
    await world.env.advance_time(310)
    assert len(anonymous_posts(thread)) == 1
    assert len(modlog_entries(world, "posting works again")) == 1
    await world.env.advance_time(600)
    assert len(anonymous_posts(thread)) == 1
    await assert_entries_do_not_point_at_posts(world)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_held_post_retries_the_queue_channel(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused queue channel: moderators told once, the held post arrives there once."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world, review=True)
    world.env.inject_error(
        "POST", f"/channels/{world.queue.id}/messages", status=403, code=50013, times=None
    )
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await post(world.alice, thread)
    await world.env.advance_time(1)
    circle_ids = [c.id for c in await circles.open_circles(world.db, world.guild.id)]
    assert len(await anon.pending_reviews(world.db, circle_ids)) == 1  # /mod queue lists it
    blocked = modlog_entries(world, "posting blocked")
    assert len(blocked) == 1 and f"<#{world.queue.id}>" in blocked[0]
    await world.env.advance_time(600)
    assert len(modlog_entries(world, "posting blocked")) == 1
    clear_faults(world)
    await world.env.advance_time(310)
    held = [
        m for m in world.queue.history() if m.embeds and TEXT in (m.embeds[0].description or "")
    ]
    assert len(held) == 1
    assert len(modlog_entries(world, "posting works again")) == 1
    await world.mod.click(held[0], label="Approve")
    assert len(anonymous_posts(thread)) == 1
    await assert_entries_do_not_point_at_posts(world)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_channel_problems_log_once_and_survive_a_restart(db: Database) -> None:
    """One entry per channel and cause; a new process learns from the mod log it was told."""
    problems = delivery.ChannelProblems()
    await problems.load(db, 1, 77)
    assert problems.failed(77, "forbidden").log_now
    assert not problems.failed(77, "forbidden").log_now
    assert [problems.failed(78, "server").log_now for _ in range(4)] == [
        False,
        False,
        True,
        False,
    ]
    assert not problems.failed(79, "rate_limited").log_now
    now = discord.utils.utcnow()
    await modlog.record(
        db, guild_id=1, moderator_id=None, action="posting blocked", now=now, details="<#77>"
    )
    fresh = delivery.ChannelProblems()
    await fresh.load(db, 1, 77)
    assert not fresh.failed(77, "forbidden").log_now
    assert fresh.works(77) == "forbidden"
    assert fresh.works(77) is None
    assert problems.works(79) is None
