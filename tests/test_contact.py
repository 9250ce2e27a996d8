"""Contact conversations and the inbox: a member writes to the moderators and hears back
without being named; an anonymous author sees the replies to their posts. Every exchange is
checked over every REST call, every row written and every log line."""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
import pytest
import simcord

from bot.db import Database
from bot.services import config as config_service
from bot.services import contact as contact_service
from bot.services.contact import ContactKeys, MemberMemory, TooManyConversations
from tests.conftest import TEST_SECRET, World
from tests.test_anonymous import (
    anonymous_posts,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    circle_with_members,
    post,
    snapshot,
)
from tests.test_moderation import staff

WORRY = "Someone in the Tuesday circle keeps asking where I work. I'm scared."
ANSWER = "Thank you for telling us. We have spoken to them; you are not alone."
BACK = "Thank you. It feels better already."


def contact_items(channel: simcord.ChannelHandle) -> list[discord.Message]:
    return [
        m
        for m in channel.history()
        if m.embeds and (m.embeds[0].author.name or "").startswith("Contact · ")
    ]


def button_labels(result: simcord.InteractionResult) -> list[str]:
    assert result.response is not None
    return [
        str(c.get("label"))
        for row in result.response.components
        for c in (row["components"] if isinstance(row, dict) else row.to_dict()["components"])
    ]


def pseudonym_of(message: discord.Message) -> str:
    return (message.embeds[0].author.name or "").removeprefix("Contact · ")


async def write(
    member: simcord.MemberActor, channel: simcord.ChannelHandle, text: str = WORRY
) -> simcord.InteractionResult:
    shown = await member.slash(channel, "anon contact")
    assert shown.modal is not None
    return await member.submit_modal(shown, {"message": text})


async def moderator_replies(world: World, item: discord.Message, text: str = ANSWER) -> None:
    shown = await world.mod.click(item, label="Reply")
    assert shown.modal is not None, shown
    sent = await world.mod.submit_modal(shown, {"message": text})
    assert sent.ephemeral


async def inbox(member: simcord.MemberActor, channel: simcord.ChannelHandle) -> str:
    shown = await member.slash(channel, "anon inbox")
    assert shown.ephemeral
    return shown.response.content or ""


# --- the whole exchange --------------------------------------------------------------------


async def test_whole_conversation_names_the_member_nowhere(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Open, delayed arrival, Reply, read in the inbox, answer back, close: no REST call, no
    row and no log line holds the member's id, name or display name."""
    caplog.set_level(logging.DEBUG)
    await world.configure()
    await config_service.set_delay(world.db, world.guild.id, 120)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)

    sent = await write(world.alice, world.general)
    assert sent.ephemeral
    assert "not an emergency service" in (sent.response.content or "")
    assert "Resources" in button_labels(sent)
    assert contact_items(world.queue) == [], "arrived the moment the member acted"
    await world.env.advance_time(121)
    [item] = contact_items(world.queue)
    assert item.embeds[0].description == WORRY
    assert item.interaction_metadata is None and item.mentions == []
    name = pseudonym_of(item)
    assert name in (sent.response.content or "")

    await moderator_replies(world, item)
    seen = await inbox(world.alice, world.general)
    assert name in seen and ANSWER in seen
    shown = await world.alice.slash(world.general, "anon inbox")
    answer = await world.alice.click(shown.response.message, label=f"Answer {name}")
    assert answer.modal is not None
    await world.alice.submit_modal(answer, {"message": BACK})
    await world.env.advance_time(121)
    items = contact_items(world.queue)
    assert [pseudonym_of(m) for m in items] == [name, name]
    assert items[-1].embeds[0].description == BACK

    closed = await world.mod.click(items[-1], label="Close")
    assert closed.ephemeral
    again = await world.mod.click(items[-1], label="Reply")
    assert again.modal is None and "closed" in (again.response.content or "")

    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    for record in caplog.records:
        line = record.getMessage()
        for secret in (str(world.alice.id), "alice", "Alice A", WORRY, BACK):
            assert secret not in line, f"{secret!r} logged by {record.name}"
    logged = await world.db.fetchall("SELECT * FROM mod_log WHERE action LIKE 'contact%'")
    assert {r["action"] for r in logged} == {"contact reply", "contact close"}
    assert {r["target_label"] for r in logged} == {name}
    assert all(r["target_user_id"] is None for r in logged)
    # The member's own words were dropped once they reached the channel.
    stored = await world.db.fetchall("SELECT text FROM contact_messages")
    assert all(WORRY not in (r["text"] or "") and BACK not in (r["text"] or "") for r in stored)
    # Closing destroyed the salt and the key: nobody can tell any more whose it was.
    row = await world.db.fetchone("SELECT salt, member_key, state FROM contact_conversations")
    assert row is not None and row["state"] == "closed"
    assert row["salt"] is None and row["member_key"] is None


async def test_two_conversations_of_one_member_share_nothing(world: World) -> None:
    """Two conversations of one member carry unrelated pseudonyms, salts and keys, and
    neither pseudonym is a circle label of theirs."""
    await world.configure()
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    label = (anonymous_posts(thread)[0].embeds[0].author.name or "").removeprefix("Anonymous · ")
    await write(world.alice, world.general)
    await write(world.alice, world.general, "A second worry.")
    first, second = contact_items(world.queue)
    assert pseudonym_of(first) != pseudonym_of(second)
    assert label not in (pseudonym_of(first), pseudonym_of(second))
    rows = await world.db.fetchall("SELECT salt, member_key FROM contact_conversations")
    assert len({bytes(r["salt"]) for r in rows}) == 2
    assert len({bytes(r["member_key"]) for r in rows}) == 2
    seen = await inbox(world.alice, world.general)
    assert pseudonym_of(first) in seen and pseudonym_of(second) in seen
    assert "Your conversations" not in await inbox(world.bob, world.general)


async def test_blocked_member_cannot_answer_or_open_and_nobody_learns_who(world: World) -> None:
    """Block stops the member answering and opening new conversations; the moderators see
    only the pseudonym, and others can still write."""
    await staff(world)
    await write(world.alice, world.general)
    [item] = contact_items(world.queue)
    mark = len(world.env.http_requests)
    blocked = await world.mod.click(item, label="Block")
    assert blocked.ephemeral and pseudonym_of(item) in (blocked.response.content or "")

    refused = await write(world.alice, world.general, "Let me explain.")
    assert refused.ephemeral and "isn't available to you" in (refused.response.content or "")
    assert len(contact_items(world.queue)) == 1
    listed = await world.mod.slash(world.general, "mod blocks")
    assert pseudonym_of(item) in (listed.response.content or "")
    assert_requests_do_not_unmask(world, mark, world.alice)
    # Nothing of what was said stays with a block.
    assert await world.db.fetchval("SELECT count(*) FROM contact_messages") == 0

    await write(world.bob, world.general, "Me too.")
    assert len(contact_items(world.queue)) == 2

    block_id = await world.db.fetchval(
        "SELECT id FROM contact_conversations WHERE state = 'blocked'"
    )
    await world.mod.slash(world.general, "mod unblock", id=block_id, contact=True)
    await write(world.alice, world.general, "Thank you for listening.")
    assert len(contact_items(world.queue)) == 3


async def test_new_conversations_are_rate_limited() -> None:
    """A member opening many conversations at once is asked to wait (counted in memory)."""
    memory = MemberMemory()
    now = discord.utils.utcnow()
    for _ in range(contact_service.NEW_LIMIT):
        memory.check_new(7, now=now)
        memory.opened(7, now=now)
    with pytest.raises(TooManyConversations):
        memory.check_new(7, now=now)
    memory.check_new(8, now=now)
    memory.check_new(7, now=now + contact_service.NEW_WINDOW + timedelta(seconds=1))


# --- bad input -----------------------------------------------------------------------------


async def test_missing_channel_keeps_the_message_until_one_is_set(world: World) -> None:
    """With no channel the member is told it could not reach the moderators yet; it waits,
    and arrives once /setup contact channel is set."""
    sent = await write(world.alice, world.general)
    assert "could not reach the moderators yet" in (sent.response.content or "")
    assert contact_items(world.queue) == []
    assert await contact_service.waiting_in(world.db, world.guild.id) == 1
    await world.admin.slash(world.general, "setup contact channel", channel=world.queue)
    [item] = contact_items(world.queue)
    assert item.embeds[0].description == WORRY


async def test_empty_reply_and_answer_to_closed_conversation_are_refused(world: World) -> None:
    """An empty message and an answer in a closed conversation get a clear private reply."""
    await world.configure()
    empty = await write(world.alice, world.general, "   ")
    assert empty.ephemeral and contact_items(world.queue) == []
    await write(world.alice, world.general)
    shown = await world.alice.slash(world.general, "anon inbox")
    closed = await world.alice.click(
        shown.response.message,
        label=next(b for b in button_labels(shown) if b.startswith("Close ")),
    )
    assert closed.ephemeral and "Closed" in (closed.response.content or "")
    late = await world.alice.click(
        shown.response.message,
        label=next(b for b in button_labels(shown) if b.startswith("Answer ")),
    )
    assert late.modal is None and "closed" in (late.response.content or "")
    # The admin can read the channel but is not a moderator.
    other = await world.admin.click(contact_items(world.queue)[0], label="Reply")
    assert other.modal is None and "Only moderators" in (other.response.content or "")


# --- retention and restarts ----------------------------------------------------------------


async def test_retention_purges_a_closed_conversations_text(world: World) -> None:
    """A closed conversation keeps the moderators' words until its end, then all goes."""
    await world.configure()
    await world.admin.slash(world.general, "setup contact days", days=1)
    await write(world.alice, world.general)
    [item] = contact_items(world.queue)
    await moderator_replies(world, item)
    await world.mod.click(item, label="Close")
    assert await world.db.fetchval(
        "SELECT count(*) FROM contact_messages WHERE text = ?", (ANSWER,)
    )
    await world.env.advance_time(24 * 3600 + 120)
    assert await world.db.fetchval("SELECT count(*) FROM contact_conversations") == 0
    assert await world.db.fetchval("SELECT count(*) FROM contact_messages") == 0
    again = await world.mod.click(item, label="Reply")
    assert again.modal is None and "purged" in (again.response.content or "")


async def test_restart_keeps_conversations_and_memory_keyed_start_afresh(world: World) -> None:
    """An ordinary conversation survives a restart; a memory-keyed one is gone after it."""
    await world.configure()
    await write(world.alice, world.general)
    kept = pseudonym_of(contact_items(world.queue)[0])
    await world.admin.slash(world.general, "setup contact memory_keyed", enabled=True)
    await write(world.alice, world.general, "Only in memory.")
    fleeting = pseudonym_of(contact_items(world.queue)[-1])
    row = await world.db.fetchone(
        "SELECT salt FROM contact_conversations WHERE pseudonym = ?", (fleeting,)
    )
    assert row is not None and row["salt"] is None
    seen = await inbox(world.alice, world.general)
    assert kept in seen and fleeting in seen
    await world.restart()
    seen = await inbox(world.alice, world.general)
    assert kept in seen and fleeting not in seen
    assert (
        await world.db.fetchval(
            "SELECT count(*) FROM contact_conversations WHERE pseudonym = ?", (fleeting,)
        )
        == 0
    )
    await moderator_replies(world, contact_items(world.queue)[0])
    assert ANSWER in await inbox(world.alice, world.general)


# --- the inbox of replies to posts ---------------------------------------------------------


async def test_anonymous_reply_reaches_its_authors_inbox_only(world: World) -> None:
    """The author of an anonymous post sees an anonymous reply to it (with its words) and a
    member's Discord reply (as a link) in /anon inbox; a different member sees neither; the
    "new replies" line shows until the inbox is read."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    [original] = anonymous_posts(thread)
    shown = await world.bob.click(original, label="Reply anonymously")
    await world.bob.submit_modal(
        shown, {"message": "You are not alone in this.", "content_note": ""}
    )
    said = await world.bob.send(thread, "Same here.", reply_to=original)

    mine = await world.alice.slash(thread, "anon mine")
    assert "2 new replies — `/anon inbox`" in (mine.response.content or "")
    acknowledged = (await post(world.alice, thread, "Another thought."))[1]
    assert "2 new replies" in (acknowledged.response.content or "")

    seen = await inbox(world.alice, thread)
    assert "You are not alone in this." in seen
    assert str(said.id) in seen
    assert "You are not alone" not in await inbox(world.bob, thread)
    assert "new repl" not in ((await world.alice.slash(thread, "anon mine")).response.content or "")
    assert "You are not alone" not in await inbox(world.alice, thread)


async def test_replies_from_every_circle_reach_their_author_and_name_nobody(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """An author with posts in two circles finds the replies to both in their inbox, the
    first circle's first (read together, in one statement); the replier, who posted in both
    too, finds none; no request, new row or log line of the exchange names either of them."""
    first, _ = await circle_with_members(world)
    second, _ = await circle_with_members(world, name="Thursday circle")
    for thread in (first, second):
        await post(world.alice, thread, f"My post in {thread.name}.")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    for thread in (second, first):
        [original] = anonymous_posts(thread)
        shown = await world.bob.click(original, label="Reply anonymously")
        await world.bob.submit_modal(
            shown, {"message": f"Heard you in {thread.name}.", "content_note": ""}
        )
    seen = await inbox(world.alice, world.general)
    assert seen.index("Heard you in Tuesday circle.") < seen.index("Heard you in Thursday")
    assert "Heard you" not in await inbox(world.bob, world.general)
    for member in (world.alice, world.bob):
        assert_requests_do_not_unmask(world, mark, member)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), member)
        assert_logs_clean(caplog, member, "Heard you in")


async def test_keys_recompute_only_for_the_member() -> None:
    """A conversation is recognised for its member alone, and not without the secret."""
    keys = ContactKeys(bytes.fromhex(TEST_SECRET))
    other = ContactKeys(b"another secret")
    salt = b"s" * 32
    key = keys.member_key(salt, 1)
    conversation = contact_service.Conversation(
        1,
        "t",
        1,
        "Quiet Heron",
        salt,
        key,
        False,
        "open",
        discord.utils.utcnow(),
        discord.utils.utcnow(),
    )
    assert keys.is_member(conversation, 1)
    assert not keys.is_member(conversation, 2)
    assert not other.is_member(conversation, 1)
    assert keys.member_key(b"t" * 32, 1) != key


async def test_block_is_found_by_recomputing_under_the_blocked_salt(db: Database) -> None:
    """A blocked member is refused a new conversation by recomputation alone; another
    member is not, and the block row keeps no words."""
    keys = ContactKeys(bytes.fromhex(TEST_SECRET))
    now = discord.utils.utcnow()
    opened, _ = await contact_service.open_conversation(
        db, keys, 5, 101, text="hello", now=now, delay_max_seconds=0
    )
    await contact_service.block(db, opened.token)
    with pytest.raises(contact_service.ContactBlocked):
        await contact_service.open_conversation(
            db, keys, 5, 101, text="again", now=now, delay_max_seconds=0
        )
    await contact_service.open_conversation(
        db, keys, 5, 102, text="me", now=now, delay_max_seconds=0
    )
    # Another server's moderators blocked nobody there.
    await contact_service.open_conversation(
        db, keys, 6, 101, text="elsewhere", now=now, delay_max_seconds=0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM contact_messages WHERE conversation_id = ?", (opened.id,)
        )
        == 0
    )
    with pytest.raises(contact_service.ContactBlocked):
        await contact_service.member_writes(
            db, keys, opened.token, 101, text="let me", now=now, delay_max_seconds=0
        )


async def test_a_later_message_never_overtakes_an_earlier_one(db: Database) -> None:
    """A member's answer waits at least as long as their message before it."""
    keys = ContactKeys(bytes.fromhex(TEST_SECRET))
    now = discord.utils.utcnow()
    opened, first = await contact_service.open_conversation(
        db, keys, 5, 101, text="one", now=now, delay_max_seconds=600
    )
    for _ in range(5):
        _, later = await contact_service.member_writes(
            db, keys, opened.token, 101, text="two", now=now, delay_max_seconds=2
        )
        assert first.deliver_at is not None and later.deliver_at is not None
        assert later.deliver_at >= first.deliver_at
