"""What the moderation modules share: how reports look, list-fitting, and input checks.

Nothing here calls Discord or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.i18n import ENGLISH, tr
from bot.layer.errors import NO_MENTIONS
from bot.services import moderation as mod
from bot.services.config import GuildConfig
from bot.services.moderation import Report

LIST_LIMIT = 1900  # leaves room under Discord's 2000 characters for a closing line
REPORT_COLOUR = discord.Colour.from_rgb(201, 124, 93)


def queue_ping(config: GuildConfig) -> tuple[str, discord.AllowedMentions]:
    """The mention for a new queue item: the moderator role when the server asked, else none."""
    if config.ping_moderators and config.moderator_role_id:
        return f"<@&{config.moderator_role_id}>", discord.AllowedMentions(
            everyone=False,
            users=False,
            roles=[discord.Object(config.moderator_role_id)],
            replied_user=False,
        )
    return "", NO_MENTIONS


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def report_embed(
    report: Report, written_by: str | None = None, *, language: str = ENGLISH
) -> discord.Embed:
    """A report as moderators see it, in `language`: what was said, where, why — never who
    reported it unless they asked to be contacted."""
    title = tr(
        language,
        "Report · about a moderator or keeper" if report.escalated else "Report from a member",
    )
    embed = discord.Embed(
        title=title, description=quoted(report.snapshot or "")[:4000], colour=REPORT_COLOUR
    )
    embed.add_field(name=tr(language, "Message"), value=report.jump_url, inline=False)
    if written_by:
        embed.add_field(name=tr(language, "Written by"), value=written_by[:1024], inline=True)
    embed.add_field(name=tr(language, "Reason"), value=(report.reason or "")[:1024], inline=False)
    reporter = (
        tr(
            language,
            "{reporter} (agreed to be contacted)",
            reporter=f"<@{report.contact_user_id}>",
        )
        if report.contact_user_id is not None
        else tr(language, "Not named (did not ask to be contacted)")
    )
    embed.add_field(name=tr(language, "Reporter"), value=reporter, inline=False)
    embed.set_footer(text=tr(language, "Report #{id}", id=report.id))
    embed.timestamp = report.created_at
    return embed


def until_text(expires_at: datetime | None, language: str = ENGLISH) -> str:
    if expires_at is None:
        return tr(language, "until lifted")
    return tr(language, "until {time}", time=discord.utils.format_dt(expires_at))


def fit_lines(lines: list[str], header: str, language: str = ENGLISH) -> str:
    """`header` and as many `lines` as fit in one message, saying how many were left out."""
    text = header
    for shown, line in enumerate(lines):
        if len(text) + len(line) + 1 > LIST_LIMIT:
            return text + "\n" + tr(language, "…and {count} more.", count=len(lines) - shown)
        text += "\n" + line
    return text


@dataclass(frozen=True, slots=True)
class ReportTarget:
    """The reported message, captured when the reporter opened the form."""

    channel_id: int
    message_id: int
    author_id: int
    text: str
    jump_url: str

    @classmethod
    def of(cls, message: discord.Message) -> ReportTarget:
        text = message.content or ""
        if not text.strip() and message.embeds:
            text = message.embeds[0].description or ""
        return cls(message.channel.id, message.id, message.author.id, text, message.jump_url)


def clean_input(text: str, what: str, limit: int = mod.MAX_REASON) -> str:
    return mod.clean_text(text, what=what, limit=limit)
