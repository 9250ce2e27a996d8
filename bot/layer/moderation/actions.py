"""What moderators' decisions do: approve, reject or block held posts; decide reports;
find the anonymous post a moderator named, and remove it as the bot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.layer.discord_utils import is_moderator, log_action, require_member
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.moderation.helpers import until_text
from bot.layer.threads import get_thread
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import moderation as mod
from bot.services.anonymous import AnonPost
from bot.services.circles import Circle
from bot.services.config import describe_delay, get_config
from bot.services.moderation import ModerationError

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

BLOCKED_FROM_QUEUE = "blocked from the review queue"
REPORT_VERBS = {"removed": "message removed", "dismissed": "dismissed", "handled": "marked handled"}


async def _tidy(
    bot: CircleBot,
    guild: discord.Guild,
    channel_id: int | None,
    message_id: int | None,
    content: str,
    *,
    unless: discord.Message | None,
) -> None:
    """Replace a decided queue message by a one-line outcome, so its text leaves the channel
    and its buttons cannot be pressed again. Failures are only logged."""
    if channel_id is None or message_id is None:
        return
    if unless is not None and unless.id == message_id:
        return  # the interaction's own message, already edited
    channel = guild.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel):
        return
    try:
        await channel.get_partial_message(message_id).edit(
            content=content, embed=None, view=None, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as error:
        log.warning("Could not update queue message %s (HTTP %s)", message_id, error.status)


async def remove_post(bot: CircleBot, post: AnonPost, circle: Circle) -> None:
    """Delete an anonymous post's message as the bot, then mark it removed.

    The message goes first: if Discord refuses, nothing is changed.
    """
    thread = await get_thread(bot, circle)
    if thread is not None and post.message_id is not None:
        try:
            await thread.get_partial_message(post.message_id).delete()
        except discord.NotFound:
            pass  # already gone from Discord; the record still says what happened
        except discord.HTTPException:
            raise UserFacingError(
                "Discord wouldn't let me delete that post. Nothing was changed; please try "
                "again, and check that I can manage messages in the circle's thread."
            ) from None
    await anon.mark_removed(bot.db, post.id, now=discord.utils.utcnow())


async def decide_held_post(
    bot: CircleBot, interaction: discord.Interaction[Any], token: str, decision: str
) -> None:
    """Approve, reject, or block the author of (and reject) a post held for review."""
    member = require_member(interaction)
    config = await get_config(bot.db, member.guild.id)
    if not is_moderator(member, config):
        raise UserFacingError("Only moderators can decide on held posts.")
    post = await anon.get_post(bot.db, token)
    circle = await circles.get_circle(bot.db, post.circle_id) if post else None
    if post is None or circle is None or circle.guild_id != member.guild.id:
        raise UserFacingError("That post no longer exists (its circle may have closed).")
    if post.status != "review":
        raise UserFacingError("Another moderator already decided on this post.")
    if decision == "block" and not circle.is_open:
        raise UserFacingError("That circle is closed, so there is nothing to block.")
    try:
        result = await anon.decide_held(
            bot.db,
            token,
            decision,
            now=discord.utils.utcnow(),
            delay_max_seconds=config.delay_max_seconds,
            block_reason=BLOCKED_FROM_QUEUE,
        )
    except anon.NotFound:
        raise UserFacingError("Another moderator already decided on this post.") from None
    post, decided, block_id = result.post, result.decided, result.block_id
    if decision == "block":
        action, outcome = "block", f"Author blocked (block #{block_id}) and post rejected"
        details = f"in {circle.name} {until_text(None)}: {BLOCKED_FROM_QUEUE}"
        if not decided:
            outcome = f"Author blocked (block #{block_id}); another moderator had decided the post"
    else:
        action = decision
        outcome = "Approved" if decision == "approve" else "Rejected"
        details = f"held post in {circle.name}"
    content = f"{outcome} by {member.mention}: a post by {post.label}."
    if decision == "approve" and decided:
        content += f" It appears {describe_delay(config.delay_max_seconds)}."
    # Answer first: the mod-log post below may wait on Discord's rate limit, and the
    # interaction must be answered within three seconds.
    await interaction.response.edit_message(
        content=content, embed=None, view=None, allowed_mentions=NO_MENTIONS
    )
    await log_action(
        bot.db,
        member.guild,
        moderator_id=member.id,
        action=action,
        target_label=post.label,
        details=details,
    )
    config = await get_config(bot.db, member.guild.id)
    await _tidy(
        bot,
        member.guild,
        config.queue_channel_id,
        post.review_message_id,
        content,
        unless=interaction.message,
    )
    if decision == "approve" and decided:
        await bot.outbox.queued(post)


async def decide_report(
    bot: CircleBot, interaction: discord.Interaction[Any], token: str, decision: str
) -> None:
    """Remove the reported anonymous post, dismiss the report, or mark it handled."""
    member = require_member(interaction)
    config = await get_config(bot.db, member.guild.id)
    report = await mod.get_report(bot.db, token)
    if report is None or report.guild_id != member.guild.id:
        raise UserFacingError("That report no longer exists.")
    # Reports about moderators go to the escalation channel, where admins decide them.
    allowed = is_moderator(member, config) or (
        report.escalated and member.guild_permissions.manage_guild
    )
    if not allowed:
        raise UserFacingError("Only moderators can decide on reports.")
    if report.status != "open":
        raise UserFacingError("Another moderator already handled this report.")
    label = None
    removed_now = False
    if decision == "removed":
        post = await anon.post_for_message(bot.db, report.message_id) if report.anonymous else None
        circle = await circles.get_circle(bot.db, post.circle_id) if post else None
        if post is None or circle is None:
            raise UserFacingError(
                "That post no longer exists (its author deleted it, or its circle closed). "
                "Dismiss or mark the report handled instead."
            )
        label = post.label
        if post.status != "removed":
            await remove_post(bot, post, circle)
            removed_now = True
    try:
        report = await mod.decide_report(bot.db, token, decision, now=discord.utils.utcnow())
    except ModerationError:
        if not removed_now:
            raise
        # Another moderator closed the report meanwhile; the removal happened and is logged.
    if decision == "removed":
        action, details = "remove", f"anonymous post removed after report #{report.id}"
    else:
        action, details = f"report {decision}", f"report #{report.id}"
    content = f"Report #{report.id}: {REPORT_VERBS[decision]} by {member.mention}."
    await interaction.response.edit_message(
        content=content, embed=None, view=None, allowed_mentions=NO_MENTIONS
    )
    await log_action(
        bot.db,
        member.guild,
        moderator_id=member.id,
        action=action,
        target_label=label,
        details=details,
    )
    await _tidy(
        bot,
        member.guild,
        report.queue_channel_id,
        report.queue_message_id,
        content,
        unless=interaction.message,
    )


async def find_post(bot: CircleBot, guild: discord.Guild, text: str) -> tuple[AnonPost, Circle]:
    """The anonymous post a moderator named by link or id, in an open circle of this server."""
    ref = mod.parse_message_ref(text)
    if ref is None:
        raise UserFacingError(
            "That isn't a message link or id. Right-click the post (or long-press it), choose "
            "Copy Message Link, and paste it here."
        )
    if ref.guild_id is not None and ref.guild_id != guild.id:
        raise UserFacingError(
            "That link points to another server. I can only act on posts in this server."
        )
    post = await anon.post_for_message(bot.db, ref.message_id)
    circle = await circles.get_circle(bot.db, post.circle_id) if post else None
    if post is None or circle is None or circle.guild_id != guild.id:
        if ref.channel_id is not None:
            closed = await circles.circle_for_thread(bot.db, ref.channel_id)
            if closed is not None and closed.guild_id == guild.id and not closed.is_open:
                raise UserFacingError(
                    "That circle is closed: its anonymous posts and blocks ended with it."
                )
        raise UserFacingError(
            "That message isn't an anonymous post in one of this server's circles. "
            "This only works on posts the bot made for anonymous authors."
        )
    if not circle.is_open:
        raise UserFacingError(
            "That circle is closed: its anonymous posts and blocks ended with it."
        )
    return post, circle
