"""Circles end to end: create, join by agreeing, leave, keepers, removal, agreements, close."""

from __future__ import annotations

import discord
import simcord

from bot.services import circles
from tests.conftest import World


async def open_circle(
    world: World, name: str = "Tuesday circle", **options: object
) -> tuple[simcord.ChannelHandle, discord.Message]:
    """A moderator creates a circle in #general; returns its thread and card."""
    if not world.configured:
        await world.configure()
    result = await world.mod.slash(world.general, "circle create", name=name, **options)
    assert result.ephemeral, result.response
    thread = next(t for t in world.general.threads if t.name == name)
    card = world.general.last_message
    assert card is not None
    return thread, card


async def join(world: World, member: simcord.MemberActor, card: discord.Message) -> None:
    shown = await member.click(card, label="Join")
    assert shown.ephemeral
    await member.click(shown.response.message, label="I agree")


async def test_create_makes_private_thread_and_card(world: World) -> None:
    """A moderator's circle gets a private thread, a card with Join, and a salt."""
    thread, card = await open_circle(world)
    assert card.embeds[0].title == "Tuesday circle"
    fields = {f.name: f.value for f in card.embeds[0].fields}
    assert f"<@{world.mod.id}>" in fields["Keepers"]
    assert "What is shared stays" in fields["Agreements"]
    assert any(
        c["custom_id"].startswith("ck:circle:join:")
        for row in card.components
        for c in row.to_dict()["components"]
    )
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.private and circle.salt and len(circle.salt) == 32
    created = [r for r in world.env.http_requests if r.path.endswith("/threads")]
    assert created[0].json["type"] == discord.ChannelType.private_thread.value
    assert created[0].json["auto_archive_duration"] == 10080


async def test_member_without_permission_cannot_create(world: World) -> None:
    """Creating circles needs the moderator role or Manage Threads."""
    await world.configure()
    result = await world.alice.slash(world.general, "circle create", name="Mine")
    assert result.ephemeral
    assert "moderator role or the Manage Threads" in result.response.content
    assert world.general.threads == []


async def test_moderator_role_alone_may_create(world: World) -> None:
    """A member with only the configured moderator role may open a circle."""
    await world.configure()
    thread, _ = await open_circle(world, "Role circle")
    assert thread.name == "Role circle"


async def test_bad_names_are_refused(world: World) -> None:
    """Empty, too long and duplicate names each get a clear private message."""
    await open_circle(world, "Taken")
    for name, expected in [
        ("   ", "needs a name"),
        ("x" * 81, "at most 80"),
        ("taken", "already an open circle"),
    ]:
        result = await world.mod.slash(world.general, "circle create", name=name)
        assert result.ephemeral
        assert expected in result.response.content, name
    assert len(world.general.threads) == 1


async def test_joining_happens_only_after_agreeing(world: World) -> None:
    """Join shows the agreements; only I agree makes the member a member of the thread."""
    thread, card = await open_circle(world)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    shown = await world.alice.click(card, label="Join")
    assert shown.ephemeral
    assert "Agreements" in shown.response.embeds[0].title
    assert await circles.membership(world.db, circle.id, world.alice.id) is None
    mark = len(world.env.http_requests)
    agreed = await world.alice.click(shown.response.message, label="I agree")
    assert agreed.response.ephemeral
    assert "You're in" in agreed.response.content
    member = await circles.membership(world.db, circle.id, world.alice.id)
    assert member is not None
    added = [r for r in world.env.http_requests[mark:] if r.method == "PUT"]
    assert added and added[0].path == f"/channels/{thread.id}/thread-members/{world.alice.id}"


async def test_the_card_counts_people_only_while_the_circle_is_small(world: World) -> None:
    """The card says how few people are in a small circle, and each join redraws it until
    the circle is big enough to hide in; after that a join leaves the card untouched."""
    thread, card = await open_circle(world)
    newcomer = world.guild.add_member(world.env.create_user("nia", global_name="Nia N"))
    edits_of_card = f"/messages/{card.id}"

    def card_text() -> str:
        now = next(m for m in world.general.history() if m.id == card.id)
        return " ".join(str(f.value) for f in now.embeds[0].fields)

    for count, member in enumerate((world.alice, world.bob, world.carol, world.admin), 1):
        await join(world, member, card)
        people = "1 person is" if count == 1 else f"{count} people are"
        assert f"Only {people} in this circle" in card_text()
    await join(world, world.mod, card)
    assert "Only" not in card_text()
    before = len(world.env.http_requests)
    await join(world, newcomer, card)
    assert await circles.head_count(world.db, 1) == 6
    joined = world.env.http_requests[before:]
    assert not [r for r in joined if r.method == "PATCH" and r.path.endswith(edits_of_card)]
    added = f"/channels/{thread.id}/thread-members/{newcomer.id}"
    assert [r.path for r in joined if r.method == "PUT"] == [added]


async def test_not_now_joins_nothing_and_asks_nothing(world: World) -> None:
    """Not now closes the agreements without joining or asking why."""
    thread, card = await open_circle(world)
    shown = await world.bob.click(card, label="Join")
    result = await world.bob.click(shown.response.message, label="Not now")
    assert "change your mind" in result.response.content
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    assert await circles.membership(world.db, circle.id, world.bob.id) is None


async def test_join_by_name_and_list(world: World) -> None:
    """/circle join name shows the same agreements; /circle list lists open circles."""
    await open_circle(world, "Evening")
    listed = await world.alice.slash(world.general, "circle list")
    assert "Evening" in listed.response.content
    shown = await world.alice.slash(world.general, "circle join", name="evening")
    assert shown.ephemeral
    assert shown.response.embeds[0].title == "Agreements for “Evening”"
    missing = await world.alice.slash(world.general, "circle join", name="Nope")
    assert "no open circle" in missing.response.content


async def test_removed_member_cannot_rejoin(world: World) -> None:
    """A keeper's removal takes the member out, logs it, and bars them from rejoining."""
    await world.configure()
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    result = await world.mod.slash(thread, "circle remove", member=world.alice, reason="outing")
    assert result.ephemeral
    assert any("circle remove" in m.content for m in world.modlog.history())
    again = await world.alice.click(card, label="Join")
    assert again.ephemeral
    assert "removed you" in again.response.content


async def test_non_keeper_is_refused(world: World) -> None:
    """Members who are not keepers or moderators cannot run the circle."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    await join(world, world.bob, card)
    for command, options in [
        ("circle remove", {"member": world.bob}),
        ("circle close", {}),
        ("circle agreements add", {"text": "Be kind"}),
        ("circle keeper add", {"member": world.bob}),
    ]:
        result = await world.alice.slash(thread, command, **options)
        assert result.ephemeral
        assert "Only this circle's keepers" in result.response.content, command
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.is_open


async def test_added_agreement_requires_reconsent(world: World) -> None:
    """After a keeper adds an agreement, earlier members must accept it again."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    assert await circles.has_current_agreement(world.db, circle.id, world.alice.id)
    await world.mod.slash(thread, "circle agreements add", text="Cameras stay off.")
    assert not await circles.has_current_agreement(world.db, circle.id, world.alice.id)
    announcement = thread.last_message
    assert announcement is not None and "Cameras stay off." in announcement.content
    shown = await world.alice.click(announcement, label="Read and accept")
    assert "Cameras stay off." in shown.response.embeds[0].description
    await world.alice.click(shown.response.message, label="I agree")
    assert await circles.has_current_agreement(world.db, circle.id, world.alice.id)


async def test_stale_agreement_click_shows_new_agreements(world: World) -> None:
    """Agreements shown before a new one was added cannot be accepted as if complete."""
    thread, card = await open_circle(world)
    shown = await world.bob.click(card, label="Join")
    await world.mod.slash(thread, "circle agreements add", text="No recording.")
    result = await world.bob.click(shown.response.message, label="I agree")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    assert await circles.membership(world.db, circle.id, world.bob.id) is None
    assert "changed" in result.response.content


async def test_leave_needs_no_reason(world: World) -> None:
    """/circle leave takes the member out at once, with no question asked."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    result = await world.alice.slash(thread, "circle leave")
    assert result.ephemeral and result.modal is None
    assert "left" in result.response.content
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    assert await circles.membership(world.db, circle.id, world.alice.id) is None


async def test_keepers_add_and_remove(world: World) -> None:
    """Keepers can name another keeper, who can then run the circle, and remove them again."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    await world.mod.slash(thread, "circle keeper add", member=world.alice)
    result = await world.alice.slash(thread, "circle agreements add", text="Mute freely.")
    assert "Added agreement" in result.response.content
    await world.mod.slash(thread, "circle keeper remove", member=world.alice)
    refused = await world.alice.slash(thread, "circle agreements add", text="Again.")
    assert "Only this circle's keepers" in refused.response.content


async def test_close_destroys_salt_and_locks_thread(world: World) -> None:
    """Closing posts a closing message, locks and archives the thread and destroys the salt."""
    thread, _ = await open_circle(world)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    mark = len(world.env.http_requests)
    result = await world.mod.slash(thread, "circle close")
    assert result.ephemeral
    closed = await circles.get_circle(world.db, circle.id)
    assert closed is not None and not closed.is_open and closed.salt is None
    edits = [r for r in world.env.http_requests[mark:] if r.method == "PATCH"]
    assert any(r.json.get("locked") is True and r.json.get("archived") is True for r in edits)
    assert any("now closed" in m.content for m in thread.history())
    refreshed = world.general.history()[-1]
    assert "closed" in (refreshed.embeds[0].description or "")


async def test_close_can_delete_the_bots_messages(world: World) -> None:
    """With delete_bot_messages, the bot's own messages in the thread go before it closes."""
    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    await world.alice.send(thread, "hello")
    bot_messages_before = [m for m in thread.history() if m.author.bot]
    assert bot_messages_before
    await world.mod.slash(thread, "circle close", delete_bot_messages=True)
    remaining = [m for m in thread.history() if m.author.bot]
    assert [m.content for m in remaining] == [remaining[-1].content]
    assert "now closed" in remaining[-1].content
    assert any(m.content == "hello" for m in thread.history())


async def test_thread_creation_refused_leaves_no_circle(world: World) -> None:
    """A 403 on thread creation gives a clear message and leaves no record or thread behind."""
    await world.configure()
    world.env.inject_error("POST", "/channels/*/threads", status=403, code=50013)
    result = await world.mod.slash(world.general, "circle create", name="Refused")
    assert "Create Private Threads" in result.response.content
    assert world.general.threads == []
    assert await world.db.fetchval("SELECT count(*) FROM circles") == 0
    again, _ = await open_circle(world, "Refused")
    assert again.name == "Refused"


async def test_card_failure_removes_the_thread(world: World) -> None:
    """A 500 while posting the card deletes the new thread and the record."""
    await world.configure()
    world.env.inject_error("POST", f"/channels/{world.general.id}/messages", status=500)
    result = await world.mod.slash(world.general, "circle create", name="Half")
    assert "Nothing was created" in result.response.content
    assert await world.db.fetchval("SELECT count(*) FROM circles") == 0
    assert all(t.name != "Half" for t in world.general.threads)


async def test_commands_outside_a_circle_are_refused(world: World) -> None:
    """Circle commands used outside a circle's thread say where to use them."""
    result = await world.alice.slash(world.general, "circle leave")
    assert result.response.content == "Use this inside a circle's thread."


async def test_join_button_survives_restart(world: World) -> None:
    """The card's Join button still works after the bot restarts."""
    _, card = await open_circle(world)
    await world.restart()
    shown = await world.carol.click(card, label="Join")
    assert shown.ephemeral
    await world.carol.click(shown.response.message, label="I agree")
    assert (
        await world.db.fetchval(
            "SELECT count(*) FROM memberships WHERE user_id = ?", (world.carol.id,)
        )
        == 1
    )
