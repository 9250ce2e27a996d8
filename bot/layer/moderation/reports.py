"""Filing a report: where it goes (the queue, or the escalation channel when it is about a
moderator or keeper) and what moderators see of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer.discord_utils import is_moderator, require_member, text_channel
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import member_language, server_language, tr
from bot.layer.moderation.helpers import ReportTarget, queue_ping, report_embed
from bot.layer.moderation.views import report_view
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import moderation as mod
from bot.services.config import GuildConfig, get_config

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)


async def _about_staff(
    bot: CircleBot, guild: discord.Guild, target: ReportTarget, config: GuildConfig
) -> bool:
    """Whether the reported member moderates this server or keeps the circle they wrote in."""
    author = guild.get_member(target.author_id)
    if author is None:
        try:
            author = await guild.fetch_member(target.author_id)
        except discord.HTTPException:
            author = None  # left the server, or a webhook: not staff
    if author is not None and is_moderator(author, config):
        return True
    circle = await circles.circle_for_thread(bot.db, target.channel_id)
    return circle is not None and await circles.is_keeper(bot.db, circle.id, target.author_id)


async def file_report(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    target: ReportTarget,
    *,
    reason: str,
    contact: bool,
) -> None:
    """Store a report and put it in front of the moderators (or the escalation channel).

    Nothing here is logged or stored about the reporter beyond the rate-limit HMAC, unless
    they agreed to be contacted.
    """
    member = require_member(interaction)
    guild = member.guild
    config = await get_config(bot.db, guild.id)
    # The moderators' channels are the server's own: its language. The reporter's reply: theirs.
    server = server_language(config, guild)
    me = bot.user
    post = None
    if me is not None and target.author_id == me.id:
        post = await anon.post_for_message(bot.db, target.message_id)
    escalated = False
    if post is not None:
        # Never ask who wrote an anonymous post: the label is all anyone learns.
        written_by = tr(server, "Anonymous · {label}", label=post.label)
    elif me is not None and target.author_id == me.id:
        written_by = "Circlekeeper"
    else:
        written_by = f"<@{target.author_id}>"
        escalated = await _about_staff(bot, guild, target, config)
    destination = text_channel(guild, config.escalation_channel_id) if escalated else None
    to_queue = destination is None
    if destination is None:
        destination = text_channel(guild, config.queue_channel_id)
    if destination is None:
        raise UserFacingError(
            N_(
                "This server hasn't set up a moderators' channel yet, so I can't pass reports "
                "on. Nothing was sent; please contact a moderator directly."
            )
        )
    filed = await mod.file_report(
        bot.db,
        guild_id=guild.id,
        channel_id=target.channel_id,
        message_id=target.message_id,
        anonymous=post is not None,
        escalated=escalated,
        snapshot_text=target.text,
        reason=reason,
        contact_user_id=member.id if contact else None,
        limits=bot.report_limits,
        reporter=bot.report_limits.key(guild.id, member.id),
        now=discord.utils.utcnow(),
    )
    ping, mentions = queue_ping(config) if to_queue else ("", NO_MENTIONS)
    try:
        sent = await destination.send(
            ping,
            embed=report_embed(filed.report, written_by, language=server),
            view=report_view(filed.report, server),
            allowed_mentions=mentions,
        )
    except discord.HTTPException as error:
        await mod.withdraw_report(bot.db, bot.report_limits, filed)
        log.warning("Could not deliver a report (HTTP %s)", error.status)
        raise UserFacingError(
            N_(
                "Discord wouldn't let me pass your report on. Nothing was kept; please try "
                "again in a moment, or contact a moderator directly."
            )
        ) from None
    await mod.set_report_message(bot.db, filed.report.id, destination.id, sent.id)
    await interaction.response.send_message(
        tr(
            member_language(interaction),
            "Thank you. Your report is with the moderators. They can see it came from you and "
            "may contact you."
            if contact
            else "Thank you. Your report is with the moderators. They won't see who sent it.",
        ),
        ephemeral=True,
    )
