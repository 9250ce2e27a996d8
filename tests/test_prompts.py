"""Prompts: decks, posting in circles, heavy prompts behind a button, own prompts, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest
import simcord

from bot.db import Database
from bot.decks import Library, Prompt, load_library
from bot.services import circles
from bot.services import prompts as prompt_service
from bot.services.circles import Circle
from bot.services.prompts import PromptError
from cogs.prompts import DECK_DONE, HEAVY_STOP, pages
from tests.conftest import World
from tests.test_circles import join, open_circle

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STEP_SECONDS = 600


# --- helpers -----------------------------------------------------------------------------


def essay(library: Library) -> tuple[Prompt, ...]:
    """The essay deck's prompts, in deck order."""
    deck = library.deck("essay")
    assert deck is not None
    return deck.prompts()


async def circle_of(world: World, thread: simcord.ChannelHandle) -> Circle:
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    return circle


async def advance(world: World, seconds: float) -> None:
    """Move the virtual clock on in steps.

    Each pass of a background loop costs simcord some real time to settle, and one call to
    advance_time must settle within its timeout, so a long stretch is taken a step at a time.
    """
    while seconds > 0:
        step = min(seconds, STEP_SECONDS)
        await world.env.advance_time(step)
        seconds -= step


def soon(world: World, minutes: int = 2) -> str:
    """A first_at a few minutes from the virtual now, as a keeper would type it."""
    return (world.env.now() + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def description(message: discord.Message) -> str:
    assert message.embeds, message
    return message.embeds[0].description or ""


def custom_ids(message: discord.Message) -> list[str]:
    return [
        component["custom_id"]
        for row in message.components
        for component in row.to_dict()["components"]
    ]


async def make_circle(db: Database, name: str = "Circle", deck_id: str = "essay") -> Circle:
    return await circles.create_circle(
        db,
        guild_id=1,
        channel_id=2,
        name=name,
        deck_id=deck_id,
        keeper_id=3,
        default_agreements=(),
        now=NOW,
    )


# --- browsing ----------------------------------------------------------------------------


async def test_decks_lists_the_essay_deck(world: World) -> None:
    """/prompt decks privately lists each deck's id, title and prompt count."""
    result = await world.alice.slash(world.general, "prompt decks")
    assert result.ephemeral
    text = description(result.response.message)
    assert "`essay`" in text
    assert f"{len(essay(world.bot.library))} prompts" in text


async def test_list_shows_ids_and_notes_but_not_heavy_texts(world: World) -> None:
    """/prompt list shows every prompt id with its intensity and notes, never a heavy text."""
    result = await world.alice.slash(world.general, "prompt list", deck="essay")
    assert result.ephemeral
    shown = "\n".join(
        description(m) for m in [result.response.message, *(f.message for f in result.followups)]
    )
    for prompt in essay(world.bot.library):
        assert f"`{prompt.id}`" in shown
        if prompt.is_heavy:
            assert prompt.text[:60] not in shown
    heavy = next(p for p in essay(world.bot.library) if p.is_heavy)
    assert ", ".join(heavy.content_notes) in shown
    # Embeds do not render subtext markup; the page and some clients show it literally.
    assert "-#" not in shown
    assert "Text shown only behind the Show prompt button." in shown
    choices = await world.alice.autocomplete(world.general, "prompt list", "deck", "ess")
    assert [c["value"] for c in choices] == ["essay"]
    missing = await world.alice.slash(world.general, "prompt list", deck="nope")
    assert "no deck called" in missing.response.content


def test_pages_split_long_listings_within_embed_limits() -> None:
    """Long listings are split into pages that each fit an embed description."""
    lines = [f"line {n} " + "x" * 90 for n in range(200)]
    found = pages(lines)
    assert len(found) > 1
    assert all(len(page) <= 4096 for page in found)
    assert "\n".join(found).split("\n") == lines


# --- posting -----------------------------------------------------------------------------


async def test_next_posts_in_deck_order_with_notes_first(world: World) -> None:
    """/prompt next posts the deck's prompts in order; content notes come before the text."""
    thread, _ = await open_circle(world)
    mark = len(world.env.http_requests)
    first = await world.mod.slash(thread, "prompt next")
    assert first.ephemeral
    one = thread.last_message
    sent = [
        r for r in world.env.http_requests[mark:] if r.path == f"/channels/{thread.id}/messages"
    ]
    assert [r.json["allowed_mentions"] for r in sent] == [{"parse": []}]
    await world.mod.slash(thread, "prompt next")
    two = thread.last_message
    expected = essay(world.bot.library)[0:2]
    assert [one.embeds[0].footer.text, two.embeds[0].footer.text] == [
        f"Prompt {p.id} · Passing never needs a reason." for p in expected
    ]
    assert expected[0].text in description(one)
    assert "ck:anon:reply" in custom_ids(one)
    circle = await circle_of(world, thread)
    assert await prompt_service.posted_ids(world.db, circle.id) == [p.id for p in expected]
    noted = next(p for p in essay(world.bot.library) if p.content_notes and not p.is_heavy)
    await world.mod.slash(thread, "prompt post", id=noted.id)
    text = description(thread.last_message)
    notes = f"This prompt touches on: {', '.join(noted.content_notes)}"
    assert text.index(notes) < text.index(noted.text)
    for follow_up in noted.follow_ups:
        assert text.index(noted.text) < text.index(follow_up)


async def test_heavy_prompt_text_is_only_behind_show_prompt(world: World) -> None:
    """A heavy prompt's text is not in the thread; Show prompt reveals it privately."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    heavy = next(p for p in essay(world.bot.library) if p.is_heavy)
    choices = await world.mod.autocomplete(thread, "prompt post", "id", heavy.id)
    assert [c["name"] for c in choices] == [f"{heavy.id} · heavy"]
    await world.mod.slash(thread, "prompt post", id=heavy.id)
    message = thread.last_message
    public = description(message)
    assert heavy.text not in public
    assert public.startswith(f"This prompt touches on: {', '.join(heavy.content_notes)}")
    assert "Show prompt" in public
    circle = await circle_of(world, thread)
    assert f"ck:prompt:show:{circle.id}:{heavy.id}" in custom_ids(message)
    assert "ck:anon:reply" in custom_ids(message)
    shown = await world.alice.click(message, label="Show prompt")
    assert shown.ephemeral
    assert heavy.text in description(shown.response.message)
    assert heavy.text not in description(thread.last_message)


async def test_show_prompt_works_after_restart(world: World) -> None:
    """The Show prompt button still answers after the bot restarts."""
    thread, _ = await open_circle(world)
    heavy = next(p for p in essay(world.bot.library) if p.is_heavy)
    await world.mod.slash(thread, "prompt post", id=heavy.id)
    message = thread.last_message
    await world.restart()
    shown = await world.mod.click(message, label="Show prompt")
    assert shown.ephemeral
    assert heavy.text in description(shown.response.message)


async def test_unknown_prompt_is_refused(world: World) -> None:
    """/prompt post with an unknown id says so and posts nothing."""
    thread, _ = await open_circle(world)
    before = len(thread.history())
    result = await world.mod.slash(thread, "prompt post", id="no-such-prompt")
    assert result.ephemeral
    assert "There is no prompt “no-such-prompt”" in result.response.content
    assert len(thread.history()) == before


async def test_posting_again_by_hand_is_recorded_once(world: World) -> None:
    """A keeper may post a prompt again by id; it is said so and recorded once."""
    thread, _ = await open_circle(world)
    first = essay(world.bot.library)[0]
    await world.mod.slash(thread, "prompt next")
    again = await world.mod.slash(thread, "prompt post", id=first.id)
    assert "posted in this circle before" in again.response.content
    assert f"Prompt {first.id} ·" in thread.last_message.embeds[0].footer.text
    circle = await circle_of(world, thread)
    assert await prompt_service.posted_ids(world.db, circle.id) == [first.id]


async def test_non_keeper_is_refused(world: World) -> None:
    """Members who are not keepers or moderators cannot post, add or schedule prompts."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    for command, options in [
        ("prompt next", {}),
        ("prompt post", {"id": essay(world.bot.library)[0].id}),
        ("prompt add", {"text": "What helps?"}),
        ("prompt schedule", {"every_hours": 2}),
        ("prompt unschedule", {}),
    ]:
        result = await world.alice.slash(thread, command, **options)
        assert result.ephemeral
        assert "Only this circle's keepers" in result.response.content, command
    circle = await circle_of(world, thread)
    assert await prompt_service.posted_ids(world.db, circle.id) == []
    assert await prompt_service.get_schedule(world.db, circle.id) is None


async def test_next_outside_a_circle_is_refused(world: World) -> None:
    """/prompt next outside a circle's thread says where to use it."""
    await world.configure()
    result = await world.mod.slash(world.general, "prompt next")
    assert result.response.content == "Use this inside a circle's thread."


async def test_added_prompt_can_be_posted_by_id(world: World) -> None:
    """/prompt add gives an id that /prompt post then posts, with its note first."""
    thread, _ = await open_circle(world)
    added = await world.mod.slash(
        thread, "prompt add", text="What does care look like here?", content_note="burnout"
    )
    assert added.ephemeral
    prompt_id = added.response.content.split("`")[1]
    assert prompt_id.startswith("c")
    await world.mod.slash(thread, "prompt post", id=prompt_id)
    text = description(thread.last_message)
    assert text.index("This prompt touches on: burnout") < text.index("What does care look like")
    refused = await world.mod.slash(thread, "prompt add", text="x" * 1001)
    assert "at most 1000 characters" in refused.response.content


async def test_added_prompt_belongs_to_its_circle(world: World) -> None:
    """A circle's own prompt cannot be posted by id in another circle."""
    first, _ = await open_circle(world, "First")
    second, _ = await open_circle(world, "Second")
    added = await world.mod.slash(first, "prompt add", text="Only for the first circle?")
    prompt_id = added.response.content.split("`")[1]
    result = await world.mod.slash(second, "prompt post", id=prompt_id)
    assert "There is no prompt" in result.response.content


async def test_used_up_deck_is_said_privately(world: World) -> None:
    """/prompt next after the last prompt says so privately and posts nothing."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    for prompt in essay(world.bot.library):
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    before = len(thread.history())
    result = await world.mod.slash(thread, "prompt next")
    assert result.ephemeral
    assert "has been posted" in result.response.content
    assert len(thread.history()) == before


async def test_discord_error_on_next_records_nothing(world: World) -> None:
    """A Discord 500 while posting gives a clear message and records no prompt."""
    thread, _ = await open_circle(world)
    before = len(thread.history())
    world.env.inject_error("POST", "/channels/*/messages", status=500)
    result = await world.mod.slash(thread, "prompt next")
    assert result.ephemeral
    assert "the prompt was not posted" in result.response.content
    circle = await circle_of(world, thread)
    assert await prompt_service.posted_ids(world.db, circle.id) == []
    assert len(thread.history()) == before
    await world.mod.slash(thread, "prompt next")
    assert await prompt_service.posted_ids(world.db, circle.id) == [essay(world.bot.library)[0].id]


# --- schedules ---------------------------------------------------------------------------


async def test_schedule_posts_next_prompts_across_a_restart(world: World) -> None:
    """A schedule posts one prompt per interval, in deck order, and carries on after a restart."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    result = await world.mod.slash(thread, "prompt schedule", every_hours=1)
    assert result.ephemeral and "every hour" in result.response.content
    await advance(world, 3700)
    assert await prompt_service.posted_ids(world.db, circle.id) == [essay(world.bot.library)[0].id]
    await world.restart()
    await advance(world, 3700)
    posted = await prompt_service.posted_ids(world.db, circle.id)
    assert posted == [p.id for p in essay(world.bot.library)[0:2]]
    footers = [m.embeds[0].footer.text for m in thread.history() if m.embeds and m.embeds[0].footer]
    prompt_footers = [f for f in footers if f and f.startswith("Prompt ")]
    assert len(prompt_footers) == len(set(prompt_footers)) == 2


async def test_bad_first_at_is_refused(world: World) -> None:
    """A start time without an offset, unreadable or past is refused with the format."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    for first_at, expected in [
        ("2026-12-01 18:00", "no UTC offset"),
        ("next tuesday", "not a time I understand"),
        ("2001-01-01T00:00:00Z", "already passed"),
    ]:
        result = await world.mod.slash(thread, "prompt schedule", every_hours=2, first_at=first_at)
        assert result.ephemeral
        assert expected in result.response.content, first_at
        if expected != "already passed":
            assert "2026-12-01T18:00:00+01:00" in result.response.content
    assert await prompt_service.get_schedule(world.db, circle.id) is None


async def test_first_at_sets_the_first_post(world: World) -> None:
    """With first_at, the first scheduled prompt goes out then, not one interval from now."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    result = await world.mod.slash(
        thread, "prompt schedule", every_hours=24, first_at=soon(world, minutes=5)
    )
    assert "every 24 hours" in result.response.content
    await advance(world, 4 * 60)
    assert await prompt_service.posted_ids(world.db, circle.id) == []
    await advance(world, 2 * 60)
    assert await prompt_service.posted_ids(world.db, circle.id) == [essay(world.bot.library)[0].id]


async def test_used_up_deck_stops_the_schedule(world: World) -> None:
    """When no prompt is left at a scheduled time, the thread is told once and it stops."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    deck = essay(world.bot.library)
    for prompt in deck[:-1]:
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    await world.mod.slash(thread, "prompt schedule", every_hours=1, first_at=soon(world))
    await world.mod.slash(thread, "prompt next")
    assert (await prompt_service.posted_ids(world.db, circle.id))[-1] == deck[-1].id
    await advance(world, 3 * 60)
    assert thread.last_message.content == DECK_DONE
    assert await prompt_service.get_schedule(world.db, circle.id) is None
    count = len(thread.history())
    await advance(world, 10 * 60)
    assert len(thread.history()) == count
    assert len(await prompt_service.posted_ids(world.db, circle.id)) == len(deck)


async def heavy_next(world: World, circle: Circle) -> Prompt:
    """Record every prompt before the deck's first heavy one as posted; return the heavy one."""
    deck = essay(world.bot.library)
    index = next(i for i, p in enumerate(deck) if p.is_heavy)
    for prompt in deck[:index]:
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    return deck[index]


async def test_schedule_stops_before_a_heavy_prompt(world: World) -> None:
    """Without include_heavy the schedule posts no heavy prompt: it stops and says why."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    heavy = await heavy_next(world, circle)
    result = await world.mod.slash(thread, "prompt schedule", every_hours=1, first_at=soon(world))
    assert "stop before a heavier prompt" in result.response.content
    await advance(world, 3 * 60)
    assert heavy.id not in await prompt_service.posted_ids(world.db, circle.id)
    assert thread.last_message.content == HEAVY_STOP.format(id=heavy.id, deck="essay")
    assert await prompt_service.get_schedule(world.db, circle.id) is None
    count = len(thread.history())
    await advance(world, 2 * 3600)
    assert len(thread.history()) == count


async def test_schedule_with_include_heavy_posts_it(world: World) -> None:
    """With include_heavy the keeper chose it: the heavy prompt goes out behind Show prompt."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    heavy = await heavy_next(world, circle)
    await world.mod.slash(
        thread, "prompt schedule", every_hours=1, first_at=soon(world), include_heavy=True
    )
    await advance(world, 3 * 60)
    assert (await prompt_service.posted_ids(world.db, circle.id))[-1] == heavy.id
    assert "ck:prompt:show" in " ".join(custom_ids(thread.last_message))
    assert heavy.text[:60] not in description(thread.last_message)


async def test_keeper_previews_a_heavy_prompt_privately(world: World) -> None:
    """/prompt list with preview shows a heavy prompt's text only to the keeper; nothing posts."""
    thread, _ = await open_circle(world)
    heavy = next(p for p in essay(world.bot.library) if p.is_heavy)
    count = len(thread.history())
    mark = len(world.env.http_requests)
    result = await world.mod.slash(thread, "prompt list", deck="essay", preview=heavy.id)
    assert result.ephemeral
    assert heavy.text in description(result.response.message)
    assert len(thread.history()) == count
    posts = [r for r in world.env.http_requests[mark:] if r.path.endswith("/messages")]
    assert posts == []
    missing = await world.mod.slash(thread, "prompt list", deck="essay", preview="essay-999")
    assert missing.ephemeral and "has no prompt" in missing.response.content


async def test_next_shows_the_session_title_when_a_session_starts(world: World) -> None:
    """The first prompt of each session carries its title; the ones after it don't."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    deck = world.bot.library.deck("essay")
    assert deck is not None
    first, second = deck.sessions[0], deck.sessions[1]
    result = await world.mod.slash(thread, "prompt next")
    assert f"New session: {first.title}" in description(thread.last_message)
    assert first.title in result.response.content
    await world.mod.slash(thread, "prompt next")
    assert "New session" not in description(thread.last_message)
    for prompt in first.prompts[2:]:
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    await world.mod.slash(thread, "prompt next")
    assert f"New session: {second.title}" in description(thread.last_message)


async def test_unschedule_stops_posting(world: World) -> None:
    """/prompt unschedule stops the schedule before it posts anything."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    await world.mod.slash(thread, "prompt schedule", every_hours=1, first_at=soon(world))
    stopped = await world.mod.slash(thread, "prompt unschedule")
    assert "has stopped" in stopped.response.content
    await advance(world, 3 * 60)
    assert await prompt_service.posted_ids(world.db, circle.id) == []
    again = await world.mod.slash(thread, "prompt unschedule")
    assert "had no schedule" in again.response.content


async def test_closing_a_circle_ends_its_schedule(world: World) -> None:
    """A closed circle gets no more scheduled prompts."""
    thread, _ = await open_circle(world)
    circle = await circle_of(world, thread)
    await world.mod.slash(thread, "prompt schedule", every_hours=1, first_at=soon(world))
    await world.mod.slash(thread, "circle close")
    await advance(world, 3 * 60)
    assert await prompt_service.posted_ids(world.db, circle.id) == []


# --- the service -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


async def test_next_prompt_walks_the_deck_then_own_prompts(db: Database, library: Library) -> None:
    """next_prompt follows deck order, then the circle's own prompts oldest first, then None."""
    circle = await make_circle(db)
    other = await make_circle(db, "Other")
    deck = essay(library)
    assert await prompt_service.next_prompt(db, library, circle) == deck[0]
    await prompt_service.record_posted(db, circle.id, deck[1].id, None, NOW)
    assert await prompt_service.next_prompt(db, library, circle) == deck[0]
    first = await prompt_service.add_custom_prompt(db, circle.id, "First own?", None, NOW)
    second = await prompt_service.add_custom_prompt(db, circle.id, "Second own?", "grief", NOW)
    await prompt_service.add_custom_prompt(db, other.id, "Not this circle's", None, NOW)
    for prompt in deck:
        await prompt_service.record_posted(db, circle.id, prompt.id, None, NOW)
    assert await prompt_service.next_prompt(db, library, circle) == first
    await prompt_service.record_posted(db, circle.id, first.id, 5, NOW)
    found = await prompt_service.next_prompt(db, library, circle)
    assert found == second and found.content_notes == ("grief",)
    assert found.intensity == "moderate" and not found.is_heavy
    await prompt_service.record_posted(db, circle.id, second.id, 6, NOW)
    assert await prompt_service.next_prompt(db, library, circle) is None


async def test_the_next_prompt_comes_with_the_session_it_opens(
    db: Database, library: Library
) -> None:
    """next_prompt_opening gives what next_prompt and session_started_by give, together: the
    session's title while nothing of it was posted, none inside a session begun, none for
    the circle's own prompts."""
    circle = await make_circle(db)
    deck = library.deck("essay")
    assert deck is not None
    opening = deck.sessions[1].prompts[0]

    async def both() -> tuple[object, object]:
        prompt = await prompt_service.next_prompt(db, library, circle)
        assert prompt is not None
        return prompt, await prompt_service.session_started_by(db, library, circle.id, prompt)

    assert await prompt_service.next_prompt_opening(db, library, circle) == (
        deck.sessions[0].prompts[0],
        deck.sessions[0],
    )
    for prompt in deck.sessions[0].prompts:
        await prompt_service.record_posted(db, circle.id, prompt.id, None, NOW)
    assert await prompt_service.next_prompt_opening(db, library, circle) == (
        opening,
        deck.sessions[1],
    )
    await prompt_service.record_posted(db, circle.id, opening.id, None, NOW)
    inside = await prompt_service.next_prompt_opening(db, library, circle)
    assert inside == (deck.sessions[1].prompts[1], None) == await both()
    own = await prompt_service.add_custom_prompt(db, circle.id, "Our own?", None, NOW)
    for prompt in deck.prompts():
        await prompt_service.record_posted(db, circle.id, prompt.id, None, NOW)
    assert await prompt_service.next_prompt_opening(db, library, circle) == (own, None)
    assert await both() == (own, None)
    await prompt_service.record_posted(db, circle.id, own.id, None, NOW)
    assert await prompt_service.next_prompt_opening(db, library, circle) == (None, None)


async def test_find_prompt_only_finds_this_circles_own(db: Database, library: Library) -> None:
    """find_prompt finds deck prompts and this circle's own "c<N>" prompts, nothing else."""
    circle = await make_circle(db)
    other = await make_circle(db, "Other")
    own = await prompt_service.add_custom_prompt(db, circle.id, "  Ours?  ", None, NOW)
    assert own.id.startswith("c") and own.text == "Ours?"
    assert await prompt_service.find_prompt(db, library, circle.id, own.id) == own
    assert await prompt_service.find_prompt(db, library, circle.id, own.id.upper()) == own
    assert await prompt_service.find_prompt(db, library, other.id, own.id) is None
    assert await prompt_service.find_prompt(db, library, circle.id, "essay-01") == essay(library)[0]
    for missing in ("c999", "c", "nope", ""):
        assert await prompt_service.find_prompt(db, library, circle.id, missing) is None


async def test_record_posted_is_idempotent(db: Database) -> None:
    """Recording a prompt twice keeps the first message and says it was not new."""
    circle = await make_circle(db)
    assert not await prompt_service.was_posted(db, circle.id, "essay-01")
    assert await prompt_service.record_posted(db, circle.id, "essay-01", 10, NOW)
    assert not await prompt_service.record_posted(db, circle.id, "essay-01", 11, NOW)
    assert await prompt_service.was_posted(db, circle.id, "essay-01")
    assert await db.fetchval("SELECT message_id FROM posted_prompts") == 10


@pytest.mark.parametrize(
    ("text", "note", "problem"),
    [
        ("   ", None, "needs some text"),
        ("x" * 1001, None, "at most 1000"),
        ("Fine?", "n" * 41, "at most 40"),
    ],
)
async def test_add_custom_prompt_validates(
    db: Database, text: str, note: str | None, problem: str
) -> None:
    """Own prompts need text of at most 1000 characters and a note of at most 40."""
    circle = await make_circle(db)
    with pytest.raises(PromptError, match=problem):
        await prompt_service.add_custom_prompt(db, circle.id, text, note, NOW)
    assert await db.fetchval("SELECT count(*) FROM custom_prompts") == 0


async def test_set_schedule_validates_and_defaults(db: Database) -> None:
    """Intervals are 1-720 hours; first_at must be ahead; the default is one interval on."""
    circle = await make_circle(db)
    for hours in (0, 721):
        with pytest.raises(PromptError, match="between 1 and 720"):
            await prompt_service.set_schedule(db, circle.id, hours, None, NOW)
    with pytest.raises(PromptError, match="already passed"):
        await prompt_service.set_schedule(db, circle.id, 2, NOW, NOW)
    schedule = await prompt_service.set_schedule(db, circle.id, 2, None, NOW)
    assert schedule == (circle.id, 2, NOW + timedelta(hours=2), False)
    later = NOW + timedelta(days=3)
    replaced = await prompt_service.set_schedule(db, circle.id, 24, later, NOW)
    assert replaced.next_at == later and replaced.every_hours == 24
    assert await prompt_service.clear_schedule(db, circle.id)
    assert not await prompt_service.clear_schedule(db, circle.id)


async def test_due_and_advance_skip_missed_runs(db: Database) -> None:
    """Only due schedules are returned; advancing skips runs missed while offline."""
    circle = await make_circle(db)
    other = await make_circle(db, "Other")
    await prompt_service.set_schedule(db, circle.id, 1, None, NOW)
    await prompt_service.set_schedule(db, other.id, 5, None, NOW)
    assert await prompt_service.due_schedules(db, NOW) == []
    late = NOW + timedelta(hours=3, minutes=30)
    due = await prompt_service.due_schedules(db, late)
    assert [s.circle_id for s in due] == [circle.id]
    advanced = await prompt_service.advance_schedule(db, circle.id, late)
    assert advanced is not None and advanced.next_at == NOW + timedelta(hours=4)
    assert await prompt_service.due_schedules(db, late) == []
    exactly = NOW + timedelta(hours=4)
    assert [s.circle_id for s in await prompt_service.due_schedules(db, exactly)] == [circle.id]
    advanced = await prompt_service.advance_schedule(db, circle.id, exactly)
    assert advanced is not None and advanced.next_at == NOW + timedelta(hours=5)
    assert await prompt_service.advance_schedule(db, 999, NOW) is None


def test_parse_first_at_needs_an_offset() -> None:
    """Start times need ISO 8601 with an offset or Z; others are refused with an example."""
    assert prompt_service.parse_first_at("2026-12-01T18:00:00+01:00") == datetime(
        2026, 12, 1, 17, 0, tzinfo=UTC
    )
    assert prompt_service.parse_first_at(" 2026-12-01T17:00:00Z ") == datetime(
        2026, 12, 1, 17, 0, tzinfo=UTC
    )
    for bad in ("2026-12-01T18:00:00", "2026-12-01", "soon", ""):
        with pytest.raises(PromptError, match="2026-12-01T18:00:00\\+01:00"):
            prompt_service.parse_first_at(bad)
