"""`/mod`, "Report to moderators" and the moderators' buttons.

Rules this module keeps (see DESIGN.md, threat model):
- anonymous posts are removed by the bot itself, so no audit-log entry names their author;
- authors of anonymous posts are blocked by the post's label key: nothing here computes or
  stores whose key it is, and nothing is logged about them but their public label;
- a report names no reporter, and no reporter id is stored unless the reporter agreed to be
  contacted; the rate limit keeps only an HMAC of the reporter;
- custom ids hold random tokens, never ids of people;
- queue items mention only the configured moderator role, and only when the server asked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.client import CircleBot
from bot.discord_utils import (
    is_moderator,
    log_action,
    require_member,
    require_moderator,
    text_channel,
)
from bot.errors import NO_MENTIONS, ErrorHandlingModal, GuardedItem, UserFacingError
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import moderation as mod
from bot.services.anonymous import AnonError, AnonPost
from bot.services.circles import Circle
from bot.services.config import GuildConfig, get_config
from bot.services.moderation import ModerationError, Report
from cogs.anonymous import Anonymous, post_embed
from cogs.circles.cog import get_thread

log = logging.getLogger(__name__)

QUEUE_ITEMS_SHOWN = 10
PURGE_MINUTES = 60
LIST_LIMIT = 1900  # leaves room under Discord's 2000 characters for a closing line
REPORT_COLOUR = discord.Colour.from_rgb(201, 124, 93)
BLOCKED_FROM_QUEUE = "blocked from the review queue"
REPORT_VERBS = {"removed": "message removed", "dismissed": "dismissed", "handled": "marked handled"}
RECORD_WORDS = {"warning": "warning", "timeout": "timeout", "note": "note"}
HELD_BUTTONS = {
    "approve": ("Approve", discord.ButtonStyle.success),
    "reject": ("Reject", discord.ButtonStyle.danger),
    "block": ("Block author", discord.ButtonStyle.secondary),
}
REPORT_BUTTONS = {
    "removed": ("Remove message", discord.ButtonStyle.danger),
    "dismissed": ("Dismiss", discord.ButtonStyle.secondary),
    "handled": ("Mark handled", discord.ButtonStyle.success),
}


# --- pure helpers ------------------------------------------------------------------------


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


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def report_embed(report: Report, written_by: str | None = None) -> discord.Embed:
    """A report as moderators see it: what was said, where, why — never who reported it
    unless they asked to be contacted."""
    title = "Report · about a moderator or keeper" if report.escalated else "Report"
    embed = discord.Embed(
        title=title, description=_quoted(report.snapshot or "")[:4000], colour=REPORT_COLOUR
    )
    embed.add_field(name="Message", value=report.jump_url, inline=False)
    if written_by:
        embed.add_field(name="Written by", value=written_by[:1024], inline=True)
    embed.add_field(name="Reason", value=(report.reason or "")[:1024], inline=False)
    reporter = (
        f"<@{report.contact_user_id}> (agreed to be contacted)"
        if report.contact_user_id is not None
        else "Not named (did not ask to be contacted)"
    )
    embed.add_field(name="Reporter", value=reporter, inline=False)
    embed.set_footer(text=f"Report #{report.id}")
    embed.timestamp = report.created_at
    return embed


def _until(expires_at: datetime | None) -> str:
    return "until lifted" if expires_at is None else f"until {discord.utils.format_dt(expires_at)}"


def _fit(lines: list[str], header: str) -> str:
    """`header` and as many `lines` as fit in one message, saying how many were left out."""
    text = header
    for shown, line in enumerate(lines):
        if len(text) + len(line) + 1 > LIST_LIMIT:
            return f"{text}\n…and {len(lines) - shown} more."
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


# --- buttons and forms -------------------------------------------------------------------


class ReportModal(ErrorHandlingModal):
    """What is wrong, and whether moderators may contact the reporter (no by default)."""

    def __init__(self, target: ReportTarget) -> None:
        super().__init__(title="Report to moderators", timeout=900)
        self.target = target
        self.reason: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="What's wrong?",
            style=discord.TextStyle.paragraph,
            max_length=mod.MAX_REASON,
            custom_id="reason",
            placeholder="Moderators see this, the message and a link to it — not your name.",
        )
        self.contact: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="May moderators contact you? Type yes or no",
            style=discord.TextStyle.short,
            max_length=10,
            required=False,
            custom_id="contact",
            placeholder="Empty means no: your name stays out of the report.",
        )
        self.add_item(self.reason)
        self.add_item(self.contact)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await file_report(
            bot,
            interaction,
            self.target,
            reason=self.reason.value,
            contact=mod.wants_contact(self.contact.value),
        )


class ReportButton(
    GuardedItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ck:mod:report"
):
    """Report, on every anonymous post: the reported message is the one carrying the button."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Report", style=discord.ButtonStyle.secondary, custom_id="ck:mod:report"
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ReportButton:
        return cls()

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        require_member(interaction)
        if interaction.message is None:
            raise UserFacingError("That message is gone, so there is nothing to report.")
        await interaction.response.send_modal(ReportModal(ReportTarget.of(interaction.message)))


class HeldPostButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ck:mod:(?P<decision>approve|reject|block):(?P<token>[A-Za-z0-9_-]+)",
):
    """Block author beside Approve / Reject in the queue; all three in `/mod queue`."""

    def __init__(self, decision: str, token: str) -> None:
        label, style = HELD_BUTTONS[decision]
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"ck:mod:{decision}:{token}",
            )
        )
        self.decision = decision
        self.token = token

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> HeldPostButton:
        return cls(match["decision"], match["token"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await decide_held_post(interaction.client, interaction, self.token, self.decision)


class ReportDecisionButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ck:mod:report:(?P<decision>removed|dismissed|handled):(?P<token>[A-Za-z0-9_-]+)",
):
    """Remove message / Dismiss / Mark handled on a report."""

    def __init__(self, decision: str, token: str) -> None:
        label, style = REPORT_BUTTONS[decision]
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"ck:mod:report:{decision}:{token}",
            )
        )
        self.decision = decision
        self.token = token

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ReportDecisionButton:
        return cls(match["decision"], match["token"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await decide_report(interaction.client, interaction, self.token, self.decision)


def add_review_buttons(view: discord.ui.View, token: str) -> None:
    """Block author, for the review queue's held posts (cogs.anonymous builds that view)."""
    view.add_item(HeldPostButton("block", token))


def add_post_buttons(view: discord.ui.View) -> None:
    """Report, for every anonymous post (cogs.anonymous builds that view)."""
    view.add_item(ReportButton())


def held_view(token: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for decision in ("approve", "reject", "block"):
        view.add_item(HeldPostButton(decision, token))
    return view


def report_view(report: Report) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    # Only the bot's own anonymous posts can be removed from here: a member's message is
    # theirs, and deleting it as the bot would hide who removed it.
    decisions = (
        ("removed", "dismissed", "handled") if report.anonymous else ("dismissed", "handled")
    )
    for decision in decisions:
        view.add_item(ReportDecisionButton(decision, report.token))
    return view


# --- the flows ---------------------------------------------------------------------------


def _user_message(error: AnonError | ModerationError) -> UserFacingError:
    return UserFacingError(error.message)


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
    if not is_moderator(member, await get_config(bot.db, member.guild.id)):
        raise UserFacingError("Only moderators can decide on held posts.")
    post = await anon.get_post(bot.db, token)
    circle = await circles.get_circle(bot.db, post.circle_id) if post else None
    if post is None or circle is None or circle.guild_id != member.guild.id:
        raise UserFacingError("That post no longer exists (its circle may have closed).")
    if post.status != "review":
        raise UserFacingError("Another moderator already decided on this post.")
    now = discord.utils.utcnow()
    block_id = None
    if decision == "block":
        if not circle.is_open:
            raise UserFacingError("That circle is closed, so there is nothing to block.")
        try:
            block_id = await anon.block(
                bot.db,
                circle.id,
                post.label_key,
                post.label,
                reason=BLOCKED_FROM_QUEUE,
                now=now,
                expires_at=None,
            )
        except AnonError as error:
            raise _user_message(error) from None
    try:
        if decision == "approve":
            post = await anon.approve(bot.db, token, now=now)
        else:
            post = await anon.reject(bot.db, token, now=now)
        decided = True
    except AnonError:
        if block_id is None:
            raise UserFacingError("Another moderator already decided on this post.") from None
        decided = False  # blocked all the same; someone else decided on the post meanwhile
    if decision == "block":
        action, outcome = "block", f"Author blocked (block #{block_id}) and post rejected"
        details = f"in {circle.name} {_until(None)}: {BLOCKED_FROM_QUEUE}"
        if not decided:
            outcome = f"Author blocked (block #{block_id}); another moderator had decided the post"
    else:
        action = decision
        outcome = "Approved" if decision == "approve" else "Rejected"
        details = f"held post in {circle.name}"
    await log_action(
        bot.db,
        member.guild,
        moderator_id=member.id,
        action=action,
        target_label=post.label,
        details=details,
    )
    content = f"{outcome} by {member.mention}: a post by {post.label}."
    await interaction.response.edit_message(
        content=content, embed=None, view=None, allowed_mentions=NO_MENTIONS
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
    if decision == "approve":
        cog = bot.get_cog("Anonymous")
        if isinstance(cog, Anonymous):
            await cog.deliver_due()


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
    except ModerationError as error:
        if not removed_now:
            raise _user_message(error) from None
        # Another moderator closed the report meanwhile; the removal happened and is logged.
    if decision == "removed":
        action, details = "remove", f"anonymous post removed after report #{report.id}"
    else:
        action, details = f"report {decision}", f"report #{report.id}"
    await log_action(
        bot.db,
        member.guild,
        moderator_id=member.id,
        action=action,
        target_label=label,
        details=details,
    )
    content = f"Report #{report.id}: {REPORT_VERBS[decision]} by {member.mention}."
    await interaction.response.edit_message(
        content=content, embed=None, view=None, allowed_mentions=NO_MENTIONS
    )
    await _tidy(
        bot,
        member.guild,
        report.queue_channel_id,
        report.queue_message_id,
        content,
        unless=interaction.message,
    )


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
    me = bot.user
    post = None
    if me is not None and target.author_id == me.id:
        post = await anon.post_for_message(bot.db, target.message_id)
    escalated = False
    if post is not None:
        # Never ask who wrote an anonymous post: the label is all anyone learns.
        written_by = f"Anonymous · {post.label}"
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
            "This server hasn't set up a moderators' channel yet, so I can't pass reports on. "
            "Nothing was sent; please contact a moderator directly."
        )
    try:
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
            reporter=mod.reporter_key(bot.settings.secret, guild.id, member.id),
            now=discord.utils.utcnow(),
        )
    except ModerationError as error:
        raise _user_message(error) from None
    ping, mentions = queue_ping(config) if to_queue else ("", NO_MENTIONS)
    try:
        sent = await destination.send(
            ping,
            embed=report_embed(filed.report, written_by),
            view=report_view(filed.report),
            allowed_mentions=mentions,
        )
    except discord.HTTPException as error:
        await mod.withdraw_report(bot.db, filed)
        log.warning("Could not deliver a report (HTTP %s)", error.status)
        raise UserFacingError(
            "Discord wouldn't let me pass your report on. Nothing was kept; please try again "
            "in a moment, or contact a moderator directly."
        ) from None
    await mod.set_report_message(bot.db, filed.report.id, destination.id, sent.id)
    who = (
        "They can see it came from you and may contact you."
        if contact
        else "They won't see who sent it."
    )
    await interaction.response.send_message(
        f"Thank you. Your report is with the moderators. {who}", ephemeral=True
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


def _clean(text: str, what: str, limit: int = mod.MAX_REASON) -> str:
    try:
        return mod.clean_text(text, what=what, limit=limit)
    except ModerationError as error:
        raise _user_message(error) from None


# --- the cog -----------------------------------------------------------------------------


@app_commands.guild_only()
@app_commands.default_permissions(manage_messages=True)
class Moderation(commands.GroupCog, group_name="mod"):
    """Moderator tools: the queue, removals, blocks, warnings, timeouts, notes, locks."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.report_menu = app_commands.ContextMenu(
            name="Report to moderators", callback=self.report_message
        )
        self.report_menu.guild_only = True
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.report_menu)
        self.purge.start()

    async def cog_unload(self) -> None:
        self.purge.cancel()
        self.bot.tree.remove_command(self.report_menu.name, type=self.report_menu.type)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # Discord hides /mod from members without Manage Messages, but a server can show it
        # to anyone (and must, for a moderator role without that permission): check again.
        await require_moderator(self.bot.db, interaction)
        return True

    async def _log(
        self,
        interaction: discord.Interaction[Any],
        action: str,
        *,
        target_user_id: int | None = None,
        target_label: str | None = None,
        details: str = "",
    ) -> None:
        member = require_member(interaction)
        await log_action(
            self.bot.db,
            member.guild,
            moderator_id=member.id,
            action=action,
            target_user_id=target_user_id,
            target_label=target_label,
            details=details,
        )

    async def _reply(self, interaction: discord.Interaction[Any], content: str) -> None:
        await interaction.response.send_message(
            content, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # reporting (every member) --------------------------------------------------------------

    async def report_message(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """Tell the moderators about a message, without your name unless you want it there."""
        require_member(interaction)
        await interaction.response.send_modal(ReportModal(ReportTarget.of(message)))

    # the queue -----------------------------------------------------------------------------

    @app_commands.command(name="queue")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        """Privately list held anonymous posts and open reports, oldest first, with buttons."""
        member = require_member(interaction)
        config = await get_config(self.bot.db, member.guild.id)
        open_circles = {c.id: c for c in await circles.open_circles(self.bot.db, member.guild.id)}
        held = await anon.pending_reviews(self.bot.db, list(open_circles))
        reports = [
            r
            for r in await mod.open_reports(self.bot.db, member.guild.id)
            # Reports about moderators that went to the escalation channel stay there.
            if not r.escalated or r.queue_channel_id == config.queue_channel_id
        ]
        items: list[tuple[datetime, AnonPost | Report]] = [(p.created_at, p) for p in held]
        items += [(r.created_at, r) for r in reports]
        items.sort(key=lambda item: item[0])
        if not items:
            await self._reply(interaction, "Nothing is waiting: no held posts and no open reports.")
            return
        summary = f"{len(held)} held post(s) and {len(reports)} open report(s), oldest first."
        if len(items) > QUEUE_ITEMS_SHOWN:
            summary += f" Showing the first {QUEUE_ITEMS_SHOWN}; decide those to see the rest."
        await self._reply(interaction, summary)
        for _, item in items[:QUEUE_ITEMS_SHOWN]:
            if isinstance(item, Report):
                await interaction.followup.send(
                    embed=report_embed(item),
                    view=report_view(item),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
                continue
            circle = open_circles[item.circle_id]
            embed = post_embed(item.label, item.text or "", item.content_note, item.quote_link)
            embed.title = f"Held for review · {circle.name}"
            await interaction.followup.send(
                embed=embed,
                view=held_view(item.token),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    # anonymous posts -----------------------------------------------------------------------

    @app_commands.command(name="remove")
    @app_commands.describe(
        post="Link to the anonymous post (Copy Message Link) or its message id",
        reason="Why it is removed (kept in the mod log)",
    )
    async def remove(
        self,
        interaction: discord.Interaction[Any],
        post: str,
        reason: app_commands.Range[str, 1, mod.MAX_REASON],
    ) -> None:
        """Remove an anonymous post; the bot deletes it, so no one learns who wrote it."""
        member = require_member(interaction)
        cleaned = _clean(reason, "The reason")
        found, circle = await find_post(self.bot, member.guild, post)
        if found.status == "removed":
            raise UserFacingError("That post was already removed.")
        await remove_post(self.bot, found, circle)
        await self._log(
            interaction,
            "remove",
            target_label=found.label,
            details=f"anonymous post in {circle.name}: {cleaned}",
        )
        await self._reply(
            interaction,
            f"Removed the post by **{found.label}** in {circle.name}. Its author sees it as "
            "removed in `/anon mine`; nobody learns who wrote it.",
        )

    @app_commands.command(name="block")
    @app_commands.describe(
        post="Link to one of the author's anonymous posts (Copy Message Link) or its id",
        reason="Why (kept in the mod log and shown in /mod blocks)",
        days="How many days the block lasts (1-365); leave empty to block until lifted",
    )
    async def block(
        self,
        interaction: discord.Interaction[Any],
        post: str,
        reason: app_commands.Range[str, 1, mod.MAX_REASON],
        days: app_commands.Range[int, 1, 365] | None = None,
    ) -> None:
        """Stop a post's anonymous author posting anonymously in that circle, unseen."""
        member = require_member(interaction)
        cleaned = _clean(reason, "The reason")
        found, circle = await find_post(self.bot, member.guild, post)
        now = discord.utils.utcnow()
        try:
            expires_at = mod.block_expiry(now, days)
            block_id = await anon.block(
                self.bot.db,
                circle.id,
                found.label_key,
                found.label,
                reason=cleaned,
                now=now,
                expires_at=expires_at,
            )
        except ValueError as error:
            raise UserFacingError(str(error)) from None
        except AnonError as error:
            raise _user_message(error) from None
        await self._log(
            interaction,
            "block",
            target_label=found.label,
            details=f"in {circle.name} {_until(expires_at)}: {cleaned}",
        )
        strict = (
            " This is a strict circle, so the block also ends when the bot restarts."
            if circle.strict
            else ""
        )
        await self._reply(
            interaction,
            f"Blocked **{found.label}** from anonymous posting in {circle.name} "
            f"{_until(expires_at)} (block #{block_id}). Nobody, you included, learns who this "
            f"is. `/mod unblock {block_id}` lifts it.{strict}",
        )

    @app_commands.command(name="blocks")
    async def blocks(self, interaction: discord.Interaction[Any]) -> None:
        """Privately list active blocks on anonymous authors in this server's circles."""
        member = require_member(interaction)
        names = {c.id: c.name for c in await circles.open_circles(self.bot.db, member.guild.id)}
        active = await anon.blocks(self.bot.db, list(names), now=discord.utils.utcnow())
        if not active:
            await self._reply(interaction, "No anonymous author is blocked in this server.")
            return
        lines = [
            f"`#{b.id}` · {names[b.circle_id]} · **{b.label}** · {_until(b.expires_at)}"
            f" · {b.reason or 'no reason given'}"
            for b in active
        ]
        await self._reply(interaction, _fit(lines, "**Active blocks** (`/mod unblock id`):"))

    @app_commands.command(name="unblock")
    @app_commands.describe(id="The block's number, from /mod blocks")
    async def unblock(self, interaction: discord.Interaction[Any], id: int) -> None:
        """Lift a block on an anonymous author."""
        member = require_member(interaction)
        names = {c.id: c.name for c in await circles.open_circles(self.bot.db, member.guild.id)}
        active = await anon.blocks(self.bot.db, list(names), now=discord.utils.utcnow())
        found = next((b for b in active if b.id == id), None)
        if found is None or not await anon.unblock(self.bot.db, id, list(names)):
            raise UserFacingError(
                f"There is no active block #{id} in this server. `/mod blocks` lists them."
            )
        await self._log(
            interaction,
            "unblock",
            target_label=found.label,
            details=f"block #{id} in {names[found.circle_id]}",
        )
        await self._reply(
            interaction, f"Lifted block #{id}: **{found.label}** may post anonymously again."
        )

    # named moderation ----------------------------------------------------------------------

    @app_commands.command(name="warn")
    @app_commands.describe(
        member="Who to warn", reason="What they are warned about (sent to them privately)"
    )
    async def warn(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        reason: app_commands.Range[str, 1, mod.MAX_REASON],
    ) -> None:
        """Warn a member by direct message, and record it."""
        moderator = require_member(interaction)
        cleaned = _clean(reason, "The reason")
        if member.bot:
            raise UserFacingError("Bots can't be warned.")
        try:
            await member.send(
                f"**A message from the moderators of {moderator.guild.name}**\n\n{cleaned}\n\n"
                "If you want to talk about it, you can reach the moderators in the server.",
                allowed_mentions=NO_MENTIONS,
            )
            delivered = True
        except discord.HTTPException as error:
            delivered = False
            log.info("A warning could not be sent by direct message (HTTP %s)", error.status)
        await mod.add_record(
            self.bot.db,
            guild_id=moderator.guild.id,
            kind="warning",
            target_user_id=member.id,
            moderator_id=moderator.id,
            text=cleaned,
            now=discord.utils.utcnow(),
            dm_delivered=delivered,
        )
        undelivered = "" if delivered else " (not delivered: their direct messages are closed)"
        await self._log(
            interaction, "warn", target_user_id=member.id, details=f"{cleaned}{undelivered}"
        )
        if delivered:
            await self._reply(interaction, f"Warned {member.mention}; they got a direct message.")
        else:
            await self._reply(
                interaction,
                f"Recorded the warning for {member.mention}, but Discord wouldn't let me message "
                "them (their direct messages are closed to me). Please let them know another way.",
            )

    @app_commands.command(name="timeout")
    @app_commands.describe(
        member="Who to time out",
        minutes="How long, in minutes (1-40320, that is up to 28 days)",
        reason="Why (kept in the mod log and Discord's audit log)",
    )
    async def timeout(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        minutes: app_commands.Range[int, 1, 40320],
        reason: app_commands.Range[str, 1, mod.MAX_REASON],
    ) -> None:
        """Time a member out: they can read but not talk or react for a while."""
        moderator = require_member(interaction)
        cleaned = _clean(reason, "The reason")
        guild = moderator.guild
        me = guild.me
        refusal = mod.timeout_refusal(
            bot_can_moderate=me.guild_permissions.moderate_members,
            bot_top_position=me.top_role.position,
            target_top_position=member.top_role.position,
            target_is_owner=member.id == guild.owner_id,
            target_is_admin=member.guild_permissions.administrator,
            target_is_bot=member.id == me.id,
            target_is_self=member.id == moderator.id,
        )
        if refusal is not None:
            raise UserFacingError(refusal)
        try:
            await member.timeout(timedelta(minutes=minutes), reason=cleaned)
        except discord.Forbidden:
            raise UserFacingError(
                "Discord refused the timeout. Check that my role has Timeout Members and sits "
                "above theirs. Nothing was changed."
            ) from None
        except discord.HTTPException:
            raise UserFacingError(
                "Discord had a problem with the timeout. Nothing was changed; please try again."
            ) from None
        now = discord.utils.utcnow()
        await mod.add_record(
            self.bot.db,
            guild_id=guild.id,
            kind="timeout",
            target_user_id=member.id,
            moderator_id=moderator.id,
            text=cleaned,
            now=now,
            minutes=minutes,
        )
        await self._log(
            interaction, "timeout", target_user_id=member.id, details=f"{minutes} min: {cleaned}"
        )
        until = discord.utils.format_dt(now + timedelta(minutes=minutes))
        await self._reply(interaction, f"Timed out {member.mention} until {until}.")

    @app_commands.command(name="note")
    @app_commands.describe(member="Who the note is about", text="The note (moderators only)")
    async def note(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        text: app_commands.Range[str, 1, mod.MAX_NOTE],
    ) -> None:
        """Add a private note about a member, for moderators only."""
        moderator = require_member(interaction)
        cleaned = _clean(text, "The note", mod.MAX_NOTE)
        await mod.add_record(
            self.bot.db,
            guild_id=moderator.guild.id,
            kind="note",
            target_user_id=member.id,
            moderator_id=moderator.id,
            text=cleaned,
            now=discord.utils.utcnow(),
        )
        # The note's text stays out of the mod-log channel: /mod notes shows it on request.
        await self._log(interaction, "note", target_user_id=member.id, details="private note added")
        await self._reply(
            interaction, f"Noted. `/mod notes` shows the notes about {member.mention}."
        )

    @app_commands.command(name="notes")
    @app_commands.describe(member="Whose record to show")
    async def notes(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        """Privately show warnings, timeouts and notes about a member."""
        moderator = require_member(interaction)
        records = await mod.records_about(self.bot.db, moderator.guild.id, member.id)
        if not records:
            await self._reply(
                interaction, f"No warnings, timeouts or notes about {member.mention}."
            )
            return
        lines = []
        for r in records:
            by = f" by <@{r.moderator_id}>" if r.moderator_id else ""
            extra = f" ({r.minutes} min)" if r.minutes else ""
            if r.dm_delivered is False:
                extra += " (direct message not delivered)"
            lines.append(
                f"• {discord.utils.format_dt(r.created_at, 'd')} **{RECORD_WORDS[r.kind]}**"
                f"{extra}{by}: {r.text}"
            )
        await self._reply(interaction, _fit(lines, f"**About {member.mention}**, newest first:"))

    # threads and channels ------------------------------------------------------------------

    async def _circle_thread(self, interaction: discord.Interaction[Any]) -> discord.Thread:
        channel = interaction.channel
        if not isinstance(channel, discord.Thread):
            raise UserFacingError("Use this inside a circle's thread.")
        circle = await circles.circle_for_thread(self.bot.db, channel.id)
        if circle is None:
            raise UserFacingError("Use this inside a circle's thread.")
        if not circle.is_open:
            raise UserFacingError("This circle is closed.")
        return channel

    async def _set_lock(self, interaction: discord.Interaction[Any], locked: bool) -> None:
        thread = await self._circle_thread(interaction)
        word = "locked" if locked else "unlocked"
        if thread.locked == locked:
            raise UserFacingError(f"This thread is already {word}.")
        try:
            await thread.edit(locked=locked)
        except discord.Forbidden:
            raise UserFacingError(
                "Discord wouldn't let me: I need Manage Threads here. Nothing was changed."
            ) from None
        await self._log(interaction, "lock" if locked else "unlock", details=thread.name)
        more = (
            "Only moderators can post until `/mod unlock`." if locked else "Members can post again."
        )
        await self._reply(interaction, f"Thread {word}. {more}")

    @app_commands.command(name="lock")
    async def lock(self, interaction: discord.Interaction[Any]) -> None:
        """Lock this circle's thread: members can read but not post."""
        await self._set_lock(interaction, True)

    @app_commands.command(name="unlock")
    async def unlock(self, interaction: discord.Interaction[Any]) -> None:
        """Unlock this circle's thread."""
        await self._set_lock(interaction, False)

    @app_commands.command(name="slowmode")
    @app_commands.describe(seconds="Seconds members wait between messages (0-21600; 0 = off)")
    async def slowmode(
        self,
        interaction: discord.Interaction[Any],
        seconds: app_commands.Range[int, 0, 21600],
    ) -> None:
        """Set slow mode in this channel or thread."""
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise UserFacingError("Use this in a text channel or a thread.")
        try:
            await channel.edit(slowmode_delay=seconds)
        except discord.Forbidden:
            need = "Manage Threads" if isinstance(channel, discord.Thread) else "Manage Channels"
            raise UserFacingError(
                f"Discord wouldn't let me: I need {need} here. Nothing was changed."
            ) from None
        await self._log(interaction, "slowmode", details=f"{seconds} s in {channel.mention}")
        state = f"{seconds} seconds between messages" if seconds else "off"
        await self._reply(interaction, f"Slow mode here: {state}.")

    # housekeeping --------------------------------------------------------------------------

    @tasks.loop(minutes=PURGE_MINUTES)
    async def purge(self) -> None:
        """Drop expired blocks and drafts, old rate-limit rows and reports past retention."""
        now = discord.utils.utcnow()
        await anon.purge_expired(self.bot.db, now=now)
        await mod.purge_report_limits(self.bot.db, now=now)
        for report in await mod.purge_old_reports(self.bot.db, now=now):
            # An open report's queue message still shows the reported text: it goes too.
            guild = self.bot.get_guild(report.guild_id)
            if guild is None or report.queue_channel_id is None or not report.queue_message_id:
                continue
            channel = guild.get_channel(report.queue_channel_id)
            if isinstance(channel, discord.TextChannel):
                try:
                    await channel.get_partial_message(report.queue_message_id).delete()
                except discord.HTTPException as error:
                    log.warning("Could not delete an expired report (HTTP %s)", error.status)

    @purge.before_loop
    async def _before_purge(self) -> None:
        await self.bot.wait_until_ready()

    @purge.error
    async def _purge_error(self, error: BaseException) -> None:
        log.error("The moderation purge stopped unexpectedly", exc_info=error)


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(ReportButton, HeldPostButton, ReportDecisionButton)
    await bot.add_cog(Moderation(bot))
