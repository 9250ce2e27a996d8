"""The `/mod` command group, the Report to moderators menu, and the hourly purge."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.client import CircleBot
from bot.i18n import N_
from bot.layer.discord_utils import log_action, log_language, require_member, require_moderator
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import member_language, tr
from bot.layer.moderation.actions import BLOCKED_FROM_QUEUE, find_post, remove_post
from bot.layer.moderation.helpers import (
    ReportTarget,
    clean_input,
    fit_lines,
    report_embed,
    until_text,
)
from bot.layer.moderation.modals import ReportModal
from bot.layer.moderation.views import held_view, report_view
from bot.layer.posting import post_embed
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import contact as contact_service
from bot.services import moderation as mod
from bot.services.anonymous import AnonPost
from bot.services.config import get_config
from bot.services.moderation import Report

log = logging.getLogger(__name__)

QUEUE_ITEMS_SHOWN = 10
PURGE_MINUTES = 60
RECORD_WORDS = {"warning": N_("warning"), "timeout": N_("timeout"), "note": N_("note")}


def _waiting(language: str, held: list[AnonPost], reports: list[Report]) -> str:
    """What the queue holds as a sentence: "1 held post and 2 open reports"."""
    parts = [
        tr(language, "1 held post" if len(held) == 1 else "{count} held posts", count=len(held))
        if held
        else "",
        tr(
            language,
            "1 open report" if len(reports) == 1 else "{count} open reports",
            count=len(reports),
        )
        if reports
        else "",
    ]
    shown = [part for part in parts if part]
    text = (
        shown[0]
        if len(shown) == 1
        else tr(language, "{first} and {second}", first=shown[0], second=shown[1])
    )
    return text[0].upper() + text[1:]


def _block_reason(language: str, reason: str | None) -> str:
    """A block's reason as a moderator wrote it; the bot's own (from the queue) in `language`."""
    if not reason:
        return tr(language, "no reason given")
    return tr(language, BLOCKED_FROM_QUEUE) if reason == BLOCKED_FROM_QUEUE else reason


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

    async def _server(self, guild: discord.Guild) -> str:
        """The language of the server's own channels, for what goes to the mod log."""
        return await log_language(self.bot.db, guild)

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
        await interaction.response.send_modal(
            ReportModal(ReportTarget.of(message), member_language(interaction))
        )

    # the queue -----------------------------------------------------------------------------

    @app_commands.command(name="queue")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        """Privately list held anonymous posts and open reports, oldest first, with buttons."""
        member = require_member(interaction)
        language = member_language(interaction)
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
            await self._reply(
                interaction,
                tr(language, "Nothing is waiting: no held posts and no open reports."),
            )
            return
        summary = tr(
            language, "{waiting}, oldest first.", waiting=_waiting(language, held, reports)
        )
        if len(items) > QUEUE_ITEMS_SHOWN:
            summary += " " + tr(
                language,
                "Showing the first {count}; decide those to see the rest.",
                count=QUEUE_ITEMS_SHOWN,
            )
        await self._reply(interaction, summary)
        for _, item in items[:QUEUE_ITEMS_SHOWN]:
            if isinstance(item, Report):
                await interaction.followup.send(
                    embed=report_embed(item, language=language),
                    view=report_view(item, language),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
                continue
            circle = open_circles[item.circle_id]
            embed = post_embed(
                item.label, item.text or "", item.content_note, item.quote_link, language
            )
            embed.title = tr(language, "Held for review · {circle}", circle=circle.name)
            await interaction.followup.send(
                embed=embed,
                view=held_view(item.token, language),
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
        language = member_language(interaction)
        cleaned = clean_input(reason, N_("The reason"))
        found, circle = await find_post(self.bot, member.guild, post)
        if found.status == "removed":
            raise UserFacingError(N_("That post was already removed."))
        await remove_post(self.bot, found, circle)
        server = await self._server(member.guild)
        await self._log(
            interaction,
            "remove",
            target_label=found.label,
            details=tr(
                server,
                "anonymous post in {circle}: {reason}",
                circle=circle.name,
                reason=cleaned,
            ),
        )
        await self._reply(
            interaction,
            tr(
                language,
                "Removed the post by **{label}** in {circle}. Its author sees it as removed in "
                "`/anon mine`; nobody learns who wrote it.",
                label=found.label,
                circle=circle.name,
            ),
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
        language = member_language(interaction)
        cleaned = clean_input(reason, N_("The reason"))
        found, circle = await find_post(self.bot, member.guild, post)
        now = discord.utils.utcnow()
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
        server = await self._server(member.guild)
        await self._log(
            interaction,
            "block",
            target_label=found.label,
            details=tr(
                server,
                "in {circle} {until}: {reason}",
                circle=circle.name,
                until=until_text(expires_at, server),
                reason=cleaned,
            ),
        )
        strict = (
            " "
            + tr(language, "This is a strict circle, so the block also ends when the bot restarts.")
            if circle.strict
            else ""
        )
        await self._reply(
            interaction,
            tr(
                language,
                "Blocked **{label}** from anonymous posting in {circle} {until} (block #{id}). "
                "Nobody, you included, learns who this is. `/mod unblock {id}` lifts it.",
                label=found.label,
                circle=circle.name,
                until=until_text(expires_at, language),
                id=block_id,
            )
            + strict,
        )

    @app_commands.command(name="blocks")
    async def blocks(self, interaction: discord.Interaction[Any]) -> None:
        """Privately list active blocks on anonymous authors in this server's circles."""
        member = require_member(interaction)
        language = member_language(interaction)
        names = {c.id: c.name for c in await circles.open_circles(self.bot.db, member.guild.id)}
        active = await anon.blocks(self.bot.db, list(names), now=discord.utils.utcnow())
        contact_blocks = await contact_service.blocks(self.bot.db, member.guild.id)
        if not active and not contact_blocks:
            await self._reply(
                interaction, tr(language, "No anonymous author is blocked in this server.")
            )
            return
        lines = [
            f"`#{b.id}` · {names[b.circle_id]} · **{b.label}** · "
            f"{until_text(b.expires_at, language)} · {_block_reason(language, b.reason)}"
            for b in active
        ]
        # Contact blocks: by the conversation's pseudonym only; nobody can tell who it is or
        # which other conversations were theirs.
        lines += [
            tr(
                language,
                "`#{id}` · contact conversation · **{pseudonym}** · until lifted"
                " (`/mod unblock {id} contact:True`)",
                id=c.id,
                pseudonym=c.pseudonym,
            )
            for c in contact_blocks
        ]
        await self._reply(
            interaction,
            fit_lines(lines, tr(language, "**Active blocks** (`/mod unblock id`):"), language),
        )

    @app_commands.command(name="unblock")
    @app_commands.describe(
        id="The block's number, from /mod blocks",
        contact="True for a contact conversation's block",
    )
    async def unblock(
        self, interaction: discord.Interaction[Any], id: int, contact: bool = False
    ) -> None:
        """Lift a block on an anonymous author."""
        member = require_member(interaction)
        language = member_language(interaction)
        if contact:
            lifted = next(
                (
                    c
                    for c in await contact_service.blocks(self.bot.db, member.guild.id)
                    if c.id == id
                ),
                None,
            )
            if lifted is None or not await contact_service.unblock(
                self.bot.db, self.bot.contact.keys, member.guild.id, id
            ):
                raise UserFacingError(
                    tr(
                        language,
                        "There is no contact block #{id} in this server. `/mod blocks` lists them.",
                        id=id,
                    )
                )
            await self._log(interaction, "contact unblock", target_label=lifted.pseudonym)
            await self._reply(
                interaction,
                tr(
                    language,
                    "Lifted the block on **{pseudonym}**: its member may contact the moderators "
                    "again (in a new conversation).",
                    pseudonym=lifted.pseudonym,
                ),
            )
            return
        names = {c.id: c.name for c in await circles.open_circles(self.bot.db, member.guild.id)}
        active = await anon.blocks(self.bot.db, list(names), now=discord.utils.utcnow())
        found = next((b for b in active if b.id == id), None)
        if found is None or not await anon.unblock(self.bot.db, id, list(names)):
            raise UserFacingError(
                tr(
                    language,
                    "There is no active block #{id} in this server. `/mod blocks` lists them.",
                    id=id,
                )
            )
        server = await self._server(member.guild)
        await self._log(
            interaction,
            "unblock",
            target_label=found.label,
            details=tr(server, "block #{id} in {circle}", id=id, circle=names[found.circle_id]),
        )
        await self._reply(
            interaction,
            tr(
                language,
                "Lifted block #{id}: **{label}** may post anonymously again.",
                id=id,
                label=found.label,
            ),
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
        language = member_language(interaction)
        cleaned = clean_input(reason, N_("The reason"))
        if member.bot:
            raise UserFacingError(N_("Bots can't be warned."))
        server = await self._server(moderator.guild)
        try:
            # A direct message answers no interaction of theirs: the server's language.
            await member.send(
                tr(
                    server,
                    "**A message from the moderators of {server}**",
                    server=moderator.guild.name,
                )
                + f"\n\n{cleaned}\n\n"
                + tr(
                    server,
                    "If you want to talk about it, you can reach the moderators in the server.",
                ),
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
        undelivered = (
            ""
            if delivered
            else " " + tr(server, "(not delivered: their direct messages are closed)")
        )
        await self._log(
            interaction, "warn", target_user_id=member.id, details=f"{cleaned}{undelivered}"
        )
        if delivered:
            await self._reply(
                interaction,
                tr(
                    language,
                    "Warned {member}; they got a direct message.",
                    member=member.mention,
                ),
            )
        else:
            await self._reply(
                interaction,
                tr(
                    language,
                    "Recorded the warning for {member}, but Discord wouldn't let me message them "
                    "(their direct messages are closed to me). Please let them know another way.",
                    member=member.mention,
                ),
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
        language = member_language(interaction)
        cleaned = clean_input(reason, N_("The reason"))
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
                N_(
                    "Discord refused the timeout. Check that my role has Timeout Members and "
                    "sits above theirs. Nothing was changed."
                )
            ) from None
        except discord.HTTPException:
            raise UserFacingError(
                N_("Discord had a problem with the timeout. Nothing was changed; please try again.")
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
        server = await self._server(guild)
        await self._log(
            interaction,
            "timeout",
            target_user_id=member.id,
            details=tr(server, "{minutes} min: {reason}", minutes=minutes, reason=cleaned),
        )
        until = discord.utils.format_dt(now + timedelta(minutes=minutes))
        await self._reply(
            interaction,
            tr(language, "Timed out {member} until {until}.", member=member.mention, until=until),
        )

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
        cleaned = clean_input(text, N_("The note"), mod.MAX_NOTE)
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
        server = await self._server(moderator.guild)
        await self._log(
            interaction,
            "note",
            target_user_id=member.id,
            details=tr(server, "private note added"),
        )
        await self._reply(
            interaction,
            tr(
                member_language(interaction),
                "Noted. `/mod notes` shows the notes about {member}.",
                member=member.mention,
            ),
        )

    @app_commands.command(name="notes")
    @app_commands.describe(member="Whose record to show")
    async def notes(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        """Privately show warnings, timeouts and notes about a member."""
        moderator = require_member(interaction)
        language = member_language(interaction)
        records = await mod.records_about(self.bot.db, moderator.guild.id, member.id)
        if not records:
            await self._reply(
                interaction,
                tr(
                    language,
                    "No warnings, timeouts or notes about {member}.",
                    member=member.mention,
                ),
            )
            return
        lines = []
        for r in records:
            by = (
                " " + tr(language, "by {moderator}", moderator=f"<@{r.moderator_id}>")
                if r.moderator_id
                else ""
            )
            extra = f" ({r.minutes} min)" if r.minutes else ""
            if r.dm_delivered is False:
                extra += " " + tr(language, "(direct message not delivered)")
            lines.append(
                f"• {discord.utils.format_dt(r.created_at, 'd')} "
                f"**{tr(language, RECORD_WORDS[r.kind])}**{extra}{by}: {r.text}"
            )
        await self._reply(
            interaction,
            fit_lines(
                lines,
                tr(language, "**About {member}**, newest first:", member=member.mention),
                language,
            ),
        )

    # threads and channels ------------------------------------------------------------------

    async def _circle_thread(self, interaction: discord.Interaction[Any]) -> discord.Thread:
        channel = interaction.channel
        if not isinstance(channel, discord.Thread):
            raise UserFacingError(N_("Use this inside a circle's thread."))
        circle = await circles.circle_for_thread(self.bot.db, channel.id)
        if circle is None:
            raise UserFacingError(N_("Use this inside a circle's thread."))
        if not circle.is_open:
            raise UserFacingError(N_("This circle is closed."))
        return channel

    async def _set_lock(self, interaction: discord.Interaction[Any], locked: bool) -> None:
        language = member_language(interaction)
        thread = await self._circle_thread(interaction)
        if thread.locked == locked:
            raise UserFacingError(
                N_("This thread is already locked.")
                if locked
                else N_("This thread is already unlocked.")
            )
        try:
            await thread.edit(locked=locked)
        except discord.Forbidden:
            raise UserFacingError(
                tr(
                    language,
                    "Discord wouldn't let me: I need {permission} here. Nothing was changed.",
                    permission=tr(language, "Manage Threads"),
                )
            ) from None
        await self._log(interaction, "lock" if locked else "unlock", details=thread.name)
        await self._reply(
            interaction,
            tr(
                language,
                "Thread locked. Only moderators can post until `/mod unlock`."
                if locked
                else "Thread unlocked. Members can post again.",
            ),
        )

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
        language = member_language(interaction)
        member = require_member(interaction)
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise UserFacingError(N_("Use this in a text channel or a thread."))
        try:
            await channel.edit(slowmode_delay=seconds)
        except discord.Forbidden:
            need = tr(
                language,
                "Manage Threads" if isinstance(channel, discord.Thread) else "Manage Channels",
            )
            raise UserFacingError(
                tr(
                    language,
                    "Discord wouldn't let me: I need {permission} here. Nothing was changed.",
                    permission=need,
                )
            ) from None
        server = await self._server(member.guild)
        await self._log(
            interaction,
            "slowmode",
            details=tr(
                server, "{seconds} s in {channel}", seconds=seconds, channel=channel.mention
            ),
        )
        await self._reply(
            interaction,
            tr(language, "Slow mode here: {seconds} seconds between messages.", seconds=seconds)
            if seconds
            else tr(language, "Slow mode here: off."),
        )

    # housekeeping --------------------------------------------------------------------------

    @tasks.loop(minutes=PURGE_MINUTES)
    async def purge(self) -> None:
        """Drop expired blocks and drafts, old report counts and reports past retention."""
        now = discord.utils.utcnow()
        await anon.purge_expired(self.bot.db, now=now)
        self.bot.report_limits.purge(now)
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
