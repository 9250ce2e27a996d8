"""What moderators' decisions do: approve, reject or block held posts; decide reports;
find the anonymous post a moderator named, and remove it as the bot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer.discord_utils import is_moderator, log_action, require_member
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import delay_words, member_language, server_language, tr
from bot.layer.moderation.helpers import until_text
from bot.layer.threads import get_thread
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import moderation as mod
from bot.services.anonymous import AnonPost
from bot.services.circles import Circle
from bot.services.config import GuildConfig, get_config
from bot.services.moderation import ModerationError

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

BLOCKED_FROM_QUEUE = N_("blocked from the review queue")
REPORT_OUTCOMES = {
    "removed": N_("Report #{id}: message removed by {moderator}."),
    "dismissed": N_("Report #{id}: dismissed by {moderator}."),
    "handled": N_("Report #{id}: marked handled by {moderator}."),
}


def _languages(
    interaction: discord.Interaction[Any], config: GuildConfig, guild: discord.Guild
) -> tuple[str, str]:
    """The language of the decided message (a private `/mod queue` item reads the
    moderator's, a queue-channel message the server's), and the server's, for the mod log and
    the queue channel. An edit keeps the language the message was written in."""
    server = server_language(config, guild)
    message = interaction.message
    private = message is not None and message.flags.ephemeral
    return (member_language(interaction) if private else server), server


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
                N_(
                    "Discord wouldn't let me delete that post. Nothing was changed; please try "
                    "again, and check that I can manage messages in the circle's thread."
                )
            ) from None
    await anon.mark_removed(bot.db, post.id, now=discord.utils.utcnow())


async def decide_held_post(
    bot: CircleBot, interaction: discord.Interaction[Any], token: str, decision: str
) -> None:
    """Approve, reject, or block the author of (and reject) a post held for review."""
    member = require_member(interaction)
    config = await get_config(bot.db, member.guild.id)
    if not is_moderator(member, config):
        raise UserFacingError(N_("Only moderators can decide on held posts."))
    post = await anon.get_post(bot.db, token)
    circle = await circles.get_circle(bot.db, post.circle_id) if post else None
    if post is None or circle is None or circle.guild_id != member.guild.id:
        raise UserFacingError(N_("That post no longer exists (its circle may have closed)."))
    if post.status != "review":
        raise UserFacingError(N_("Another moderator already decided on this post."))
    if decision == "block" and not circle.is_open:
        raise UserFacingError(N_("That circle is closed, so there is nothing to block."))
    language, server = _languages(interaction, config, member.guild)
    try:
        result = await anon.decide_held(
            bot.db,
            token,
            decision,
            now=discord.utils.utcnow(),
            delay_max_seconds=config.delay_max_seconds,
            # Kept with the block as this English text; /mod blocks shows it in the reader's.
            block_reason=BLOCKED_FROM_QUEUE,
        )
    except anon.NotFound:
        raise UserFacingError(N_("Another moderator already decided on this post.")) from None
    post, decided, block_id = result.post, result.decided, result.block_id
    if decision == "block":
        action = "block"
        details = tr(
            server,
            "in {circle} {until}: {reason}",
            circle=circle.name,
            until=until_text(None, server),
            reason=tr(server, BLOCKED_FROM_QUEUE),
        )
    else:
        action = decision
        details = tr(server, "held post in {circle}", circle=circle.name)

    def outcome(language: str) -> str:
        """What happened, in `language`, for the message that showed the post."""
        values = {"moderator": member.mention, "label": post.label, "id": block_id}
        if decision == "block":
            text = tr(
                language,
                "Author blocked (block #{id}) and post rejected by {moderator}: a post by {label}."
                if decided
                else "Author blocked (block #{id}); another moderator had decided the post by "
                "{moderator}: a post by {label}.",
                **values,
            )
        else:
            text = tr(
                language,
                "Approved by {moderator}: a post by {label}."
                if decision == "approve"
                else "Rejected by {moderator}: a post by {label}.",
                **values,
            )
        if decision == "approve" and decided:
            when = delay_words(language, config.delay_max_seconds)
            text += " " + tr(language, "It appears {when}.", when=when)
        return text

    # Answer first: the mod-log post below may wait on Discord's rate limit, and the
    # interaction must be answered within three seconds.
    await interaction.response.edit_message(
        content=outcome(language), embed=None, view=None, allowed_mentions=NO_MENTIONS
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
        outcome(server),
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
        raise UserFacingError(N_("That report no longer exists."))
    # Reports about moderators go to the escalation channel, where admins decide them.
    allowed = is_moderator(member, config) or (
        report.escalated and member.guild_permissions.manage_guild
    )
    if not allowed:
        raise UserFacingError(N_("Only moderators can decide on reports."))
    if report.status != "open":
        raise UserFacingError(N_("Another moderator already handled this report."))
    language, server = _languages(interaction, config, member.guild)
    label = None
    removed_now = False
    if decision == "removed":
        post = await anon.post_for_message(bot.db, report.message_id) if report.anonymous else None
        circle = await circles.get_circle(bot.db, post.circle_id) if post else None
        if post is None or circle is None:
            raise UserFacingError(
                N_(
                    "That post no longer exists (its author deleted it, or its circle closed). "
                    "Dismiss or mark the report handled instead."
                )
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
        action = "remove"
        details = tr(server, "anonymous post removed after report #{id}", id=report.id)
    else:
        action, details = f"report {decision}", tr(server, "report #{id}", id=report.id)
    content = tr(language, REPORT_OUTCOMES[decision], id=report.id, moderator=member.mention)
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
        tr(server, REPORT_OUTCOMES[decision], id=report.id, moderator=member.mention),
        unless=interaction.message,
    )


CIRCLE_CLOSED = N_("That circle is closed: its anonymous posts and blocks ended with it.")


async def find_post(bot: CircleBot, guild: discord.Guild, text: str) -> tuple[AnonPost, Circle]:
    """The anonymous post a moderator named by link or id, in an open circle of this server."""
    ref = mod.parse_message_ref(text)
    if ref is None:
        raise UserFacingError(
            N_(
                "That isn't a message link or id. Right-click the post (or long-press it), "
                "choose Copy Message Link, and paste it here."
            )
        )
    if ref.guild_id is not None and ref.guild_id != guild.id:
        raise UserFacingError(
            N_("That link points to another server. I can only act on posts in this server.")
        )
    post = await anon.post_for_message(bot.db, ref.message_id)
    circle = await circles.get_circle(bot.db, post.circle_id) if post else None
    if post is None or circle is None or circle.guild_id != guild.id:
        if ref.channel_id is not None:
            closed = await circles.circle_for_thread(bot.db, ref.channel_id)
            if closed is not None and closed.guild_id == guild.id and not closed.is_open:
                raise UserFacingError(CIRCLE_CLOSED)
        raise UserFacingError(
            N_(
                "That message isn't an anonymous post in one of this server's circles. "
                "This only works on posts the bot made for anonymous authors."
            )
        )
    if not circle.is_open:
        raise UserFacingError(CIRCLE_CLOSED)
    return post, circle
