"""Attack tests: each plays an adversary and fails if the set of possible authors narrows."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable

import discord
import pytest
import simcord

from bot.client import create_bot
from bot.services import anonymous as anon
from bot.settings import Settings
from tests.conftest import World, build_world, unexpected_errors
from tests.test_anonymous import anonymous_posts, post
from tests.test_circles import join, open_circle

# --- Watching Discord ---
# The adversary reads every public message and its timestamp, and sees totals as they change,
# but not who pressed a button or opened a form. These tests run on a server left at the
# bot's defaults, as a fresh server is.

_WATCH_DELAY_BOUND = 120  # the default random delay, in seconds
_WATCH_STEP = 5  # how finely the watcher samples the thread, in seconds


@pytest.fixture
async def _watch_world(settings: Settings) -> AsyncIterator[World]:
    """The bot in a simulated server whose delivery delay is the bot's own default."""
    bots = [create_bot(settings)]
    env = simcord.Env(bots[0], check_errors=False)
    await env.start()
    try:
        yield build_world(env, bots, settings)
    finally:
        await env.shutdown()
        for bot in bots:
            await bot.close()
    problems = unexpected_errors(env)
    if problems:
        raise problems[0]


def _watch_queue_items(world: World) -> list[discord.Message]:
    return [m for m in world.queue.history() if m.embeds and m.embeds[0].title]


async def _watch_until(world: World, seen: Callable[[], object], *, limit: float) -> float:
    """Advance the clock in small steps until `seen()` is true; return the seconds it took."""
    waited = 0.0
    while not seen():
        assert waited <= limit, f"nothing appeared within {limit} seconds"
        await world.env.advance_time(_WATCH_STEP)
        waited += _WATCH_STEP
    return waited


async def test_watch_fresh_server_posts_wait_a_random_time(
    _watch_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fresh server a post is not visible when its author submits it, and the waits
    are spread across the window (not one fixed wait); every post appears exactly once."""
    world = _watch_world
    monkeypatch.setattr(anon, "DELAY_RANDOM", random.Random(20260101), raising=False)
    thread, card = await open_circle(world)
    authors = [world.alice, world.bob, world.carol]
    for member in authors:
        await join(world, member, card)
    waits = []
    for n in range(6):
        before = len(anonymous_posts(thread))
        await post(authors[n % 3], thread, text=f"Post number {n}, written just now.")
        assert len(anonymous_posts(thread)) == before, "the post appeared as it was submitted"

        def arrived(count: int = before) -> bool:
            return len(anonymous_posts(thread)) > count

        waits.append(await _watch_until(world, arrived, limit=_WATCH_DELAY_BOUND))
    assert max(waits) - min(waits) >= 30, f"waits hardly vary: {waits}"
    assert len(set(waits)) >= 4, f"waits look fixed: {waits}"
    await world.env.advance_time(_WATCH_DELAY_BOUND * 2)
    bodies = [m.embeds[0].description or "" for m in anonymous_posts(thread)]
    assert sorted(bodies) == sorted(f"Post number {n}, written just now." for n in range(6))


async def test_watch_review_queue_item_waits_and_approval_is_delayed(
    _watch_world: World,
) -> None:
    """In a review circle the moderators' queue item is not created when the post is
    submitted, and approving it does not publish it at the moment of approval."""
    world = _watch_world
    thread, card = await open_circle(world, review=True)
    for member in (world.alice, world.bob, world.carol):
        await join(world, member, card)
    await post(world.alice, thread)
    assert _watch_queue_items(world) == [], "the queue item appeared as the post was submitted"
    await _watch_until(world, lambda: _watch_queue_items(world), limit=_WATCH_DELAY_BOUND)
    assert len(_watch_queue_items(world)) == 1
    item = _watch_queue_items(world)[0]
    approved = await world.mod.click(item, label="Approve")
    assert approved.acknowledged
    assert anonymous_posts(thread) == [], "the post appeared at the moment of approval"
    await _watch_until(world, lambda: anonymous_posts(thread), limit=_WATCH_DELAY_BOUND)
    await world.env.advance_time(_WATCH_DELAY_BOUND)
    assert len(anonymous_posts(thread)) == 1


async def test_watch_one_member_circle_says_how_few(_watch_world: World) -> None:
    """Alone in a circle, the author is told how few people are in it, on the form, in the
    acknowledgement and on the card, and is never told nobody can tell it was them."""
    world = _watch_world
    thread, card = await open_circle(world)
    await join(world, world.mod, card)  # the keeper, alone in the circle
    shown = await world.mod.slash(thread, "anon post")
    assert shown.modal is not None
    assert "Only 1 person is in this circle" in str(shown.modal)
    done = await world.mod.submit_modal(shown, {"message": "Just me here.", "content_note": ""})
    answer = done.response.content
    assert "Only 1 person is in this circle" in answer and "too few to hide in" in answer
    assert "Nobody" not in answer and "nobody" not in answer
    card_now = next(m for m in world.general.history() if m.id == card.id)
    fields = " ".join(str(f.value) for f in card_now.embeds[0].fields)
    assert "Only 1 person is in this circle" in fields


async def test_watch_checkin_totals_hide_each_answer(_watch_world: World) -> None:
    """The check-in message does not change per option after the first and second answers,
    and shows the totals only once a third has answered and 30 seconds have passed."""
    world = _watch_world
    thread, card = await open_circle(world)
    for member in (world.alice, world.bob, world.carol):
        await join(world, member, card)
    await world.mod.slash(thread, "circle checkin")
    checkin = thread.last_message
    assert checkin is not None

    def current() -> str:
        return next(m for m in thread.history() if m.id == checkin.id).content

    untouched = current()
    await world.alice.click(checkin, label="Clear")
    assert current() == untouched, "the first answer changed the public totals"
    await world.bob.click(checkin, label="Stormy")
    assert current() == untouched, "the second answer changed the public totals"
    await world.carol.click(checkin, label="Stormy")
    assert "Stormy: **2**" not in current(), "totals moved at the moment of the third answer"
    await world.env.advance_time(30)
    shown = current()
    assert "Clear: **1**" in shown and "Stormy: **2**" in shown and "Rainy: **0**" in shown
