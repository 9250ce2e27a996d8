"""Anonymous polls: one vote per member under a key that needs the master secret, nothing shown
while open, thresholded results at close, no per-voter row after it, and restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest
import simcord

from bot.db import Database
from bot.services import circles, polls
from bot.services.circles import Circle
from tests.conftest import World
from tests.test_anonymous import (
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    identity_of,
    snapshot,
)
from tests.test_circles import join, open_circle

NOW = datetime(2026, 1, 1, tzinfo=UTC)
QUESTION = "When should we meet next month?"
OPTIONS = "Mornings | Evenings | Weekends"
KEY = b"k" * 32


# --- service -------------------------------------------------------------------------------


async def _circle(db: Database, name: str = "Poll circle") -> Circle:
    return await circles.create_circle(
        db,
        guild_id=1,
        channel_id=2,
        name=name,
        deck_id="essay",
        keeper_id=3,
        default_agreements=(),
        now=NOW,
    )


async def _poll(db: Database, *, multi: bool = False, options: str = OPTIONS) -> polls.Poll:
    circle = await _circle(db)
    return await polls.create_poll(
        db, circle.id, KEY, question=QUESTION, options=options, multi=multi, hours=2, now=NOW
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("Only one", "at least 2 choices"),
        ("a | b | c | d | e | f", "at most 5 choices"),
        ("Yes | yes", "there twice"),
        ("Yes | | No", "empty"),
        ("Yes | " + "n" * 81, "at most 80 characters"),
    ],
)
async def test_bad_options_are_refused_and_store_nothing(
    db: Database, options: str, expected: str
) -> None:
    """One choice, six, a repeat, an empty or an over-long one: a reason, and no poll row."""
    circle = await _circle(db)
    with pytest.raises(polls.PollError, match=expected):
        await polls.create_poll(
            db, circle.id, KEY, question=QUESTION, options=options, multi=False, hours=2, now=NOW
        )
    assert await db.fetchval("SELECT count(*) FROM polls") == 0


async def test_bad_question_or_hours_are_refused(db: Database) -> None:
    circle = await _circle(db)
    for question, hours, expected in (
        ("   ", 2, "needs a question"),
        ("q" * 301, 2, "at most 300"),
        (QUESTION, 169, "between 1 and 168"),
    ):
        with pytest.raises(polls.PollError, match=expected):
            await polls.create_poll(
                db,
                circle.id,
                KEY,
                question=question,
                options=OPTIONS,
                multi=False,
                hours=hours,
                now=NOW,
            )
    assert await db.fetchval("SELECT count(*) FROM polls") == 0


async def test_one_vote_per_member_changeable_until_close(db: Database) -> None:
    """A member's second click moves their one vote; the count never doubles."""
    poll = await _poll(db)
    key = polls.poll_key(KEY, poll.id)
    assert (await polls.vote(db, poll, key, 11, 0, now=NOW)).changed
    moved = await polls.vote(db, poll, key, 11, 2, now=NOW)
    assert moved.choices == (2,) and moved.changed
    same = await polls.vote(db, poll, key, 11, 2, now=NOW)
    assert not same.changed
    assert await db.fetchval("SELECT count(*) FROM poll_votes") == 1


async def test_multiple_choice_toggles(db: Database) -> None:
    poll = await _poll(db, multi=True)
    key = polls.poll_key(KEY, poll.id)
    await polls.vote(db, poll, key, 11, 0, now=NOW)
    both = await polls.vote(db, poll, key, 11, 1, now=NOW)
    assert both.choices == (0, 1)
    back = await polls.vote(db, poll, key, 11, 0, now=NOW)
    assert back.choices == (1,)
    none = await polls.vote(db, poll, key, 11, 1, now=NOW)
    assert none.choices == () and await db.fetchval("SELECT count(*) FROM poll_votes") == 0


async def test_vote_rows_hold_no_id_and_need_the_key(db: Database) -> None:
    """The stored voter value is an HMAC under the poll's key: not the id, not a plain hash."""
    poll = await _poll(db)
    key = polls.poll_key(KEY, poll.id)
    await polls.vote(db, poll, key, 123456789, 1, now=NOW)
    row = await db.fetchone("SELECT * FROM poll_votes")
    assert row is not None
    assert b"123456789" not in row["voter_key"]
    assert row["voter_key"] == polls.voter_key(key, 123456789)
    assert row["voter_key"] != polls.voter_key(polls.poll_key(b"x" * 32, poll.id), 123456789)


async def test_a_vote_under_another_key_is_refused(db: Database) -> None:
    """After a strict circle restarts its key is new: such a vote never counts twice."""
    poll = await _poll(db)
    with pytest.raises(polls.PollKeyLost):
        await polls.vote(db, poll, polls.poll_key(b"new" * 11, poll.id), 11, 0, now=NOW)
    assert await db.fetchval("SELECT count(*) FROM poll_votes") == 0


async def test_vote_after_close_or_time_is_refused(db: Database) -> None:
    poll = await _poll(db)
    key = polls.poll_key(KEY, poll.id)
    with pytest.raises(polls.PollClosed):
        await polls.vote(db, poll, key, 11, 0, now=NOW + timedelta(hours=3))
    await polls.close_poll(db, poll.id, now=NOW)
    with pytest.raises(polls.PollClosed):
        await polls.vote(db, poll, key, 11, 0, now=NOW)


async def test_results_hidden_below_five_and_small_counts_suppressed(db: Database) -> None:
    """Four voters: nothing shown. Six voters 4/2/0: the 2 and the 0 both say "fewer than 3",
    and the number of voters is stored nowhere, so neither can be worked out."""
    few = await _poll(db)
    key = polls.poll_key(KEY, few.id)
    for user in range(4):
        await polls.vote(db, few, key, user, 0, now=NOW)
    closed = await polls.close_poll(db, few.id, now=NOW)
    assert closed is not None and closed.enough is False and closed.results is None

    circle = await _circle(db, "Second circle")
    poll = await polls.create_poll(
        db, circle.id, KEY, question=QUESTION, options=OPTIONS, multi=False, hours=2, now=NOW
    )
    key = polls.poll_key(KEY, poll.id)
    for user, option in enumerate([0, 0, 0, 0, 1, 1]):
        await polls.vote(db, poll, key, user, option, now=NOW)
    closed = await polls.close_poll(db, poll.id, now=NOW)
    assert closed is not None and closed.enough and closed.results == (4, None, None)
    row = await db.fetchone("SELECT * FROM polls WHERE id = ?", (poll.id,))
    assert row is not None
    assert "6" not in str(tuple(row)[-2:]) and "2" not in str(row["results"])
    assert await polls.close_poll(db, poll.id, now=NOW) is None  # idempotent


async def test_after_close_no_row_holds_a_per_voter_value(db: Database) -> None:
    poll = await _poll(db, multi=True)
    key = polls.poll_key(KEY, poll.id)
    voters = {polls.voter_key(key, user) for user in range(6)}
    for user in range(6):
        await polls.vote(db, poll, key, user, user % 3, now=NOW)
    await polls.close_poll(db, poll.id, now=NOW)
    assert await db.fetchval("SELECT count(*) FROM poll_votes") == 0
    for table in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in await db.fetchall(f"SELECT * FROM {table['name']}"):
            assert not voters & set(tuple(row)), table["name"]


# --- end to end ----------------------------------------------------------------------------


def _custom_ids(message: discord.Message) -> list[str]:
    return [
        child["custom_id"]
        for row in message.components
        for child in row.to_dict()["components"]
        if "custom_id" in child
    ]


def _poll_message(thread: simcord.ChannelHandle) -> discord.Message:
    for message in reversed(thread.history()):
        if message.content.startswith("**Poll"):
            return message
    raise AssertionError("no poll message")


async def _crowd(world: World, count: int) -> list[simcord.MemberActor]:
    """`count` more members of the server, besides the world's own."""
    return [
        world.guild.add_member(world.env.create_user(f"voter{i}", global_name=f"Voter {i}"))
        for i in range(count)
    ]


async def _circle_with_voters(
    world: World, extra: int = 3, **options: object
) -> tuple[simcord.ChannelHandle, list[simcord.MemberActor], Circle]:
    thread, card = await open_circle(world, **options)
    members = [world.alice, world.bob, world.carol, *await _crowd(world, extra)]
    for member in members:
        await join(world, member, card)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    return thread, members, circle


async def test_poll_flow_shows_nothing_while_open_and_leaks_nothing(
    world: World, captured_logs: pytest.LogCaptureFixture
) -> None:
    """Votes are answered privately; the poll message is never edited while open; no REST
    call, row or log line carries a voter; the results replace the buttons at close."""
    thread, members, circle = await _circle_with_voters(world)
    started = await world.mod.slash(
        thread, "circle poll", question=QUESTION, options=OPTIONS, closes_in_hours=2
    )
    assert started.ephemeral
    message = _poll_message(thread)
    assert message.interaction_metadata is None and message.mentions == []
    assert len(_custom_ids(message)) == 4  # three choices and Close poll
    opened_text = message.content
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    for member, option in zip(members, ["Mornings"] * 4 + ["Evenings"] * 2, strict=True):
        answer = await member.click(_poll_message(thread), label=option)
        assert answer.ephemeral and option in answer.response.content
    changed = await world.alice.click(_poll_message(thread), label="Weekends")
    assert changed.ephemeral and "Weekends" in changed.response.content
    # The public message is untouched by every click.
    assert _poll_message(thread).content == opened_text
    edits = [
        r
        for r in world.env.http_requests[mark:]
        if r.method == "PATCH" and str(message.id) in r.path
    ]
    assert edits == []
    for member in members:
        assert_requests_do_not_unmask(world, mark, member)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), member)
        assert_logs_clean(captured_logs, member, QUESTION)
    not_keeper = await world.bob.click(_poll_message(thread), label="Close poll")
    assert not_keeper.ephemeral and "Only this circle's keepers" in not_keeper.response.content
    closed = await world.mod.click(_poll_message(thread), label="Close poll")
    assert closed.ephemeral
    final = _poll_message(thread)
    assert final.content.startswith("**Poll (closed)**")
    assert "Mornings: **3**" in final.content
    assert "Evenings: fewer than 3" in final.content and "Weekends: fewer than 3" in final.content
    assert "6" not in final.content.split("\n\n", 2)[1]  # no total
    assert _custom_ids(final) == []
    assert await world.db.fetchval("SELECT count(*) FROM poll_votes") == 0
    for member in members:
        for secret in identity_of(member):
            assert secret not in final.content
    assert (
        await world.db.fetchval("SELECT count(*) FROM polls WHERE circle_id = ?", (circle.id,)) == 1
    )


async def test_results_hidden_below_five_voters(world: World) -> None:
    thread, members, _ = await _circle_with_voters(world, extra=1)
    await world.mod.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    for member in members:
        await member.click(_poll_message(thread), label="Mornings")
    await world.mod.click(_poll_message(thread), label="Close poll")
    final = _poll_message(thread).content
    assert "Fewer than 5 people voted" in final and "**4**" not in final


async def test_poll_survives_a_restart_with_its_count_and_closes_by_itself(world: World) -> None:
    """Votes before and after a restart count once each; the poll closes at its time."""
    thread, members, _ = await _circle_with_voters(world)
    await world.mod.slash(
        thread, "circle poll", question=QUESTION, options=OPTIONS, closes_in_hours=1
    )
    for member in members[:3]:
        await member.click(_poll_message(thread), label="Evenings")
    await world.restart()
    again = await members[0].click(_poll_message(thread), label="Evenings")
    assert again.ephemeral and "already your vote" in again.response.content
    for member in members[3:]:
        await member.click(_poll_message(thread), label="Evenings")
    await world.env.advance_time(3600 + 120)
    final = _poll_message(thread).content
    assert "Poll (closed)" in final and "Evenings: **6**" in final


async def test_strict_circles_open_poll_closes_at_restart(world: World) -> None:
    thread, members, _ = await _circle_with_voters(world, strict=True)
    await world.mod.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    for member in members:
        await member.click(_poll_message(thread), label="Weekends")
    await world.restart()
    await world.env.advance_time(5)
    final = _poll_message(thread)
    assert "Poll (closed)" in final.content and "bot restarted" in final.content
    assert "Weekends: **6**" in final.content
    assert await world.db.fetchval("SELECT count(*) FROM poll_votes") == 0


async def test_bad_poll_input_is_refused_privately(world: World) -> None:
    thread, _, _ = await _circle_with_voters(world, extra=0)
    for options, expected in (("Yes", "at least 2"), ("Yes | yes", "twice")):
        refused = await world.mod.slash(thread, "circle poll", question=QUESTION, options=options)
        assert refused.ephemeral and expected in refused.response.content
    member = await world.alice.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    assert member.ephemeral and "keepers" in member.response.content
    assert await world.db.fetchval("SELECT count(*) FROM polls") == 0


async def test_closing_the_circle_closes_its_polls(world: World) -> None:
    thread, members, _ = await _circle_with_voters(world)
    await world.mod.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    await members[0].click(_poll_message(thread), label="Mornings")
    await world.mod.slash(thread, "circle close")
    assert "Poll (closed)" in _poll_message(thread).content
    assert await world.db.fetchval("SELECT count(*) FROM poll_votes") == 0
