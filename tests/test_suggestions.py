"""Prompts members suggest without their name: held with the server's delay, shown to keepers
privately, added as an unattributed circle prompt or declined, seen by the author in
`/anon mine`, and purged after the server's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import simcord

from bot.db import Database
from bot.services import circles, suggestions
from bot.services import config as config_service
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

SUGGESTION = "What would a space where you felt believed look like?"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def _circle(world: World, **options: object) -> tuple[simcord.ChannelHandle, Circle]:
    thread, card = await open_circle(world, **options)
    for member in (world.alice, world.bob):
        await join(world, member, card)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    return thread, circle


async def _suggest(
    member: simcord.MemberActor,
    thread: simcord.ChannelHandle,
    text: str = SUGGESTION,
    note: str = "",
) -> list[simcord.InteractionResult]:
    shown = await member.slash(thread, "prompt suggest")
    assert shown.modal is not None
    submitted = await member.submit_modal(shown, {"text": text, "content_note": note})
    return [shown, submitted]


def _everything_public(thread: simcord.ChannelHandle) -> str:
    return " ".join(
        m.content + " ".join(str(e.to_dict()) for e in m.embeds) for m in thread.history()
    )


async def test_suggestion_reaches_keepers_after_the_delay_and_is_posted_without_its_author(
    world: World, captured_logs: pytest.LogCaptureFixture
) -> None:
    """Held with the server's delay, shown privately to a keeper, added as c<N> and posted by
    `/prompt post` with no trace of who suggested it; the author sees the outcome."""
    thread, _ = await _circle(world)
    await config_service.set_delay(world.db, world.guild.id, 120)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await _suggest(world.alice, thread, note="being believed")
    assert results[1].ephemeral and "keepers" in results[1].response.content
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    early = await world.mod.slash(thread, "prompt suggestions")
    assert early.ephemeral and "No suggestions are waiting" in early.response.content
    await world.env.advance_time(121)
    listed = await world.mod.slash(thread, "prompt suggestions")
    assert listed.ephemeral
    assert SUGGESTION in listed.response.embeds[0].description
    assert "being believed" in listed.response.embeds[0].description
    member_sees = await world.bob.slash(thread, "prompt suggestions")
    assert member_sees.ephemeral and "keepers" in member_sees.response.content
    added = await world.mod.click(listed.response.message, label="Add to this circle")
    assert added.response.ephemeral
    prompt_id = added.response.content.split("`")[1]
    assert prompt_id.startswith("c")
    row = await world.db.fetchone("SELECT * FROM prompt_suggestions")
    assert row is not None and row["text"] is None and row["status"] == "added"
    await world.mod.slash(thread, "prompt post", id=prompt_id)
    posted = thread.last_message
    assert SUGGESTION in posted.embeds[0].description
    assert posted.mentions == []
    public = _everything_public(thread)
    for secret in identity_of(world.alice):
        assert secret not in public
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_logs_clean(captured_logs, world.alice, SUGGESTION)
    mine = await world.alice.slash(thread, "anon mine")
    assert (
        mine.ephemeral and f"added to the circle as prompt `{prompt_id}`" in mine.response.content
    )
    theirs = await world.bob.slash(thread, "anon mine")
    assert "suggestion" not in theirs.response.content


async def test_decline_with_a_reason_and_a_second_decision_is_refused(world: World) -> None:
    thread, _ = await _circle(world)
    await _suggest(world.alice, thread)
    listed = await world.mod.slash(thread, "prompt suggestions")
    shown = await world.mod.click(listed.response.message, label="Decline")
    assert shown.modal is not None
    declined = await world.mod.submit_modal(shown, {"reason": "We covered this last week"})
    assert declined.ephemeral and "reason" in declined.response.content
    again = await world.mod.click(listed.response.message, label="Add to this circle")
    assert again.ephemeral and "already decided" in again.response.content
    mine = await world.alice.slash(thread, "anon mine")
    assert "declined by the keepers — “We covered this last week”" in mine.response.content
    row = await world.db.fetchone("SELECT * FROM prompt_suggestions")
    assert row is not None and row["text"] is None
    assert await world.db.fetchval("SELECT count(*) FROM custom_prompts") == 0


async def test_non_member_and_identifying_details_are_refused(world: World) -> None:
    thread, _ = await _circle(world, private=False)
    outsider = await world.carol.slash(thread, "prompt suggest")
    assert outsider.ephemeral and "haven't joined" in outsider.response.content
    results = await _suggest(world.alice, thread, text="Call me on +44 7700 900123 about it?")
    assert results[1].ephemeral and "identify someone" in results[1].response.content
    assert "7700" not in results[1].response.content
    assert await world.db.fetchval("SELECT count(*) FROM prompt_suggestions") == 0


async def test_closing_the_circle_deletes_its_suggestions(world: World) -> None:
    thread, _ = await _circle(world)
    await _suggest(world.alice, thread)
    await world.mod.slash(thread, "circle close")
    assert await world.db.fetchval("SELECT count(*) FROM prompt_suggestions") == 0


# --- service -------------------------------------------------------------------------------


async def _service_circle(db: Database) -> Circle:
    return await circles.create_circle(
        db,
        guild_id=1,
        channel_id=2,
        name="Suggestions",
        deck_id="essay",
        keeper_id=3,
        default_agreements=(),
        now=NOW,
    )


async def test_too_many_waiting_and_bad_text_are_refused(db: Database) -> None:
    circle = await _service_circle(db)
    key = suggestions.author_key(b"k" * 32, 11)
    for _ in range(suggestions.MAX_WAITING):
        await suggestions.suggest(
            db, circle.id, key, text=SUGGESTION, content_note=None, delay_max_seconds=0, now=NOW
        )
    with pytest.raises(suggestions.SuggestionError, match="already have 3"):
        await suggestions.suggest(
            db, circle.id, key, text=SUGGESTION, content_note=None, delay_max_seconds=0, now=NOW
        )
    other = suggestions.author_key(b"k" * 32, 12)
    with pytest.raises(suggestions.SuggestionError, match="content note"):
        await suggestions.suggest(
            db,
            circle.id,
            other,
            text=SUGGESTION,
            content_note="n" * 41,
            delay_max_seconds=0,
            now=NOW,
        )
    with pytest.raises(Exception, match="1000"):
        await suggestions.suggest(
            db, circle.id, other, text="x" * 1001, content_note=None, delay_max_seconds=0, now=NOW
        )
    assert await db.fetchval("SELECT count(*) FROM prompt_suggestions") == suggestions.MAX_WAITING


async def test_retention_purges_old_suggestions_only(db: Database) -> None:
    circle = await _service_circle(db)
    key = suggestions.author_key(b"k" * 32, 11)
    old = await suggestions.suggest(
        db, circle.id, key, text=SUGGESTION, content_note=None, delay_max_seconds=0, now=NOW
    )
    await suggestions.decline(db, old.token, circle.id, reason=None, now=NOW)
    later = NOW + timedelta(days=20)
    await suggestions.suggest(
        db, circle.id, key, text="Another one?", content_note=None, delay_max_seconds=0, now=later
    )
    removed = await suggestions.purge_expired(db, 1, 30, now=NOW + timedelta(days=31))
    assert removed == 1
    left = await suggestions.by_author(db, circle.id, key)
    assert [s.text for s in left] == ["Another one?"]


async def test_author_key_is_no_label_key(world: World) -> None:
    """A suggestion's key differs from the author's label key, so it links to no post."""
    thread, circle = await _circle(world)
    await _suggest(world.alice, thread)
    stored = await world.db.fetchval("SELECT author_key FROM prompt_suggestions")
    assert stored != world.bot.circle_keys.label_key(circle, world.alice.id)
    assert stored == suggestions.author_key(
        world.bot.circle_keys.circle_key(circle), world.alice.id
    )
