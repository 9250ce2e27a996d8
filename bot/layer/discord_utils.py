"""Small Discord-side helpers shared by cogs: who counts as a moderator, posting to the mod log."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import discord

from bot.db import Database
from bot.i18n import ENGLISH, N_, tr, translate_known
from bot.layer.errors import NO_MENTIONS, NotPermitted, UserFacingError
from bot.layer.i18n import server_language
from bot.services import modlog
from bot.services.config import GuildConfig, get_config

log = logging.getLogger(__name__)


def is_moderator(member: discord.Member, config: GuildConfig) -> bool:
    """Moderators have the configured moderator role or Manage Messages."""
    if member.guild_permissions.manage_messages or member.guild_permissions.administrator:
        return True
    return config.moderator_role_id is not None and any(
        role.id == config.moderator_role_id for role in member.roles
    )


def require_member(interaction: discord.Interaction[Any]) -> discord.Member:
    """The invoking member; UserFacingError outside a server."""
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise UserFacingError(N_("This only works inside a server."))
    return interaction.user


async def require_moderator(db: Database, interaction: discord.Interaction[Any]) -> GuildConfig:
    """The server's config, after checking the user is a moderator (UserFacingError if not)."""
    member = require_member(interaction)
    config = await get_config(db, member.guild.id)
    if not is_moderator(member, config):
        raise NotPermitted(N_("Only moderators can do that."))
    return config


def text_channel(guild: discord.Guild, channel_id: int | None) -> discord.TextChannel | None:
    channel = guild.get_channel(channel_id) if channel_id else None
    return channel if isinstance(channel, discord.TextChannel) else None


# The moderators' actions as the mod log names them. The database keeps the English word
# (it is looked up by it); the channel shows it in the server's language.
MOD_LOG_ACTIONS = (
    N_("remove"),
    N_("block"),
    N_("unblock"),
    N_("contact unblock"),
    N_("approve"),
    N_("reject"),
    N_("report dismissed"),
    N_("report handled"),
    N_("warn"),
    N_("timeout"),
    N_("note"),
    N_("lock"),
    N_("unlock"),
    N_("slowmode"),
    N_("setup"),
    N_("circle close"),
    N_("circle remove"),
    N_("circle admit"),
    N_("keeper add"),
    N_("keeper remove"),
    N_("contact waiting"),
    N_("contact reply"),
    N_("posting blocked"),
    N_("posting failing"),
    N_("channel gone"),
    N_("posting works again"),
)


def format_entry(entry: modlog.LogEntry, language: str = ENGLISH) -> str:
    """A mod-log entry as posted in the mod-log channel, in the server's `language`."""
    who = f"<@{entry.moderator_id}>" if entry.moderator_id else "Circlekeeper"
    target = ""
    if entry.target_user_id is not None:
        target = f" → <@{entry.target_user_id}>"
    elif entry.target_label:
        target = f" → {entry.target_label}"
    details = f": {entry.details}" if entry.details else ""
    return tr(
        language,
        "**{action}** by {who}{target}{details}",
        action=translate_known(language, entry.action),
        who=who,
        target=target,
        details=details,
    )[:2000]


async def log_language(db: Database, guild: discord.Guild) -> str:
    """The language new mod-log entries are written in: the server's (the log is its channel)."""
    return server_language(await get_config(db, guild.id), guild)


async def log_action(
    db: Database,
    guild: discord.Guild,
    *,
    moderator_id: int | None,
    action: str,
    target_user_id: int | None = None,
    target_label: str | None = None,
    details: str = "",
) -> modlog.LogEntry:
    """Record an action in the database, then post it to the mod-log channel if one is set.

    `details` is written in the server's language (`log_language`) and kept as written; the
    action is stored as its English word and shown in the server's language.
    A failure to post is logged and does not undo the action: the database row is the record.
    """
    entry = await modlog.record(
        db,
        guild_id=guild.id,
        moderator_id=moderator_id,
        action=action,
        now=discord.utils.utcnow(),
        target_user_id=target_user_id,
        target_label=target_label,
        details=details,
    )
    config = await get_config(db, guild.id)
    channel = text_channel(guild, config.modlog_channel_id)
    if channel is not None:
        try:
            await channel.send(
                format_entry(entry, server_language(config, guild)),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            log.warning("Could not post mod-log entry %s (HTTP %s)", entry.id, error.status)
    return entry


async def delete_queue_messages(
    db: Database, guild: discord.Guild, message_ids: Iterable[int | None]
) -> None:
    """Delete held posts' messages from the queue channel (they show the post's text) once
    the post itself is gone. Failures are logged only: the records are already deleted."""
    wanted = [m for m in message_ids if m is not None]
    if not wanted:
        return
    config = await get_config(db, guild.id)
    channel = text_channel(guild, config.queue_channel_id)
    if channel is None:
        return
    for message_id in wanted:
        try:
            await channel.get_partial_message(message_id).delete()
        except discord.NotFound:
            continue
        except discord.HTTPException as error:
            log.warning("Could not delete a queue message (HTTP %s)", error.status)


def content_note_input(
    language: str, max_length: int, default: str | None = None
) -> discord.ui.TextInput[Any]:
    """The optional content-note field of a form that shares words (a post, a share, a
    suggested prompt), in the writer's `language`."""
    return discord.ui.TextInput(
        label=tr(language, "Content note (optional)"),
        style=discord.TextStyle.short,
        max_length=max_length,
        required=False,
        custom_id="content_note",
        default=default,
        placeholder=tr(language, "e.g. violence, policing"),
    )
