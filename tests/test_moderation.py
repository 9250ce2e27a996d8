"""Moderation end to end: `/mod`, reports and the queue's buttons — each checked for what it
must never reveal: who wrote an anonymous post, and who reported something."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import discord
import pytest
import simcord

from bot.db import Database
from bot.services import moderation as mod
from tests.conftest import World
from tests.test_anonymous import (
    TEXT,
    anonymous_posts,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    circle_with_members,
    identity_of,
    post,
    snapshot,
)

REFUSED_POST = "isn't available to you"


# --- helpers -----------------------------------------------------------------------------


async def mod_command(world: World) -> discord.app_commands.AppCommand:
    commands = await world.bot.tree.fetch_commands()
    return next(c for c in commands if c.name == "mod")


async def staff(world: World) -> None:
    """Configure the server and show /mod to the moderator role, as a server would in its
    Integrations settings (the role itself carries no permissions)."""
    if not world.configured:
        await world.configure()
    world.guild.set_command_permissions(await mod_command(world), {world.moderators: True})


async def posted_circle(
    world: World, **options: object
) -> tuple[simcord.ChannelHandle, discord.Message]:
    """A circle with alice and bob in it, /mod shown to moderators, and one post by alice."""
    await staff(world)
    thread, _ = await circle_with_members(world, **options)
    await post(world.alice, thread)
    return thread, anonymous_posts(thread)[-1]


async def logged(world: World, action: str) -> list[dict[str, object]]:
    """Mod-log rows for `action`, each also posted to the mod-log channel."""
    rows = [
        dict(r)
        for r in await world.db.fetchall("SELECT * FROM mod_log WHERE action = ?", (action,))
    ]
    assert rows, f"no {action!r} in the mod_log table"
    lines = [m.content for m in world.modlog.history()]
    assert any(line.startswith(f"**{action}** by <@") for line in lines), lines
    return rows


def custom_ids(message: discord.Message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.to_dict()["components"]]


def queue_requests(world: World, mark: int) -> list[simcord.HttpLogEntry]:
    return [
        r
        for r in world.env.http_requests[mark:]
        if r.method == "POST" and r.path == f"/channels/{world.queue.id}/messages"
    ]


async def report(
    member: simcord.MemberActor,
    channel: simcord.ChannelHandle,
    message: discord.Message,
    reason: str = "This names someone's workplace.",
    contact: str = "no",
    *,
    button: bool = False,
) -> simcord.InteractionResult:
    if button:
        shown = await member.click(message, label="Report")
    else:
        shown = await member.context_menu(channel, "Report to moderators", message)
    assert shown.modal is not None
    choice = next(row["component"] for row in shown.modal["components"] if row.get("type") == 18)
    # The form starts on "no": a reporter is named only by choosing to be.
    assert [o["value"] for o in choice["options"] if o.get("default")] == ["no"]
    return await member.submit_modal(shown, {"reason": reason, "contact": [contact]})


# --- who may use /mod --------------------------------------------------------------------


async def test_mod_is_hidden_from_members(world: World) -> None:
    """Discord hides /mod from members without Manage Messages, the bare role included."""
    await world.configure()
    with pytest.raises(simcord.SetupError, match="not visible"):
        await world.alice.slash(world.general, "mod queue")
    with pytest.raises(simcord.SetupError, match="not visible"):
        await world.mod.slash(world.general, "mod blocks")


async def test_bot_refuses_non_moderators_everywhere(world: World) -> None:
    """Shown /mod by a server override, a member is still refused by every command and button."""
    thread, message = await posted_circle(world, review=False)
    world.guild.set_command_permissions(await mod_command(world), {world.alice: True})
    link = message.jump_url
    before = await snapshot(world.db)
    attempts: list[tuple[simcord.ChannelHandle, str, dict[str, object]]] = [
        (world.general, "mod queue", {}),
        (world.general, "mod remove", {"post": link, "reason": "x"}),
        (world.general, "mod block", {"post": link, "reason": "x"}),
        (world.general, "mod blocks", {}),
        (world.general, "mod unblock", {"id": 1}),
        (world.general, "mod warn", {"member": world.bob, "reason": "x"}),
        (world.general, "mod timeout", {"member": world.bob, "minutes": 5, "reason": "x"}),
        (world.general, "mod note", {"member": world.bob, "text": "x"}),
        (world.general, "mod notes", {"member": world.bob}),
        (thread, "mod lock", {}),
        (thread, "mod unlock", {}),
        (world.general, "mod slowmode", {"seconds": 10}),
    ]
    for channel, command, options in attempts:
        result = await world.alice.slash(channel, command, **options)
        assert result.ephemeral, command
        assert result.response.content == "Only moderators can do that.", command
    assert await snapshot(world.db) == before
    assert len(anonymous_posts(thread)) == 1


async def test_non_moderator_cannot_press_queue_buttons(world: World) -> None:
    """Someone who can read the queue channel but is no moderator cannot decide anything."""
    await staff(world)
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    refused = await world.admin.click(held, label="Block author")
    assert "Only moderators" in refused.response.content
    said = await world.bob.send(thread, "Someone said a thing.")
    await report(world.alice, thread, said)
    queued = world.queue.last_message
    for label in ("Dismiss", "Mark handled"):
        result = await world.admin.click(queued, label=label)
        assert "Only moderators" in result.response.content
    assert await world.db.fetchval("SELECT count(*) FROM anon_blocks") == 0
    assert await world.db.fetchval("SELECT status FROM reports") == "open"


async def test_moderator_role_alone_passes_the_bot_check(world: World) -> None:
    """A member whose only standing is the configured moderator role may use /mod."""
    await staff(world)
    result = await world.mod.slash(world.general, "mod blocks")
    assert result.ephemeral
    assert "No anonymous author is blocked" in result.response.content


# --- removing anonymous posts ------------------------------------------------------------


async def test_remove_post_by_link_unmasks_no_one(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """/mod remove: the bot deletes the post itself, keeps label and key, logs only the label."""
    caplog.set_level(logging.DEBUG)
    thread, message = await posted_circle(world)
    before_row = await world.db.fetchone("SELECT label, label_key FROM anon_posts")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    result = await world.mod.slash(
        world.general, "mod remove", post=message.jump_url, reason="outs a client"
    )
    assert result.ephemeral
    assert "Removed the post by" in result.response.content
    assert anonymous_posts(thread) == []
    deletes = [r for r in world.env.http_requests[mark:] if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/channels/{thread.id}/messages/{message.id}"]
    row = await world.db.fetchone("SELECT status, label, label_key, text FROM anon_posts")
    assert row["status"] == "removed" and row["text"] is None
    assert (row["label"], row["label_key"]) == (before_row["label"], before_row["label_key"])
    assert not any(entry.target_id == world.alice.id for entry in world.guild.audit_log())
    [entry] = await logged(world, "remove")
    assert entry["target_label"] == before_row["label"] and entry["target_user_id"] is None
    assert "outs a client" in str(entry["details"])
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)
    mine = await world.alice.slash(thread, "anon mine")
    assert "removed by a moderator" in mine.response.content


async def test_remove_accepts_a_bare_message_id(world: World) -> None:
    """A message id works as well as a link."""
    thread, message = await posted_circle(world)
    result = await world.mod.slash(world.general, "mod remove", post=str(message.id), reason="r")
    assert "Removed" in result.response.content
    assert anonymous_posts(thread) == []


async def test_remove_refuses_bad_input_and_changes_nothing(world: World) -> None:
    """Not a link, another server's link, a member's own message, a removed post: each refused."""
    thread, message = await posted_circle(world)
    said = await world.bob.send(thread, "My own words.")
    await world.mod.slash(world.general, "mod remove", post=message.jump_url, reason="r")
    before = await snapshot(world.db)
    cases = [
        ("hello there", "isn't a message link"),
        (f"https://discord.com/channels/1234567890123/{thread.id}/{message.id}", "another server"),
        (said.jump_url, "isn't an anonymous post"),
        ("123456789012345678", "isn't an anonymous post"),
        (message.jump_url, "already removed"),
    ]
    mark = len(world.env.http_requests)
    for link, expected in cases:
        result = await world.mod.slash(world.general, "mod remove", post=link, reason="r")
        assert result.ephemeral
        assert expected in result.response.content, link
    assert not [r for r in world.env.http_requests[mark:] if r.method == "DELETE"]
    assert await snapshot(world.db) == before
    assert said.id in [m.id for m in thread.history()]


async def test_remove_when_discord_refuses_changes_nothing(world: World) -> None:
    """If Discord refuses the deletion, the post stays posted and nothing is logged."""
    thread, message = await posted_circle(world)
    world.env.inject_error(
        "DELETE", f"/channels/{thread.id}/messages/{message.id}", status=403, code=50013
    )
    result = await world.mod.slash(world.general, "mod remove", post=message.jump_url, reason="r")
    assert "Nothing was changed" in result.response.content
    assert await world.db.fetchval("SELECT status FROM anon_posts") == "posted"
    assert await world.db.fetchval("SELECT count(*) FROM mod_log WHERE action = 'remove'") == 0


# --- blocking anonymous authors ----------------------------------------------------------


async def test_block_stops_only_that_author_and_reveals_no_one(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A block refuses its author, not others; no request, row or log line says who it is."""
    caplog.set_level(logging.DEBUG)
    thread, message = await posted_circle(world)
    label = message.embeds[0].author.name.removeprefix("Anonymous · ")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    result = await world.mod.slash(
        world.general, "mod block", post=message.jump_url, reason="harassment", days=7
    )
    assert result.ephemeral
    assert f"Blocked **{label}**" in result.response.content
    refused = await post(world.alice, thread, text="Trying again.")
    assert REFUSED_POST in refused[1].response.content
    allowed = await post(world.bob, thread, text="I can still post.")
    assert "will appear" in allowed[1].response.content
    assert len(anonymous_posts(thread)) == 2
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, "Trying again.")
    [entry] = await logged(world, "block")
    assert entry["target_label"] == label and entry["target_user_id"] is None
    block = await world.db.fetchone("SELECT * FROM anon_blocks")
    assert block["label"] == label and block["reason"] == "harassment"
    assert block["expires_at"] is not None
    for line in [m.content for m in world.modlog.history()]:
        for secret in identity_of(world.alice):
            assert secret not in line


async def test_block_ends_by_itself(world: World) -> None:
    """A block for some days ends then (checked at post time); the purge deletes its row."""
    # Running every background loop through a whole virtual day takes simcord minutes, so
    # the day is skipped by moving the stored expiry into the past, then one purge is run.
    thread, message = await posted_circle(world)
    await world.mod.slash(world.general, "mod block", post=message.jump_url, reason="r", days=1)
    block = await world.db.fetchone("SELECT created_at, expires_at FROM anon_blocks")
    lasts = datetime.fromisoformat(block["expires_at"]) - datetime.fromisoformat(
        block["created_at"]
    )
    assert lasts == timedelta(days=1)
    refused = await post(world.alice, thread, text="Still blocked?")
    assert REFUSED_POST in refused[1].response.content
    a_moment_ago = (world.env.now() - timedelta(seconds=1)).astimezone(UTC)
    await world.db.execute(
        "UPDATE anon_blocks SET expires_at = ?", (a_moment_ago.isoformat(timespec="microseconds"),)
    )
    allowed = await post(world.alice, thread, text="Back again.")
    assert "will appear" in allowed[1].response.content
    await world.bot.get_cog("Moderation").purge()
    assert await world.db.fetchval("SELECT count(*) FROM anon_blocks") == 0


async def test_second_block_and_closed_circle_are_refused(world: World) -> None:
    """Blocking the same author twice, or in a closed circle, is refused without changes."""
    thread, message = await posted_circle(world)
    await world.mod.slash(world.general, "mod block", post=message.jump_url, reason="r")
    again = await world.mod.slash(world.general, "mod block", post=message.jump_url, reason="r")
    assert again.ephemeral and "already blocked" in again.response.content
    assert await world.db.fetchval("SELECT count(*) FROM anon_blocks") == 1
    await world.mod.slash(thread, "circle close")
    closed = await world.mod.slash(world.general, "mod block", post=message.jump_url, reason="r")
    assert closed.ephemeral and "circle is closed" in closed.response.content
    assert await world.db.fetchval("SELECT count(*) FROM mod_log WHERE action = 'block'") == 1


async def test_blocks_list_and_unblock(world: World) -> None:
    """/mod blocks shows id, circle, label, reason and expiry; /mod unblock lifts one."""
    thread, message = await posted_circle(world)
    label = message.embeds[0].author.name.removeprefix("Anonymous · ")
    await world.mod.slash(
        world.general, "mod block", post=message.jump_url, reason="spam links", days=3
    )
    block_id = await world.db.fetchval("SELECT id FROM anon_blocks")
    listed = await world.mod.slash(world.general, "mod blocks")
    text = listed.response.content
    assert listed.ephemeral
    for part in (f"#{block_id}", "Tuesday circle", label, "spam links", "until <t:"):
        assert part in text
    missing = await world.mod.slash(world.general, "mod unblock", id=block_id + 50)
    assert "no active block" in missing.response.content
    lifted = await world.mod.slash(world.general, "mod unblock", id=block_id)
    assert f"Lifted block #{block_id}" in lifted.response.content
    [entry] = await logged(world, "unblock")
    assert entry["target_label"] == label
    allowed = await post(world.alice, thread, text="Thank you.")
    assert "will appear" in allowed[1].response.content
    empty = await world.mod.slash(world.general, "mod blocks")
    assert "No anonymous author is blocked" in empty.response.content


async def test_block_author_button_in_review_queue(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Block author on a held post blocks its key, rejects it, and clears its text."""
    caplog.set_level(logging.DEBUG)
    await staff(world)
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    assert {"Approve", "Reject", "Block author"} <= {
        c["label"] for row in held.components for c in row.to_dict()["components"]
    }
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    result = await world.mod.click(held, label="Block author")
    assert result.acknowledged
    decided = world.queue.history()[-1]
    assert decided.id == held.id
    assert "Author blocked" in decided.content and decided.embeds == []
    assert TEXT not in decided.content
    row = await world.db.fetchone("SELECT status, text FROM anon_posts")
    assert row["status"] == "rejected" and row["text"] is None
    assert anonymous_posts(thread) == []
    refused = await post(world.alice, thread, text="Another go.")
    assert REFUSED_POST in refused[1].response.content
    allowed = await post(world.bob, thread, text="Mine is fine.")
    assert "with the moderators" in allowed[1].response.content
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)
    await logged(world, "block")
    assert decided.components == []


# --- the queue ---------------------------------------------------------------------------


async def test_queue_lists_held_posts_and_reports_with_buttons(world: World) -> None:
    """/mod queue lists held posts and reports privately, oldest first, with working buttons."""
    await staff(world)
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    await world.env.advance_time(5)
    said = await world.alice.send(thread, "A named message.")
    await report(world.bob, thread, said)
    listing = await world.mod.slash(world.general, "mod queue")
    assert listing.ephemeral
    assert "1 held post and 1 open report, oldest first." in listing.response.content
    first, second = listing.followups
    assert first.ephemeral and second.ephemeral
    assert first.embeds[0].title == "Held for review · Tuesday circle"
    assert TEXT in (first.embeds[0].description or "")
    assert second.embeds[0].title == "Report from a member"
    approve = next(i for i in custom_ids(first.message) if i.startswith("ck:mod:approve:"))
    labels = {c["label"] for row in second.components for c in row["components"]}
    assert labels == {"Dismiss", "Mark handled"}
    approved = await world.mod.click(first.message, custom_id=approve)
    assert approved.acknowledged
    assert len(anonymous_posts(thread)) == 1
    tidied = next(m for m in world.queue.history() if m.id == held.id)
    assert "Approved by" in tidied.content and tidied.embeds == [] and tidied.components == []
    await logged(world, "approve")
    empty = await world.mod.slash(world.general, "mod queue")
    assert "1 open report, oldest first." in empty.response.content


async def test_queue_when_nothing_waits(world: World) -> None:
    """An empty queue says so."""
    await staff(world)
    result = await world.mod.slash(world.general, "mod queue")
    assert result.ephemeral and "Nothing is waiting" in result.response.content


async def test_queue_items_mention_only_the_moderator_role_when_asked(world: World) -> None:
    """Queue items mention the moderator role, and only it, only when the server asked."""
    await staff(world)
    thread, _ = await circle_with_members(world, review=True)
    said = await world.alice.send(thread, "Something.")
    mark = len(world.env.http_requests)
    await post(world.alice, thread)
    await report(world.bob, thread, said)
    for request in queue_requests(world, mark):
        assert request.json["allowed_mentions"]["parse"] == []
        assert not request.json["allowed_mentions"].get("roles")
        assert "<@" not in (request.json.get("content") or "")
    await world.admin.slash(world.general, "setup ping_moderators", enabled=True)
    mark = len(world.env.http_requests)
    await post(world.alice, thread, text="A second post.")
    await report(world.bob, thread, said, reason="And again.")
    sent = queue_requests(world, mark)
    assert len(sent) == 2
    for request in sent:
        assert request.json["content"] == f"<@&{world.moderators.id}>"
        assert request.json["allowed_mentions"]["parse"] == []
        roles = request.json["allowed_mentions"]["roles"]
        assert [int(r) for r in roles] == [world.moderators.id]
        assert not request.json["allowed_mentions"].get("users")
    assert world.queue.last_message.role_mentions[0].id == world.moderators.id


# --- reports -----------------------------------------------------------------------------


async def test_report_names_and_stores_no_reporter(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A report reaches the queue; the reporter's id is in no request, row or log line."""
    caplog.set_level(logging.DEBUG)
    await staff(world)
    thread, _ = await circle_with_members(world)
    long_text = "They posted where I work. " * 20
    said = await world.alice.send(thread, long_text)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    result = await report(world.bob, thread, said, reason="Outing a member.")
    assert result.ephemeral
    assert "won't see who sent it" in result.response.content
    queued = world.queue.last_message
    embed = queued.embeds[0]
    assert embed.title == "Report from a member"
    assert said.jump_url in [f.value for f in embed.fields]
    assert "Outing a member." in [f.value for f in embed.fields]
    assert f"<@{world.alice.id}>" in [f.value for f in embed.fields]
    assert long_text.strip()[:100] in (embed.description or "")
    assert len(embed.description or "") <= mod.SNAPSHOT_CHARS + 10
    assert queued.interaction_metadata is None
    assert not any(str(world.bob.id) in i for i in custom_ids(queued))
    assert [c.split(":")[3] for c in custom_ids(queued)] == ["dismissed", "handled"]
    assert_requests_do_not_unmask(world, mark, world.bob)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.bob)
    assert_logs_clean(caplog, world.bob, "Outing a member.")
    row = await world.db.fetchone("SELECT * FROM reports")
    assert row["contact_user_id"] is None and row["escalated"] == 0 and row["anonymous"] == 0
    assert world.bot.report_limits.counted() == 1


async def test_reporter_who_opts_in_is_stored_and_shown(world: World) -> None:
    """Answering yes to contact stores the reporter's id and shows a mention to moderators."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    said = await world.alice.send(thread, "Hello.")
    result = await report(world.bob, thread, said, contact="yes")
    assert "may contact you" in result.response.content
    row = await world.db.fetchone("SELECT contact_user_id FROM reports")
    assert row["contact_user_id"] == world.bob.id
    fields = {f.name: f.value for f in world.queue.last_message.embeds[0].fields}
    assert fields["Reporter"].startswith(f"<@{world.bob.id}>")
    sent = queue_requests(world, 0)[-1]
    assert sent.json["allowed_mentions"]["parse"] == []


async def test_report_button_on_anonymous_post_and_remove(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Report on an anonymous post, then Remove message: deleted by the bot, no one unmasked."""
    caplog.set_level(logging.DEBUG)
    thread, message = await posted_circle(world)
    assert "ck:mod:report" in custom_ids(message)
    label = message.embeds[0].author.name.removeprefix("Anonymous · ")
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await report(world.bob, thread, message, reason="Identifies a client.", button=True)
    queued = world.queue.last_message
    fields = {f.name: f.value for f in queued.embeds[0].fields}
    assert fields["Written by"] == f"Anonymous · {label}"
    assert TEXT in (queued.embeds[0].description or "")
    removed = await world.mod.click(queued, label="Remove message")
    assert removed.acknowledged
    assert anonymous_posts(thread) == []
    assert await world.db.fetchval("SELECT status FROM anon_posts") == "removed"
    assert await world.db.fetchval("SELECT status FROM reports") == "removed"
    assert await world.db.fetchval("SELECT snapshot FROM reports") is None
    tidied = world.queue.history()[-1]
    assert tidied.embeds == [] and "removed" in tidied.content
    [entry] = await logged(world, "remove")
    assert entry["target_label"] == label and entry["target_user_id"] is None
    for member in (world.alice, world.bob):
        assert_requests_do_not_unmask(world, mark, member)
        assert_new_rows_do_not_hold(before, await snapshot(world.db), member)
        assert_logs_clean(caplog, member, TEXT)


async def test_report_dismiss_and_mark_handled(world: World) -> None:
    """Dismiss and Mark handled close a report, drop its text and are logged; once only."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    said = await world.alice.send(thread, "One.")
    await report(world.bob, thread, said, reason="first")
    first = world.queue.last_message
    await report(world.bob, thread, said, reason="second")
    second = world.queue.last_message
    listing = await world.mod.slash(world.general, "mod queue")
    await world.mod.click(first, label="Dismiss")
    await world.mod.click(second, label="Mark handled")
    rows = await world.db.fetchall("SELECT status, snapshot, reason FROM reports ORDER BY id")
    assert [(r["status"], r["snapshot"], r["reason"]) for r in rows] == [
        ("dismissed", None, None),
        ("handled", None, None),
    ]
    await logged(world, "report dismissed")
    await logged(world, "report handled")
    stale = await world.mod.click(listing.followups[0].message, label="Dismiss")
    assert "already handled" in stale.response.content
    assert await world.db.fetchval("SELECT count(*) FROM mod_log WHERE action LIKE 'report%'") == 2
    assert (
        "Nothing is waiting" in (await world.mod.slash(world.general, "mod queue")).response.content
    )


@pytest.mark.parametrize("who", ["moderator", "keeper"])
async def test_report_about_staff_goes_to_escalation(world: World, who: str) -> None:
    """Reports about a moderator or keeper go to the escalation channel, not /mod queue."""
    await staff(world)
    escalation = world.guild.create_text_channel("escalation")
    await world.admin.slash(world.general, "setup escalation", channel=escalation)
    thread, _ = await circle_with_members(world)
    if who == "keeper":
        await world.mod.slash(thread, "circle keeper add", member=world.alice)
        author = world.alice
    else:
        author = world.mod
    said = await author.send(thread, "Do as I say.")
    queue_before = len(world.queue.history())
    await report(world.bob, thread, said, reason="Abuse of position.")
    assert len(world.queue.history()) == queue_before
    escalated = escalation.last_message
    assert escalated.embeds[0].title == "Report · about a moderator or keeper"
    assert escalated.role_mentions == []
    listing = await world.mod.slash(world.general, "mod queue")
    assert "Nothing is waiting" in listing.response.content
    decided = await world.admin.click(escalated, label="Mark handled")
    assert decided.acknowledged
    assert await world.db.fetchval("SELECT status FROM reports") == "handled"


async def test_reports_are_rate_limited_without_storing_who(world: World) -> None:
    """A sixth report in an hour is refused; the limit keeps only HMACs, purged after."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    said = await world.alice.send(thread, "Words.")
    for i in range(mod.REPORT_LIMIT):
        ok = await report(world.bob, thread, said, reason=f"reason {i}")
        assert "Thank you" in ok.response.content
    refused = await report(world.bob, thread, said, reason="one more")
    assert refused.ephemeral and "last hour" in refused.response.content
    assert await world.db.fetchval("SELECT count(*) FROM reports") == mod.REPORT_LIMIT
    other = await report(world.mod, thread, said)
    assert "Thank you" in other.response.content
    later = world.env.now() + timedelta(hours=2)
    assert world.bot.report_limits.purge(later) == mod.REPORT_LIMIT + 1
    assert world.bot.report_limits.counted() == 0


async def test_report_without_a_moderators_channel_keeps_nothing(world: World) -> None:
    """With no queue channel set, the reporter is told and nothing is stored."""
    said = await world.alice.send(world.general, "Hi.")
    result = await report(world.bob, world.general, said)
    assert result.ephemeral and "hasn't set up a moderators' channel" in result.response.content
    assert await world.db.fetchval("SELECT count(*) FROM reports") == 0
    assert world.bot.report_limits.counted() == 0


async def test_report_discord_refuses_keeps_nothing(world: World) -> None:
    """If Discord refuses the queue message, the report and its limit row are withdrawn."""
    await world.configure()
    said = await world.alice.send(world.general, "Hi.")
    world.env.inject_error("POST", f"/channels/{world.queue.id}/messages", status=403, code=50013)
    failed = await report(world.bob, world.general, said)
    assert failed.ephemeral and "Nothing was kept" in failed.response.content
    assert await world.db.fetchval("SELECT count(*) FROM reports") == 0
    assert world.bot.report_limits.counted() == 0


# --- named moderation --------------------------------------------------------------------


async def test_warn_sends_a_direct_message_and_records_it(world: World) -> None:
    """/mod warn DMs the member, records the warning and logs it with the member named."""
    await staff(world)
    result = await world.mod.slash(
        world.general, "mod warn", member=world.alice, reason="Please keep names out of it."
    )
    assert result.ephemeral and "they got a direct message" in result.response.content
    dm = world.alice.user.dm_channel.last_message
    assert dm is not None and "Please keep names out of it." in dm.content
    assert world.guild.name in dm.content
    record = await world.db.fetchone("SELECT * FROM mod_records")
    assert record["kind"] == "warning" and record["target_user_id"] == world.alice.id
    assert record["moderator_id"] == world.mod.id and record["dm_delivered"] == 1
    [entry] = await logged(world, "warn")
    assert entry["target_user_id"] == world.alice.id
    assert any(f"→ <@{world.alice.id}>" in m.content for m in world.modlog.history())


@pytest.mark.parametrize("route", ["open the DM", "send in the DM"])
async def test_warn_with_dms_closed_still_records(world: World, route: str) -> None:
    """When Discord refuses the DM (50007), the moderator is told and the warning is kept."""
    await staff(world)
    if route == "open the DM":
        path = "/users/@me/channels"
    else:
        path = f"/channels/{world.alice.user.dm_channel.id}/messages"
    world.env.inject_error("POST", path, status=403, code=50007, message="Cannot send messages")
    result = await world.mod.slash(world.general, "mod warn", member=world.alice, reason="Stop.")
    assert result.ephemeral
    assert "direct messages are closed" in result.response.content
    record = await world.db.fetchone("SELECT * FROM mod_records")
    assert record["kind"] == "warning" and record["dm_delivered"] == 0
    [entry] = await logged(world, "warn")
    assert "not delivered" in str(entry["details"])


async def test_timeout_times_the_member_out(world: World) -> None:
    """/mod timeout sets Discord's timeout for the given minutes, records and logs it."""
    await staff(world)
    mark = len(world.env.http_requests)
    result = await world.mod.slash(
        world.general, "mod timeout", member=world.bob, minutes=30, reason="cooling off"
    )
    assert result.ephemeral and "Timed out" in result.response.content
    [patch] = [
        r
        for r in world.env.http_requests[mark:]
        if r.method == "PATCH" and r.path == f"/guilds/{world.guild.id}/members/{world.bob.id}"
    ]
    until = datetime.fromisoformat(patch.json["communication_disabled_until"])
    assert until - world.env.now() == pytest.approx(timedelta(minutes=30), abs=timedelta(seconds=5))
    record = await world.db.fetchone("SELECT * FROM mod_records")
    assert record["kind"] == "timeout" and record["minutes"] == 30
    [entry] = await logged(world, "timeout")
    assert entry["target_user_id"] == world.bob.id


async def test_timeout_of_a_member_above_the_bot_is_refused(world: World) -> None:
    """Timing out a member above the bot's role is refused with why, before any request."""
    await staff(world)
    senior = world.guild.create_role("Senior", position=50)
    dana = world.guild.add_member(world.env.create_user("dana"), roles=[senior])
    mark = len(world.env.http_requests)
    result = await world.mod.slash(
        world.general, "mod timeout", member=dana, minutes=10, reason="r"
    )
    assert result.ephemeral
    assert "at or above mine" in result.response.content
    assert not [r for r in world.env.http_requests[mark:] if r.method == "PATCH"]
    assert await world.db.fetchval("SELECT count(*) FROM mod_records") == 0
    assert await world.db.fetchval("SELECT count(*) FROM mod_log WHERE action = 'timeout'") == 0


async def test_timeout_without_the_bot_permission_is_refused(world: World) -> None:
    """Without Timeout Members, the bot says what is missing and changes nothing."""
    await staff(world)
    me = world.bot.get_guild(world.guild.id).me
    # simcord's role handle has no edit, so the role is changed in its backend; the
    # GUILD_ROLE_UPDATE it emits reaches the bot's cache as it would from Discord.
    permissions = me.top_role.permissions
    permissions.moderate_members = False
    world.env.backend.edit_role(world.guild.id, me.top_role.id, {"permissions": permissions.value})
    mark = len(world.env.http_requests)
    result = await world.mod.slash(
        world.general, "mod timeout", member=world.bob, minutes=10, reason="r"
    )
    assert result.ephemeral
    assert "Timeout Members permission" in result.response.content
    assert not [r for r in world.env.http_requests[mark:] if r.method == "PATCH"]
    assert await world.db.fetchval("SELECT count(*) FROM mod_records") == 0


def test_timeout_refusal_rules() -> None:
    """The pure check names each thing Discord would refuse, in order of what to fix."""
    fine = {
        "bot_can_moderate": True,
        "bot_top_position": 5,
        "target_top_position": 2,
        "target_is_owner": False,
        "target_is_admin": False,
        "target_is_bot": False,
        "target_is_self": False,
    }
    assert mod.timeout_refusal(**fine) is None
    for change, expected in [
        ({"target_top_position": 5}, "at or above mine"),
        ({"bot_can_moderate": False}, "Timeout Members"),
        ({"target_is_owner": True}, "owner"),
        ({"target_is_admin": True}, "Administrator"),
        ({"target_is_self": True}, "yourself"),
    ]:
        refusal = mod.timeout_refusal(**{**fine, **change})
        assert refusal is not None and expected in refusal


async def test_notes_list_warnings_timeouts_and_notes_privately(world: World) -> None:
    """/mod note keeps a private note (out of the mod-log channel); /mod notes lists all."""
    await staff(world)
    await world.mod.slash(
        world.general, "mod note", member=world.carol, text="Asked for a break twice."
    )
    await world.mod.slash(world.general, "mod warn", member=world.carol, reason="Be gentle.")
    await world.mod.slash(
        world.general, "mod timeout", member=world.carol, minutes=5, reason="heated"
    )
    shown = await world.mod.slash(world.general, "mod notes", member=world.carol)
    text = shown.response.content
    assert shown.ephemeral
    assert text.index("timeout") < text.index("warning") < text.index("note")
    for part in ("Asked for a break twice.", "Be gentle.", "heated", "(5 min)"):
        assert part in text
    assert not any("Asked for a break" in m.content for m in world.modlog.history())
    await logged(world, "note")
    nothing = await world.mod.slash(world.general, "mod notes", member=world.bob)
    assert "No warnings, timeouts or notes" in nothing.response.content


# --- threads and channels ----------------------------------------------------------------


async def test_lock_and_unlock_a_circle_thread(world: World) -> None:
    """/mod lock and /mod unlock lock the circle's thread; repeats and other channels refused."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    mark = len(world.env.http_requests)
    locked = await world.mod.slash(thread, "mod lock")
    assert locked.ephemeral and "Thread locked" in locked.response.content
    assert world.bot.get_channel(thread.id).locked
    again = await world.mod.slash(thread, "mod lock")
    assert "already locked" in again.response.content
    unlocked = await world.mod.slash(thread, "mod unlock")
    assert "Thread unlocked" in unlocked.response.content
    assert not world.bot.get_channel(thread.id).locked
    patches = [
        r.json["locked"]
        for r in world.env.http_requests[mark:]
        if r.method == "PATCH" and r.path == f"/channels/{thread.id}"
    ]
    assert patches == [True, False]
    outside = await world.mod.slash(world.general, "mod lock")
    assert "inside a circle's thread" in outside.response.content
    await logged(world, "lock")
    await logged(world, "unlock")


async def test_slowmode_in_channel_and_thread(world: World) -> None:
    """/mod slowmode sets the delay where it is used, in a channel or a thread."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    mark = len(world.env.http_requests)
    result = await world.mod.slash(world.general, "mod slowmode", seconds=30)
    assert result.ephemeral and "30 seconds" in result.response.content
    off = await world.mod.slash(thread, "mod slowmode", seconds=0)
    assert "off" in off.response.content
    edits = {
        r.path: r.json["rate_limit_per_user"]
        for r in world.env.http_requests[mark:]
        if r.method == "PATCH" and "rate_limit_per_user" in (r.json or {})
    }
    assert edits == {f"/channels/{world.general.id}": 30, f"/channels/{thread.id}": 0}
    assert len(await logged(world, "slowmode")) == 2


# --- pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://discord.com/channels/1/2/3", mod.MessageRef(3, 1, 2)),
        ("<https://ptb.discord.com/channels/1/2/3>", mod.MessageRef(3, 1, 2)),
        ("https://discordapp.com/channels/1/2/3/", mod.MessageRef(3, 1, 2)),
        (" 123456789012345678 ", mod.MessageRef(123456789012345678)),
        ("12345", None),
        ("https://example.com/channels/1/2/3", None),
        ("", None),
    ],
)
def test_parse_message_ref(text: str, expected: mod.MessageRef | None) -> None:
    """Message links from every Discord host and bare ids are understood; nothing else."""
    assert mod.parse_message_ref(text) == expected


def test_reporter_keys_differ_per_server_person_and_process() -> None:
    """The rate-limit key changes with the server and the person, is not the id, and a new
    process (a restart) keys everyone afresh."""
    limits = mod.ReportLimits()
    key = limits.key(1, 42)
    assert key == limits.key(1, 42)
    assert key != limits.key(2, 42)
    assert key != limits.key(1, 43)
    assert b"42" not in key
    assert mod.ReportLimits().key(1, 42) != key


async def test_old_reports_are_purged_by_retention(db: Database) -> None:
    """Reports older than the server's retention go; open ones are returned for cleanup."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    await db.execute("INSERT INTO guild_config (guild_id, retention_days) VALUES (1, 7)")
    limits = mod.ReportLimits()
    for age, decide in [(10, False), (10, True), (2, False)]:
        filed = await mod.file_report(
            db,
            guild_id=1,
            channel_id=2,
            message_id=3,
            anonymous=False,
            escalated=False,
            snapshot_text="text",
            reason="reason",
            contact_user_id=None,
            limits=limits,
            reporter=limits.key(1, age),
            now=now - timedelta(days=age),
        )
        if decide:
            await mod.decide_report(db, filed.report.token, "handled", now=now)
    purged = await mod.purge_old_reports(db, now=now)
    assert [r.status for r in purged] == ["open"]
    assert await db.fetchval("SELECT count(*) FROM reports") == 1
