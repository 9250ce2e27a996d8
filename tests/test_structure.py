"""A circle's structure end to end: check-in totals, check-out, prompt rounds with a talking
piece, pauses that lock and unlock the thread, and the private "I need a break"."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import discord
import pytest
import simcord

from bot.db import Database, discover_migrations
from bot.layer.breaks import BreakButton
from bot.services import anonymous as anon
from bot.services import circles, structure
from bot.services.circles import Circle
from tests.conftest import World
from tests.test_anonymous import (
    anonymous_posts,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    identity_of,
    snapshot,
)
from tests.test_circles import join, open_circle

SHARE = "Being believed the first time changed everything for me."


# --- helpers -----------------------------------------------------------------------------


async def circle_with(
    world: World, *members: simcord.MemberActor, **options: object
) -> tuple[simcord.ChannelHandle, discord.Message, Circle]:
    thread, card = await open_circle(world, **options)
    for member in members:
        await join(world, member, card)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    return thread, card, circle


def custom_ids(message: discord.Message) -> list[str]:
    return [
        child["custom_id"]
        for row in message.components
        for child in row.to_dict()["components"]
        if "custom_id" in child
    ]


def turn_message(thread: simcord.ChannelHandle) -> discord.Message:
    """The latest message that still carries a Take my turn button."""
    for message in reversed(thread.history()):
        if any(c.startswith("ck:circle:turn:") for c in custom_ids(message)):
            return message
    raise AssertionError("no open turn message")


async def holder_of(world: World, circle: Circle, *members: simcord.MemberActor):
    """Which of `members` holds the talking piece now (by id, or by holder key)."""
    turn = await structure.holder(world.db, circle.id)
    rnd = await structure.get_round(world.db, circle.id)
    assert turn is not None and rnd is not None
    for member in members:
        if turn.user_id == member.id:
            return member
        if turn.holder_key is not None and turn.holder_key == holder_key_of(
            world, circle, rnd, member
        ):
            return member
    raise AssertionError("the holder is none of these members")


def holder_key_of(
    world: World, circle: Circle, rnd: structure.Round, member: simcord.MemberActor
) -> bytes:
    """The key an anonymous round knows `member` by (needs the bot's circle key)."""
    circle_key = world.bot.circle_keys.circle_key(circle)
    return structure.holder_key(rnd.round_salt, circle_key, member.id)


def lock_edits(world: World, mark: int, thread_id: int) -> list[bool]:
    return [
        r.json["locked"]
        for r in world.env.http_requests[mark:]
        if r.method == "PATCH" and r.path == f"/channels/{thread_id}" and "locked" in (r.json or {})
    ]


async def advance(world: World, seconds: int, step: int = 30) -> None:
    while seconds > 0:
        await world.env.advance_time(min(step, seconds))
        seconds -= step


# --- check-in and check-out ----------------------------------------------------------------


async def test_checkin_shows_totals_only_and_ends_on_restart(world: World) -> None:
    """Check-in counts each member once and shows totals once three have answered; no name or
    id in REST or DB."""
    thread, _, _ = await circle_with(world, world.alice, world.bob, world.carol)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    started = await world.mod.slash(thread, "circle checkin")
    assert started.ephemeral
    message = thread.last_message
    assert "How's your weather right now?" in message.content
    first = await world.alice.click(message, label="Clear")
    assert first.ephemeral and "Thank you" in first.response.content
    await world.bob.click(thread.last_message, label="Rainy")
    again = await world.alice.click(thread.last_message, label="Stormy")
    assert again.ephemeral and "Already counted" in again.response.content
    await world.carol.click(thread.last_message, label="Foggy, hard to tell")
    await world.env.advance_time(31)
    shown = thread.history()[-1].content
    assert "Clear: **1**" in shown and "Rainy: **1**" in shown and "Stormy: **0**" in shown
    assert "Foggy, hard to tell: **1**" in shown
    assert "3 people have checked in" in shown
    for member in (world.alice, world.bob, world.carol):
        assert_requests_do_not_unmask(world, mark, member)
    assert await snapshot(world.db) == before
    await world.restart()
    late = await world.carol.click(thread.history()[-1], label="Foggy, hard to tell")
    assert late.ephemeral and "has ended" in late.response.content
    assert "3 people have checked in" in thread.history()[-1].content


async def test_checkin_ends_with_final_totals_at_checkout(world: World) -> None:
    """Starting the check-out ends the check-in: its buttons go, and with fewer than three
    answers it says no totals are shown rather than showing them."""
    thread, _, _ = await circle_with(world, world.alice, world.bob)
    await world.mod.slash(thread, "circle checkin")
    checkin = thread.last_message
    await world.alice.click(checkin, label="Clear")
    await world.bob.click(checkin, label="Rainy")
    await world.mod.slash(thread, "circle checkout")
    ended = next(m for m in thread.history() if m.id == checkin.id)
    assert "ended" in ended.content and "no totals are shown" in ended.content
    assert "**1**" not in ended.content and not ended.components


async def test_checkout_is_private_unless_shared(world: World) -> None:
    """Check-out echoes answers privately; only choosing to share posts the takeaway
    anonymously, and keeping it private is the choice the form starts with."""
    thread, _, _ = await circle_with(world, world.alice)
    await world.mod.slash(thread, "circle checkout")
    board = thread.last_message
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    shown = await world.alice.click(board, label="Check out")
    assert shown.modal is not None
    choice = next(row["component"] for row in shown.modal["components"] if row.get("type") == 18)
    assert [o["value"] for o in choice["options"] if o.get("default")] == ["no"]
    kept = await world.alice.submit_modal(
        shown, {"takeaway": "I am not alone.", "care": "A walk by the sea.", "share": ["no"]}
    )
    assert kept.ephemeral
    assert "I am not alone." in kept.response.content
    assert "nothing was stored or shared" in kept.response.content
    assert anonymous_posts(thread) == []
    assert await snapshot(world.db) == before
    shown = await world.alice.click(board, label="Check out")
    shared = await world.alice.submit_modal(
        shown, {"takeaway": "I am not alone.", "care": "A walk by the sea.", "share": ["yes"]}
    )
    assert shared.ephemeral
    posts = anonymous_posts(thread)
    assert len(posts) == 1 and "I am not alone." in (posts[0].embeds[0].description or "")
    assert "sea" not in (posts[0].embeds[0].description or "")
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)


# --- rounds ----------------------------------------------------------------------------------


async def test_round_share_pass_timeout_and_restart(world: World) -> None:
    """A named round: a share, a refused non-holder, a pass after a restart, a timed-out turn."""
    members = (world.alice, world.bob, world.carol)
    thread, _, circle = await circle_with(world, *members)
    started = await world.mod.slash(thread, "circle round start", turn_minutes=1)
    assert started.ephemeral and "3 people" in started.response.content
    assert "A round is starting" in "\n".join(m.content for m in thread.history())

    first = await holder_of(world, circle, *members)
    other = next(m for m in members if m is not first)
    refused = await other.click(turn_message(thread), label="Take my turn")
    assert refused.ephemeral and "isn't your turn" in refused.response.content
    announced = turn_message(thread)
    assert announced.mentions and [u.id for u in announced.mentions] == [first.id]

    taken = await first.click(turn_message(thread), label="Take my turn")
    assert taken.ephemeral
    form = await first.click(taken.response.message, label="Share")
    assert form.modal is not None
    done = await first.submit_modal(form, {"share": SHARE, "content_note": ""})
    assert done.ephemeral
    shared = [m for m in thread.history() if m.embeds and m.embeds[0].description == SHARE]
    assert len(shared) == 1 and shared[0].embeds[0].author.name == first.user.global_name
    assert shared[0].mentions == []

    second = await holder_of(world, circle, *members)
    assert second is not first
    # The first turn's message no longer says the piece is with them until a time now gone.
    old = next(m for m in thread.history() if m.id == announced.id)
    assert "talking piece is with you" not in old.content and "has passed" in old.content
    assert not old.components
    await world.restart()
    taken = await second.click(turn_message(thread), label="Take my turn")
    passed = await second.click(taken.response.message, label="Pass")
    assert "passed" in passed.response.content and passed.modal is None

    third = await holder_of(world, circle, *members)
    assert third not in (first, second)
    await advance(world, 90)
    assert await structure.get_round(world.db, circle.id) is None
    assert "end of the round" in thread.history()[-1].content
    assert await world.db.fetchval("SELECT count(*) FROM round_turns") == 0


async def test_come_back_to_me_moves_holder_to_the_end(world: World) -> None:
    """Come back to me hands the piece on and puts the holder last."""
    thread, _, circle = await circle_with(world, world.alice, world.bob)
    await world.mod.slash(thread, "circle round start")
    first = await holder_of(world, circle, world.alice, world.bob)
    taken = await first.click(turn_message(thread), label="Take my turn")
    later = await first.click(taken.response.message, label="Come back to me")
    assert "come back to you" in later.response.content
    second = await holder_of(world, circle, world.alice, world.bob)
    assert second is not first
    taken = await second.click(turn_message(thread), label="Take my turn")
    await second.click(taken.response.message, label="Pass")
    assert await holder_of(world, circle, world.alice, world.bob) is first
    taken = await first.click(turn_message(thread), label="Take my turn")
    last = await first.click(taken.response.message, label="Come back to me")
    assert "last one" in last.response.content
    assert await holder_of(world, circle, world.alice, world.bob) is first


async def test_holder_without_the_new_agreement_accepts_privately_then_shares(
    world: World,
) -> None:
    """A member who has not accepted a new agreement still gets the piece; Take my turn asks
    them, privately and with nothing posted, to accept first (or pass); once they have
    accepted, Take my turn offers Share again."""
    thread, _, circle = await circle_with(world, world.alice)
    await world.mod.slash(thread, "circle agreements add", text="Cameras stay off.")
    await world.mod.slash(thread, "circle round start")
    assert await holder_of(world, circle, world.alice) is world.alice
    posted = len(thread.history())
    asked = await world.alice.click(turn_message(thread), label="Take my turn")
    assert asked.ephemeral and "new agreement" in asked.response.content
    assert len(thread.history()) == posted
    shown = await world.alice.click(asked.response.message, label="Read and accept")
    assert "Cameras stay off." in shown.response.embeds[0].description
    await world.alice.click(shown.response.message, label="I agree")
    taken = await world.alice.click(turn_message(thread), label="Take my turn")
    form = await world.alice.click(taken.response.message, label="Share")
    assert form.modal is not None
    await world.alice.submit_modal(form, {"share": SHARE, "content_note": ""})
    assert any(m.embeds and m.embeds[0].description == SHARE for m in thread.history())


async def test_member_who_leaves_is_not_called_again(world: World) -> None:
    """A member who left is never called: a named round forgets their id at once; an
    anonymous round leaves its rows alone at the leave and skips their place when the
    piece reaches it."""
    for mode, places_after_leave in (("named", 1), ("anonymous", 2)):
        thread, _, circle = await circle_with(world, world.alice, world.bob, name=f"Leave {mode}")
        await world.mod.slash(thread, "circle round start", mode=mode)
        holder = await holder_of(world, circle, world.alice, world.bob)
        other = world.bob if holder is world.alice else world.alice
        await other.slash(thread, "circle leave")
        left = await world.db.fetchval(
            "SELECT count(*) FROM round_turns WHERE circle_id = ?", (circle.id,)
        )
        assert left == places_after_leave, mode
        announced = turn_message(thread)
        taken = await holder.click(announced, label="Take my turn")
        await holder.click(taken.response.message, label="Pass")
        assert await structure.get_round(world.db, circle.id) is None, mode
        after = [m for m in thread.history() if m.id > announced.id]
        assert [m.content for m in after if "talking piece is with you" in m.content] == []
        assert "end of the round" in after[-1].content, mode


async def test_anonymous_round_shares_by_label_only(world: World) -> None:
    """An anonymous round names holders by a name for that round only (never their circle
    label, which a list across two rounds could tie to a member who joined or left), and
    posts the share under the label with no id anywhere."""
    thread, _, circle = await circle_with(world, world.alice, world.bob)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await world.mod.slash(thread, "circle round start", mode="anonymous")
    rows = await world.db.fetchall("SELECT user_id, holder_key FROM round_turns")
    assert rows and all(r["user_id"] is None and r["holder_key"] for r in rows)
    holder = await holder_of(world, circle, world.alice, world.bob)
    other = world.bob if holder is world.alice else world.alice
    label = await anon.label_for(
        world.db, circle.id, world.bot.circle_keys.label_key(circle, holder.id)
    )
    announced = turn_message(thread)
    assert label not in announced.content and announced.mentions == []
    rnd = await structure.get_round(world.db, circle.id)
    assert rnd is not None
    key = holder_key_of(world, circle, rnd, holder)
    assert key != world.bot.circle_keys.label_key(circle, holder.id)
    assert structure.round_alias(key) in announced.content
    refused = await other.click(announced, label="Take my turn")
    assert "isn't your turn" in refused.response.content
    taken = await holder.click(announced, label="Take my turn")
    form = await holder.click(taken.response.message, label="Share")
    await holder.submit_modal(form, {"share": SHARE, "content_note": ""})
    posts = anonymous_posts(thread)
    assert len(posts) == 1
    assert posts[0].embeds[0].author.name == f"Anonymous · {label}"
    assert posts[0].interaction_metadata is None and posts[0].mentions == []
    assert await holder_of(world, circle, world.alice, world.bob) is other
    for member in (world.alice, world.bob):
        assert_requests_do_not_unmask(world, mark, member)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), member)
    await world.mod.slash(thread, "circle round end")
    await world.mod.slash(thread, "circle round start", mode="anonymous")
    again = await structure.get_round(world.db, circle.id)
    assert again is not None and again.round_salt != rnd.round_salt
    assert holder_key_of(world, circle, again, holder) != key


async def test_share_after_the_turn_ended_is_given_back(world: World) -> None:
    """A share submitted after the turn timed out is not posted; its text is given back."""
    thread, _, circle = await circle_with(world, world.alice, world.bob)
    await world.mod.slash(thread, "circle round start", turn_minutes=1)
    holder = await holder_of(world, circle, world.alice, world.bob)
    taken = await holder.click(turn_message(thread), label="Take my turn")
    form = await holder.click(taken.response.message, label="Share")
    await advance(world, 75)
    late = await holder.submit_modal(form, {"share": SHARE, "content_note": ""})
    assert late.ephemeral and "wasn't posted" in late.response.content
    assert SHARE in late.response.content
    assert not any(m.embeds and m.embeds[0].description == SHARE for m in thread.history())


async def test_late_anonymous_share_is_kept_as_a_draft(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A late anonymous share is not echoed back: it is kept as a draft to reopen and post,
    with no id or name in any request, new row or log line."""
    caplog.set_level(logging.DEBUG)
    thread, _, circle = await circle_with(world, world.alice, world.bob)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await world.mod.slash(thread, "circle round start", mode="anonymous", turn_minutes=1)
    holder = await holder_of(world, circle, world.alice, world.bob)
    taken = await holder.click(turn_message(thread), label="Take my turn")
    form = await holder.click(taken.response.message, label="Share")
    await advance(world, 75)
    late = await holder.submit_modal(form, {"share": SHARE, "content_note": ""})
    assert late.ephemeral and "wasn't posted" in late.response.content
    assert SHARE not in late.response.content
    reopened = await holder.click(late.response.message, label="Edit")
    assert reopened.modal is not None
    posted = await holder.submit_modal(reopened, {"message": SHARE, "content_note": ""})
    assert "will appear" in posted.response.content
    assert [m.embeds[0].description for m in anonymous_posts(thread)] == [SHARE]
    for member in (world.alice, world.bob):
        assert_requests_do_not_unmask(world, mark, member)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), member)
        assert_logs_clean(caplog, member, SHARE)


async def test_keeper_moves_the_piece_on(world: World) -> None:
    """/circle round next moves the piece on; after the last person the round is complete."""
    thread, _, circle = await circle_with(world, world.alice)
    deck = world.bot.library.deck("essay")
    assert deck is not None
    prompt = deck.prompts()[0]
    await world.mod.slash(thread, "circle round start", prompt_id=prompt.id)
    assert any(prompt.text[:60] in m.content for m in thread.history())
    old = turn_message(thread)
    moved = await world.mod.slash(thread, "circle round next")
    assert moved.ephemeral and "moved on" in moved.response.content
    assert await structure.get_round(world.db, circle.id) is None
    assert custom_ids(next(m for m in thread.history() if m.id == old.id)) == []
    assert "end of the round" in thread.history()[-1].content


async def test_strict_anonymous_round_ends_at_restart(world: World) -> None:
    """A strict circle's anonymous round ends at a restart, since its label keys are gone."""
    thread, _, circle = await circle_with(world, world.alice, strict=True)
    await world.mod.slash(thread, "circle round start", mode="anonymous")
    assert await structure.get_round(world.db, circle.id) is not None
    await world.restart()
    await advance(world, 20)
    assert await structure.get_round(world.db, circle.id) is None
    assert "strict circle" in thread.history()[-1].content


async def test_round_bad_input_is_refused(world: World) -> None:
    """No agreed members, a second round, a bad turn length or a non-keeper each get a reason."""
    thread, card, circle = await circle_with(world)
    empty = await world.mod.slash(thread, "circle round start")
    assert empty.ephemeral and "Nobody has joined" in empty.response.content
    assert await structure.get_round(world.db, circle.id) is None
    await join(world, world.alice, card)
    unknown = await world.mod.slash(thread, "circle round start", prompt_id="no-such-prompt")
    assert "no prompt with the id" in unknown.response.content
    too_long = await world.mod.slash(thread, "circle round start", turn_minutes=31)
    assert "from 1 to 30 minutes" in too_long.response.content
    assert await structure.get_round(world.db, circle.id) is None
    not_keeper = await world.alice.slash(thread, "circle round start")
    assert "Only this circle's keepers" in not_keeper.response.content
    await world.mod.slash(thread, "circle round start")
    running = await structure.get_round(world.db, circle.id)
    second = await world.mod.slash(thread, "circle round start", mode="anonymous")
    assert "already running" in second.response.content
    assert await structure.get_round(world.db, circle.id) == running
    ended = await world.mod.slash(thread, "circle round end")
    assert ended.ephemeral and await structure.get_round(world.db, circle.id) is None
    again = await world.mod.slash(thread, "circle round end")
    assert "no round running" in again.response.content


# --- pause -----------------------------------------------------------------------------------


async def test_pause_locks_then_unlocks_across_a_restart(world: World) -> None:
    """A pause posts a grounding text, locks the thread, and a restarted bot unlocks it."""
    thread, _, circle = await circle_with(world, world.alice)
    mark = len(world.env.http_requests)
    result = await world.mod.slash(thread, "circle pause", minutes=1)
    assert result.ephemeral and "locked until" in result.response.content
    assert lock_edits(world, mark, thread.id) == [True]
    grounding = thread.last_message.embeds[0].description or ""
    assert any(text[:40] in grounding for text in world.bot.library.grounding.pause_texts)
    await world.restart()
    await advance(world, 45)
    assert lock_edits(world, mark, thread.id) == [True]
    await advance(world, 45)
    assert lock_edits(world, mark, thread.id) == [True, False]
    assert await structure.get_pause(world.db, circle.id) is None
    assert "pause is over" in thread.last_message.content


async def test_pause_bad_input_and_refused_lock_change_nothing(world: World) -> None:
    """Pauses of 0 or 121 minutes and a 403 on the lock each explain and leave no schedule."""
    thread, _, circle = await circle_with(world)
    mark = len(world.env.http_requests)
    for minutes in (0, 121):
        result = await world.mod.slash(thread, "circle pause", minutes=minutes)
        assert result.ephemeral and "from 1 to 120 minutes" in result.response.content
    assert lock_edits(world, mark, thread.id) == []
    messages = len(thread.history())
    world.env.inject_error("PATCH", f"/channels/{thread.id}", status=403, code=50013)
    refused = await world.mod.slash(thread, "circle pause", minutes=5)
    assert refused.ephemeral and "Manage Threads" in refused.response.content
    assert await structure.get_pause(world.db, circle.id) is None
    assert len(thread.history()) == messages


# --- I need a break --------------------------------------------------------------------------


async def test_break_tells_nobody_unless_asked(world: World) -> None:
    """I need a break answers privately with steps and resources, and makes no other request."""
    thread, card, _ = await circle_with(world, world.alice)
    mark = len(world.env.http_requests)
    shown = await world.alice.click(card, label="I need a break")
    assert shown.ephemeral
    titles = [e.title for e in shown.response.embeds]
    assert world.bot.library.grounding.break_title in titles
    assert "Support" in titles
    assert any("Ask a keeper" in str(c) for c in shown.response.components)
    requests = world.env.http_requests[mark:]
    assert requests and all(r.path.startswith("/interactions/") for r in requests), requests

    # The same button on a message inside the thread (as on a prompt) finds the circle there.
    bot_thread = world.bot.get_channel(thread.id)
    assert isinstance(bot_thread, discord.Thread)
    view = discord.ui.View(timeout=None)
    view.add_item(BreakButton())
    posted = await bot_thread.send("A prompt", view=view)
    assert custom_ids(thread.history()[-1]) == ["ck:circle:break"]
    mark = len(world.env.http_requests)
    inside = await world.alice.click(thread.history()[-1], label="I need a break")
    assert inside.ephemeral and any("Ask a keeper" in str(c) for c in inside.response.components)
    assert all(r.path.startswith("/interactions/") for r in world.env.http_requests[mark:])
    assert posted.id == thread.history()[-1].id


async def test_asking_a_keeper_sends_a_dm_naming_the_member(world: World) -> None:
    """Ask a keeper to check in with me DMs the circle's keeper, naming the member."""
    _, card, _ = await circle_with(world, world.alice)
    shown = await world.alice.click(card, label="I need a break")
    asked = await world.alice.click(
        shown.response.message, label="Ask a keeper to check in with me"
    )
    assert asked.acknowledged
    dms = world.mod.user.dm_channel.history()
    assert dms and world.alice.user.global_name in dms[-1].content
    assert "Tuesday circle" in dms[-1].content
    assert not any(world.alice.user.global_name in (m.content or "") for m in world.queue.history())


async def test_closed_dms_fall_back_to_the_queue_channel(world: World) -> None:
    """When a keeper's DMs are closed, the request goes to the moderators' queue channel."""
    _, card, _ = await circle_with(world, world.alice)
    shown = await world.alice.click(card, label="I need a break")
    world.env.inject_error("POST", "/users/@me/channels", status=403, code=50007)
    await world.alice.click(shown.response.message, label="Ask a keeper to check in with me")
    queued = world.queue.history()
    assert queued and world.alice.user.global_name in queued[-1].content
    posted = [
        r for r in world.env.http_requests if r.path == f"/channels/{world.queue.id}/messages"
    ]
    assert posted[-1].json["allowed_mentions"] == {"parse": []}
    assert "asked a keeper to check in" in json.dumps(posted[-1].json)
    assert identity_of(world.alice)[0] in queued[-1].content
    assert world.mod.user.dm_channel.history() == []


# --- upgrading ---------------------------------------------------------------------------


async def test_upgrade_ends_anonymous_rounds_that_hold_label_keys(tmp_path: Path) -> None:
    """Rounds running when the bot is upgraded: anonymous ones stored raw label keys, so they
    are ended with their rows gone; named rounds carry on."""
    path = tmp_path / "old.db"
    old = await Database.open(path, migrations=discover_migrations()[:7])
    for circle_id in (1, 2):
        await old.execute(
            "INSERT INTO circles (id, guild_id, channel_id, name, deck_id, private, review,"
            " strict, salt, created_at) VALUES (?, 1, 1, ?, 'essay', 1, 0, 0, x'00', 'now')",
            (circle_id, f"circle {circle_id}"),
        )
    for circle_id, mode in ((1, "named"), (2, "anonymous")):
        await old.execute(
            "INSERT INTO rounds (circle_id, mode, turn_seconds, turn_token, turn_ends_at,"
            " started_at, alias_salt) VALUES (?, ?, 60, ?, ?, ?, x'01')",
            (
                circle_id,
                mode,
                f"token{circle_id}",
                "2026-01-01T00:01:00+00:00",
                "2026-01-01T00:00:00+00:00",
            ),
        )
    await old.execute("INSERT INTO round_turns VALUES (1, 1, 42, NULL)")
    await old.execute("INSERT INTO round_turns VALUES (2, 1, NULL, ?)", (b"label key" * 4,))
    await old.close()
    db = await Database.open(path)
    try:
        assert [r["mode"] for r in await db.fetchall("SELECT mode FROM rounds")] == ["named"]
        rows = await db.fetchall("SELECT circle_id, user_id, holder_key FROM round_turns")
        assert [tuple(r) for r in rows] == [(1, 42, None)]
        named = await structure.get_round(db, 1)
        assert named is not None and named.round_salt == b"\x01"
    finally:
        await db.close()
