"""Anonymous posting end to end: every flow is checked over every REST call the bot made,
every row it wrote and every log line, for anything that could unmask the author."""

from __future__ import annotations

import json
import logging

import discord
import pytest
import simcord

from bot.db import Database
from bot.services import circles
from tests.conftest import World
from tests.test_circles import join, open_circle

TEXT = "The raids made everyone less safe, not more."


# --- what an unmasking would look like ---------------------------------------------------


def identity_of(member: simcord.MemberActor) -> list[str]:
    user = member.user
    names = [str(member.id), member.name]
    if user.global_name:
        names.append(user.global_name)
    if user.avatar:
        names.append(user.avatar)
    return names


def assert_requests_do_not_unmask(world: World, mark: int, author: simcord.MemberActor) -> None:
    """No request path, query or body since `mark` carries the author's id, name or avatar."""
    for request in world.env.http_requests[mark:]:
        blob = " ".join(
            [
                request.path,
                json.dumps(request.params, default=str),
                json.dumps(request.json, default=str),
            ]
        )
        for secret in identity_of(author):
            assert secret not in blob, f"{secret!r} leaked in {request.method} {request.path}"


def assert_public_post_is_clean(message: discord.Message, thread_id: int) -> None:
    """A public anonymous post: no interaction metadata, no mentions, no member reference."""
    assert message.interaction_metadata is None
    assert message.mentions == [] and message.role_mentions == []
    assert not message.mention_everyone
    if message.reference is not None:
        assert message.reference.resolved is None or message.reference.resolved.author.bot


def assert_author_answers_private(results: list[simcord.InteractionResult]) -> None:
    for result in results:
        assert result.modal is not None or (
            result.response is not None and result.response.ephemeral
        ), result


async def snapshot(db: Database) -> set[tuple[str, tuple[object, ...]]]:
    rows: set[tuple[str, tuple[object, ...]]] = set()
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in tables:
        for row in await db.fetchall(f"SELECT * FROM {table['name']}"):
            rows.add((table["name"], tuple(row)))
    return rows


def assert_new_rows_do_not_hold(
    before: set[tuple[str, tuple[object, ...]]],
    after: set[tuple[str, tuple[object, ...]]],
    author: simcord.MemberActor,
) -> None:
    """Every row written by the flow, in every column of every table, lacks the author's id."""
    written = after - before
    assert written, "the flow wrote nothing, so this check would prove nothing"
    for table, row in written:
        for value in row:
            assert value != author.id, f"author id stored in {table}"
            assert str(author.id) not in str(value), f"author id stored in {table}"


def assert_logs_clean(
    caplog: pytest.LogCaptureFixture, author: simcord.MemberActor, text: str
) -> None:
    for record in caplog.records:
        line = record.getMessage()
        assert text not in line, f"post text logged by {record.name}"
        assert str(author.id) not in line, f"author id logged by {record.name}"


# --- fixtures ----------------------------------------------------------------------------


async def circle_with_members(
    world: World, **options: object
) -> tuple[simcord.ChannelHandle, discord.Message]:
    thread, card = await open_circle(world, **options)
    for member in (world.alice, world.bob):
        await join(world, member, card)
    return thread, card


async def post(
    member: simcord.MemberActor, thread: simcord.ChannelHandle, text: str = TEXT, note: str = ""
) -> list[simcord.InteractionResult]:
    shown = await member.slash(thread, "anon post")
    assert shown.modal is not None
    submitted = await member.submit_modal(shown, {"message": text, "content_note": note})
    return [shown, submitted]


def anonymous_posts(thread: simcord.ChannelHandle) -> list[discord.Message]:
    return [
        m
        for m in thread.history()
        if m.embeds and (m.embeds[0].author.name or "").startswith("Anonymous · ")
    ]


# --- flows -------------------------------------------------------------------------------


async def test_post_goes_out_as_separate_clean_message(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """/anon post: private acknowledgement, then a separate bot message that unmasks no one."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await post(world.alice, thread, note="policing")
    assert_author_answers_private(results)
    posts = anonymous_posts(thread)
    assert len(posts) == 1
    message = posts[0]
    assert_public_post_is_clean(message, thread.id)
    description = message.embeds[0].description or ""
    assert description.index("Content note") < description.index(TEXT)
    assert any(
        r.method == "POST" and r.path == f"/channels/{thread.id}/messages"
        for r in world.env.http_requests[mark:]
    )
    send = next(
        r for r in world.env.http_requests[mark:] if r.path == f"/channels/{thread.id}/messages"
    )
    assert send.json["allowed_mentions"]["parse"] == []
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)
    stored = await world.db.fetchone("SELECT status, text FROM anon_posts")
    assert stored["status"] == "posted" and stored["text"] is None


async def test_button_reply_references_the_post(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Reply anonymously on a post references it, carries the replier's own label."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    original = anonymous_posts(thread)[0]
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    shown = await world.bob.click(original, label="Reply anonymously")
    assert shown.modal is not None
    submitted = await world.bob.submit_modal(shown, {"message": "Same here.", "content_note": ""})
    assert_author_answers_private([shown, submitted])
    reply = anonymous_posts(thread)[-1]
    assert reply.reference is not None and reply.reference.message_id == original.id
    assert reply.embeds[0].author.name != original.embeds[0].author.name
    assert_public_post_is_clean(reply, thread.id)
    assert_requests_do_not_unmask(world, mark, world.bob)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.bob)
    assert_logs_clean(caplog, world.bob, "Same here.")


async def test_context_menu_reply_to_member_quotes_a_link(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Replying to a member's message links it instead of referencing it (no notification)."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world)
    said = await world.bob.send(thread, "Has anyone dealt with this?")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    shown = await world.alice.context_menu(thread, "Reply anonymously", said)
    assert shown.modal is not None
    submitted = await world.alice.submit_modal(
        shown, {"message": "Yes, I have.", "content_note": ""}
    )
    assert_author_answers_private([shown, submitted])
    reply = anonymous_posts(thread)[-1]
    assert reply.reference is None
    assert said.jump_url in (reply.embeds[0].description or "")
    assert_public_post_is_clean(reply, thread.id)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, "Yes, I have.")


async def test_review_approve_posts_without_naming(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """In a review circle moderators see label and text only; Approve posts it."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world, review=True)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await post(world.alice, thread)
    assert "with the moderators" in results[1].response.content
    assert anonymous_posts(thread) == []
    held = world.queue.last_message
    assert held is not None and TEXT in (held.embeds[0].description or "")
    approved = await world.mod.click(held, label="Approve")
    assert approved.acknowledged
    assert len(anonymous_posts(thread)) == 1
    logged = await world.db.fetchone(
        "SELECT action, target_label, target_user_id FROM mod_log WHERE action = 'approve'"
    )
    assert logged["target_label"] and logged["target_user_id"] is None
    assert TEXT not in (world.queue.history()[-1].content or "")
    assert_author_answers_private(results)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_review_reject_shows_in_mine(world: World) -> None:
    """A rejected post never appears, and its author sees "rejected" in /anon mine."""
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    await world.mod.click(held, label="Reject")
    assert anonymous_posts(thread) == []
    mine = await world.alice.slash(thread, "anon mine")
    assert "rejected" in mine.response.content
    assert (await world.db.fetchone("SELECT text FROM anon_posts"))["text"] is None


async def test_member_cannot_approve(world: World) -> None:
    """Only moderators can approve held posts."""
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    # The admin can read the queue channel but is not a moderator.
    result = await world.admin.click(held, label="Approve")
    assert "Only moderators" in result.response.content
    assert anonymous_posts(thread) == []


async def test_delayed_delivery_survives_restart(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A delayed post waits in the persisted outbox across a restart, then goes out once."""
    caplog.set_level(logging.DEBUG)
    await world.configure()
    await world.admin.slash(world.general, "setup delay", max_seconds=300)
    thread, _ = await circle_with_members(world)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await post(world.alice, thread)
    assert anonymous_posts(thread) == []
    await world.restart()
    await world.env.advance_time(310)
    assert len(anonymous_posts(thread)) == 1
    await world.env.advance_time(60)
    assert len(anonymous_posts(thread)) == 1
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_delay_keeps_order(world: World) -> None:
    """Delayed posts come out in the order they were written."""
    await world.configure()
    await world.admin.slash(world.general, "setup delay", max_seconds=120)
    thread, _ = await circle_with_members(world)
    for i in range(4):
        await post(world.alice if i % 2 else world.bob, thread, text=f"post number {i}")
    await world.env.advance_time(700)
    bodies = [m.embeds[0].description for m in anonymous_posts(thread)]
    assert bodies == [f"post number {i}" for i in range(4)]


async def test_self_delete_removes_message_and_record(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """/anon delete removes the author's post and its record, unmasking no one."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    picker = await world.alice.slash(thread, "anon delete")
    assert picker.ephemeral
    token = (await world.db.fetchone("SELECT token FROM anon_posts"))["token"]
    done = await world.alice.select(picker.response.message, values=[token])
    assert done.response.content == "Deleted."
    assert anonymous_posts(thread) == []
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 0
    assert_requests_do_not_unmask(world, mark, world.alice)
    after = await snapshot(world.db)
    assert not any(str(world.alice.id) in str(v) for _, row in after - before for v in row)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_others_posts_are_not_in_my_list(world: World) -> None:
    """/anon mine shows only your own posts, found by your key."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    mine = await world.bob.slash(thread, "anon mine")
    assert "no anonymous posts" in mine.response.content
    alice = await world.alice.slash(thread, "anon mine")
    assert "posted" in alice.response.content


# --- labels ------------------------------------------------------------------------------


async def test_labels_stable_in_a_circle_and_different_across(world: World) -> None:
    """The same member keeps one label in a circle and gets another in a second circle."""
    first, _ = await circle_with_members(world)
    second, card2 = await open_circle(world, "Second circle")
    await join(world, world.alice, card2)
    a1 = (await world.alice.slash(first, "anon whoami")).response.content
    a1_again = (await world.alice.slash(first, "anon whoami")).response.content
    a2 = (await world.alice.slash(second, "anon whoami")).response.content
    b1 = (await world.bob.slash(first, "anon whoami")).response.content
    assert a1 == a1_again
    assert a1 != a2
    assert a1 != b1


async def test_after_close_nothing_can_be_found(world: World) -> None:
    """Closing destroys the salt and the records: nothing links back to the author."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    await world.mod.slash(thread, "circle close")
    assert (
        await world.db.fetchval("SELECT count(*) FROM anon_posts WHERE circle_id = ?", (circle.id,))
        == 0
    )
    assert (
        await world.db.fetchval(
            "SELECT count(*) FROM anon_labels WHERE circle_id = ?", (circle.id,)
        )
        == 0
    )
    closed = await circles.get_circle(world.db, circle.id)
    assert closed is not None and closed.salt is None


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   \n  ", "empty"),
        ("hi\u200bthere", "invisible"),
        ("<@123456789012345678> @everyone", "mention"),
    ],
)
async def test_bad_text_is_refused(world: World, text: str, expected: str) -> None:
    """Empty, invisible-character and mention-only texts are refused and nothing is posted."""
    thread, _ = await circle_with_members(world)
    results = await post(world.alice, thread, text=text)
    assert results[1].ephemeral
    assert expected in results[1].response.content.lower()
    assert anonymous_posts(thread) == []


async def test_identifying_details_are_held_for_the_author(world: World) -> None:
    """A phone number holds the post; the author can edit it or post anyway."""
    thread, _ = await circle_with_members(world)
    results = await post(world.alice, thread, text="Call me on 0161 496 0000 any time")
    held = results[1]
    assert held.ephemeral and "phone number" in held.response.content
    assert "0161" not in held.response.content  # the post's words stay out of responses
    assert anonymous_posts(thread) == []
    edit = await world.alice.click(held.response.message, label="Edit")
    assert edit.modal is not None
    edited = await world.alice.submit_modal(
        edit, {"message": "Message me here any time", "content_note": ""}
    )
    assert "will appear" in edited.response.content
    assert [m.embeds[0].description for m in anonymous_posts(thread)] == [
        "Message me here any time"
    ]
    again = await post(world.alice, thread, text="See www.example.org for it")
    anyway = await world.alice.click(again[1].response.message, label="Post anyway")
    assert "will appear" in anyway.response.content
    assert len(anonymous_posts(thread)) == 2
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts WHERE status = 'draft'") == 0


async def test_rate_limit_says_when_to_try_again(world: World) -> None:
    """A sixth post within ten minutes is refused with when to try again."""
    thread, _ = await circle_with_members(world)
    for i in range(5):
        await post(world.alice, thread, text=f"thought {i}")
    refused = await post(world.alice, thread, text="one more")
    assert "again in" in refused[1].response.content
    assert len(anonymous_posts(thread)) == 5
    other = await post(world.bob, thread, text="my turn")
    assert "will appear" in other[1].response.content


async def test_non_member_and_wrong_channel_are_refused(world: World) -> None:
    """Posting needs a circle thread and accepted agreements."""
    thread, _ = await circle_with_members(world)
    outside = await world.alice.slash(world.general, "anon post")
    assert outside.response.content == "Use this inside a circle's thread."
    await world.mod.slash(thread, "circle agreements add", text="New rule.")
    stale = await world.alice.slash(thread, "anon post")
    assert stale.modal is None and "new agreement" in stale.response.content


@pytest.mark.parametrize("status", [500, 429, 403])
async def test_discord_failure_keeps_the_post_queued(world: World, status: int) -> None:
    """A Discord failure while posting leaves the post queued; it goes out on a later try."""
    thread, _ = await circle_with_members(world)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=status, times=1)
    results = await post(world.alice, thread)
    assert results[1].ephemeral
    assert anonymous_posts(thread) == []
    row = await world.db.fetchone("SELECT status, text FROM anon_posts")
    # After a server error the post may have reached Discord, so it stays 'sending' and the
    # next try looks for it before sending again.
    assert row["status"] == ("sending" if status == 500 else "queued") and row["text"] == TEXT
    await world.env.advance_time(400)
    assert len(anonymous_posts(thread)) == 1
    assert (await world.db.fetchone("SELECT status FROM anon_posts"))["status"] == "posted"


async def test_self_delete_refused_by_discord_keeps_the_record(world: World) -> None:
    """If Discord refuses the delete, nothing is deleted, so the post can still be found."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    picker = await world.alice.slash(thread, "anon delete")
    token = (await world.db.fetchone("SELECT token FROM anon_posts"))["token"]
    world.env.inject_error("DELETE", f"/channels/{thread.id}/messages/*", status=403, code=50013)
    refused = await world.alice.select(picker.response.message, values=[token])
    assert "nothing was deleted" in refused.response.content
    assert len(anonymous_posts(thread)) == 1
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 1


async def test_closing_clears_held_posts_from_the_queue(world: World) -> None:
    """A held post's text leaves the queue channel when its circle closes."""
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    assert held is not None and TEXT in (held.embeds[0].description or "")
    await world.mod.slash(thread, "circle close")
    assert all(
        TEXT not in (m.embeds[0].description or "") for m in world.queue.history() if m.embeds
    )


async def test_held_post_without_a_queue_channel_says_so(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """With no queue channel, the author learns the moderators must look in /mod queue; the
    held post still unmasks no one."""
    caplog.set_level(logging.DEBUG)
    thread, _ = await circle_with_members(world, review=True)
    await world.db.execute("UPDATE guild_config SET queue_channel_id = NULL")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    results = await post(world.alice, thread)
    assert "/mod queue" in results[1].response.content
    assert (await world.db.fetchone("SELECT status FROM anon_posts"))["status"] == "review"
    assert_author_answers_private(results)
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)
