"""`/circle`: create, join, leave, list and close circles; agreements; keepers; removal; and
the circle's structure (check-in, rounds, pause, check-out), whose views live in
`cogs.circles.structure`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CircleBot
from bot.i18n import N_
from bot.layer.access import circle_here, keeper_here
from bot.layer.buttons import persistent_view
from bot.layer.discord_utils import delete_queue_messages, is_moderator, log_action, require_member
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import (
    circle_language,
    language_choices,
    member_language,
    server_language,
    tr,
)
from bot.layer.resource_card import resource_embed
from bot.services import circles, gates
from bot.services.circles import Circle
from bot.services.config import get_config
from cogs.circles import polls as polls_ui
from cogs.circles import structure as structure_ui
from cogs.circles.views import (
    DYNAMIC_ITEMS,
    JoinButton,
    agreements_embed,
    card_embed,
    card_view,
    deck_title,
    refresh_card,
    show_agreements,
)

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: the longest Discord allows
BULK_DELETE_MAX_AGE = timedelta(days=14)  # Discord refuses bulk deletes of older messages
BULK_DELETE_CHUNK = 100


# --- helpers -----------------------------------------------------------------------------


def _explain_http(error: discord.HTTPException, language: str) -> str:
    """Why the circle could not open, in the keeper's language."""
    if isinstance(error, discord.Forbidden):
        return tr(
            language,
            "Discord would not let me open the circle: I need Create Private Threads (or Create "
            "Public Threads), Manage Threads, Send Messages in Threads and Embed Links in this "
            "channel.",
        )
    return tr(
        language,
        "Discord had a problem while I tried to open the circle. Nothing was created; please "
        "try again.",
    )


@app_commands.guild_only()
class Circles(commands.GroupCog, group_name="circle"):
    """Moderated discussion circles."""

    agreements_group = app_commands.Group(name="agreements", description="A circle's agreements.")
    keeper_group = app_commands.Group(name="keeper", description="A circle's keepers.")
    round_group = app_commands.Group(
        name="round", description="A talking piece passed round the circle."
    )

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.poll_closer = polls_ui.PollCloser(bot)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.clock.start(
            lambda: structure_ui.run_due(self.bot),
            first=lambda: structure_ui.end_forgotten_rounds(self.bot),
        )
        self.poll_closer.start()

    async def cog_unload(self) -> None:
        self.bot.clock.stop()
        self.poll_closer.stop()

    # create ------------------------------------------------------------------------------

    @app_commands.command(name="create")
    @app_commands.describe(
        name="The circle's name (shown on its card and thread)",
        deck="Which prompt deck the circle uses",
        private="Private thread: only members who join can see it (default yes)",
        review="A moderator reads anonymous posts before they appear (default no)",
        strict="Anonymity keys live only in memory, out of even the operator's reach",
        language="The circle's language: its prompts, labels and messages (default: the server's)",
    )
    @app_commands.choices(language=language_choices())
    async def create(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        deck: str | None = None,
        private: bool = True,
        review: bool = False,
        strict: bool = False,
        language: app_commands.Choice[str] | None = None,
    ) -> None:
        """Open a new circle in this channel. You become its first keeper."""
        member = require_member(interaction)
        mine = member_language(interaction)
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel):
            raise UserFacingError(N_("Create circles in a text channel (not in a thread or DM)."))
        config = await get_config(self.bot.db, member.guild.id)
        if not (member.guild_permissions.manage_threads or is_moderator(member, config)):
            raise UserFacingError(
                N_("Creating circles needs the moderator role or the Manage Threads permission.")
            )
        chosen = language.value if language else server_language(config, member.guild)
        library = self.bot.library_for(chosen)
        deck_id = deck or "essay"
        if library.deck(deck_id) is None:
            raise UserFacingError(
                tr(mine, "There is no deck called “{deck}”. See `/prompt decks`.", deck=deck_id)
            )
        circle = await circles.create_circle(
            self.bot.db,
            guild_id=member.guild.id,
            channel_id=channel.id,
            name=name,
            deck_id=deck_id,
            keeper_id=member.id,
            default_agreements=library.agreements,
            now=discord.utils.utcnow(),
            private=private,
            review=review,
            strict=strict,
            language=chosen,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            circle = await self._make_thread_and_card(circle, channel, member, mine)
        except BaseException:
            await circles.discard_circle(self.bot.db, circle.id)
            raise
        await interaction.followup.send(
            tr(
                mine,
                "Your circle is open: {thread}. Members join with the button on its card. Use "
                "`/prompt next` in the thread to post the first prompt.",
                thread=f"<#{circle.thread_id}>",
            ),
            ephemeral=True,
        )

    async def _make_thread_and_card(
        self,
        circle: Circle,
        channel: discord.TextChannel,
        keeper: discord.Member,
        language: str = "en",
    ) -> Circle:
        thread: discord.Thread | None = None
        try:
            thread = await channel.create_thread(
                name=circle.name,
                type=(
                    discord.ChannelType.private_thread
                    if circle.private
                    else discord.ChannelType.public_thread
                ),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                invitable=False,
            )
            await thread.add_user(keeper)
            agreements = await circles.agreements(self.bot.db, circle.id)
            card = await channel.send(
                embed=card_embed(
                    circle,
                    [keeper.id],
                    agreements,
                    deck_title(self.bot, circle.deck_id, circle.language),
                    await circles.head_count(self.bot.db, circle.id),
                    self.bot.library_for(circle.language).honest_limits,
                    gated=(await get_config(self.bot.db, circle.guild_id)).gated,
                ),
                view=card_view(circle),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            if thread is not None:
                try:
                    await thread.delete()
                except discord.HTTPException:
                    log.warning("Could not delete the thread of a circle that failed to open")
            raise UserFacingError(_explain_http(error, language)) from None
        circle = await circles.attach_thread(
            self.bot.db, circle.id, thread_id=thread.id, card_message_id=card.id
        )
        try:
            await thread.send(
                embed=agreements_embed(circle, agreements), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException:
            log.warning("Could not post the agreements in circle %s", circle.id)
        return circle

    @create.autocomplete("deck")
    async def _deck_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=deck.title[:100], value=deck.id)
            for deck in self.bot.library_for(member_language(interaction)).decks.values()
            if current.lower() in deck.id or current.lower() in deck.title.lower()
        ][:25]

    # join, leave, list ---------------------------------------------------------------------

    @app_commands.command(name="join")
    @app_commands.describe(name="The name of the circle to join")
    async def join(self, interaction: discord.Interaction[Any], name: str) -> None:
        """Read a circle's agreements and join it."""
        member = require_member(interaction)
        circle = await circles.open_circle_by_name(self.bot.db, member.guild.id, name)
        if circle is None:
            raise UserFacingError(
                tr(
                    member_language(interaction),
                    "There is no open circle called “{name}”. See `/circle list`.",
                    name=name,
                )
            )
        await show_agreements(self.bot, interaction, circle)

    @app_commands.command(name="leave")
    async def leave(self, interaction: discord.Interaction[Any]) -> None:
        """Leave this circle. No reason needed."""
        here = await circle_here(self.bot, interaction)
        was_member = await circles.leave(self.bot.db, here.circle.id, here.member.id)
        await structure_ui.leave_round(self.bot, here.circle, here.member.id)
        try:
            await here.thread.remove_user(here.member)
        except discord.HTTPException:
            log.warning("Could not remove a leaving member from circle %s", here.circle.id)
        await refresh_card(self.bot, here.circle)
        text = tr(
            member_language(interaction),
            "You've left this circle." if was_member else "You weren't a member of this circle.",
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="list")
    async def list_circles(self, interaction: discord.Interaction[Any]) -> None:
        """The open circles in this server."""
        member = require_member(interaction)
        lang = member_language(interaction)
        found = await circles.open_circles(self.bot.db, member.guild.id)
        if not found:
            await interaction.response.send_message(
                tr(lang, "There are no open circles right now."), ephemeral=True
            )
            return
        lines = [
            tr(
                lang,
                "• **{name}** (private) — in {channel}"
                if c.private
                else "• **{name}** — in {channel}",
                name=c.name,
                channel=f"<#{c.channel_id}>",
            )
            for c in found
        ]
        await interaction.response.send_message(
            tr(lang, "Open circles:") + "\n" + "\n".join(lines)[:1900], ephemeral=True
        )

    # close ---------------------------------------------------------------------------------

    @app_commands.command(name="close")
    @app_commands.describe(
        delete_bot_messages="First delete this bot's messages in the thread (default no)"
    )
    async def close(
        self, interaction: discord.Interaction[Any], delete_bot_messages: bool = False
    ) -> None:
        """Close this circle: lock and archive it and destroy its anonymous records."""
        here = await keeper_here(self.bot, interaction)
        mine = member_language(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if delete_bot_messages:
            await self._delete_own_messages(interaction, here.thread)
        await polls_ui.close_circle_polls(self.bot, here.circle.id)
        closing = await circles.close(self.bot.db, here.circle.id, now=discord.utils.utcnow())
        closed = closing.circle
        await delete_queue_messages(self.bot.db, here.member.guild, closing.review_message_ids)
        self.bot.circle_keys.forget(closed.id)
        self.bot.checkins.end_circle(closed.id)
        problems = []
        try:
            await here.thread.send(
                tr(
                    circle_language(here.circle),
                    "This circle is now closed. Thank you for what you shared and for how you "
                    "listened. Anonymous labels from this circle can no longer be linked to "
                    "anyone. Take care of yourself; these services are there if you need them.",
                ),
                embed=await resource_embed(
                    self.bot, here.circle.guild_id, circle_language(here.circle)
                ),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException:
            problems.append(tr(mine, "post the closing message"))
        try:
            await here.thread.edit(locked=True, archived=True)
        except discord.HTTPException:
            problems.append(tr(mine, "lock and archive the thread (I need Manage Threads)"))
        await refresh_card(self.bot, closed)
        assert interaction.guild is not None
        await log_action(
            self.bot.db,
            interaction.guild,
            moderator_id=here.member.id,
            action="circle close",
            details=closed.name,
        )
        message = tr(mine, "The circle is closed and its anonymous records are gone.")
        if problems:
            things = (
                problems[0]
                if len(problems) == 1
                else tr(mine, "{first} or {second}", first=problems[0], second=problems[1])
            )
            message += " " + tr(mine, "But I couldn't {things}.", things=things)
        await interaction.followup.send(message, ephemeral=True)

    async def _delete_own_messages(
        self, interaction: discord.Interaction[Any], thread: discord.Thread
    ) -> None:
        me = self.bot.user
        assert me is not None
        cutoff = discord.utils.utcnow() - BULK_DELETE_MAX_AGE + timedelta(minutes=5)
        recent: list[discord.Message] = []
        old: list[discord.Message] = []
        async for message in thread.history(limit=None):
            if message.author.id == me.id:
                (recent if message.created_at > cutoff else old).append(message)
        total = len(recent) + len(old)
        done = 0

        async def progress() -> None:
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(
                    content=tr(
                        member_language(interaction),
                        "Deleting my messages: {done} of {total}…",
                        done=done,
                        total=total,
                    )
                )

        for start in range(0, len(recent), BULK_DELETE_CHUNK):
            chunk = recent[start : start + BULK_DELETE_CHUNK]
            if len(chunk) == 1:
                await chunk[0].delete()
            else:
                await thread.delete_messages(chunk)
            done += len(chunk)
            await progress()
        for message in old:
            # One at a time: discord.py waits out rate limits between these for us.
            with contextlib.suppress(discord.NotFound):
                await message.delete()
            done += 1
            if done % 10 == 0:
                await progress()
            await asyncio.sleep(0)
        await progress()

    # remove --------------------------------------------------------------------------------

    @app_commands.command(name="remove")
    @app_commands.describe(
        member="Who to take out of this circle", reason="Why (kept in the mod log)"
    )
    async def remove(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        reason: str | None = None,
    ) -> None:
        """Take a member out of this circle and keep them from rejoining it."""
        here = await keeper_here(self.bot, interaction)
        if member.id == here.member.id:
            raise UserFacingError(N_("To leave the circle yourself, use `/circle leave`."))
        await circles.remove_member(
            self.bot.db,
            here.circle.id,
            member.id,
            member_key=circles.removal_key(self.bot.settings.secret, member.id),
        )
        await structure_ui.leave_round(self.bot, here.circle, member.id)
        try:
            await here.thread.remove_user(member)
        except discord.NotFound:
            pass
        except discord.HTTPException:
            raise UserFacingError(
                N_(
                    "They can no longer rejoin, but Discord would not let me take them out of "
                    "the thread: I need Manage Threads."
                )
            ) from None
        await refresh_card(self.bot, here.circle)
        await log_action(
            self.bot.db,
            member.guild,
            moderator_id=here.member.id,
            action="circle remove",
            target_user_id=member.id,
            details=f"{here.circle.name}: {reason or 'no reason given'}",
        )
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "{member} is out of this circle and can't rejoin it.",
                member=member.mention,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # admit ---------------------------------------------------------------------------------

    @app_commands.command(name="admit")
    @app_commands.describe(member="Who may join this circle although the join gate holds them")
    async def admit(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        """Let one member join this circle despite the server's join gate. Logged."""
        here = await keeper_here(self.bot, interaction)
        if member.bot:
            raise UserFacingError(N_("Bots can't join circles."))
        if not (await get_config(self.bot.db, member.guild.id)).gated:
            raise UserFacingError(
                N_("This server has no join gate, so they can join already (`/setup join_gate`).")
            )
        barred = circles.removal_key(self.bot.settings.secret, member.id)
        if await circles.was_removed(self.bot.db, here.circle.id, barred):
            raise UserFacingError(N_("That member was removed from this circle."))
        added = await gates.admit(self.bot.db, here.circle.id, member.id)
        if added:
            await log_action(
                self.bot.db,
                member.guild,
                moderator_id=here.member.id,
                action="circle admit",
                target_user_id=member.id,
                details=f"{here.circle.name}: let in despite the join gate",
            )
        lang = member_language(interaction)
        await interaction.response.send_message(
            tr(
                lang,
                "{member} can join this circle now, with the **Join** button on its card.",
                member=member.mention,
            )
            + ("" if added else " " + tr(lang, "(They already could.)")),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # agreements ----------------------------------------------------------------------------

    @agreements_group.command(name="show")
    async def agreements_show(self, interaction: discord.Interaction[Any]) -> None:
        """Show this circle's agreements."""
        here = await circle_here(self.bot, interaction)
        if await circles.has_current_agreement(self.bot.db, here.circle.id, here.member.id):
            current = await circles.agreements(self.bot.db, here.circle.id)
            await interaction.response.send_message(
                embed=agreements_embed(here.circle, current, member_language(interaction)),
                ephemeral=True,
            )
            return
        await show_agreements(self.bot, interaction, here.circle)

    @agreements_group.command(name="add")
    @app_commands.describe(text="The new agreement, in one or two plain sentences")
    async def agreements_add(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Add an agreement to this circle; members accept it before they next take part."""
        here = await keeper_here(self.bot, interaction)
        added = await circles.add_agreement(self.bot.db, here.circle.id, text)
        await refresh_card(self.bot, here.circle)
        public = circle_language(here.circle)
        view = persistent_view()
        view.add_item(JoinButton(here.circle.id, label=tr(public, "Read and accept")))
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Added agreement {number}.",
                number=added.position,
            ),
            ephemeral=True,
        )
        try:
            await here.thread.send(
                tr(
                    public,
                    "A new agreement was added: **{text}**\nPlease read and accept it before "
                    "you next take part.",
                    text=added.text,
                ),
                view=view,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException:
            log.warning("Could not announce a new agreement in circle %s", here.circle.id)

    # keepers -------------------------------------------------------------------------------

    @keeper_group.command(name="add")
    @app_commands.describe(member="Who should help run this circle")
    async def keeper_add(
        self, interaction: discord.Interaction[Any], member: discord.Member
    ) -> None:
        """Make a member a keeper of this circle."""
        here = await keeper_here(self.bot, interaction)
        if member.bot:
            raise UserFacingError(N_("Bots can't be keepers."))
        barred = circles.removal_key(self.bot.settings.secret, member.id)
        if await circles.was_removed(self.bot.db, here.circle.id, barred):
            raise UserFacingError(N_("That member was removed from this circle."))
        added = await circles.add_keeper(self.bot.db, here.circle.id, member.id)
        if added:
            try:
                await here.thread.add_user(member)
            except discord.HTTPException:
                log.warning("Could not add a keeper to the thread of circle %s", here.circle.id)
            await refresh_card(self.bot, here.circle)
            await log_action(
                self.bot.db,
                member.guild,
                moderator_id=here.member.id,
                action="keeper add",
                target_user_id=member.id,
                details=here.circle.name,
            )
        text = tr(
            member_language(interaction),
            "{member} is a keeper." if added else "{member} already was one.",
            member=member.mention,
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @keeper_group.command(name="remove")
    @app_commands.describe(member="Who should stop being a keeper of this circle")
    async def keeper_remove(
        self, interaction: discord.Interaction[Any], member: discord.Member
    ) -> None:
        """Stop a member being a keeper of this circle (they stay a member)."""
        here = await keeper_here(self.bot, interaction)
        removed = await circles.remove_keeper(self.bot.db, here.circle.id, member.id)
        if not removed:
            raise UserFacingError(
                tr(
                    member_language(interaction),
                    "{name} is not a keeper of this circle.",
                    name=member.display_name,
                )
            )
        await refresh_card(self.bot, here.circle)
        await log_action(
            self.bot.db,
            member.guild,
            moderator_id=here.member.id,
            action="keeper remove",
            target_user_id=member.id,
            details=here.circle.name,
        )
        remaining = await circles.keepers(self.bot.db, here.circle.id)
        lang = member_language(interaction)
        note = (
            ""
            if remaining
            else " " + tr(lang, "The circle has no keepers now; moderators can run it.")
        )
        await interaction.response.send_message(
            tr(lang, "{member} is no longer a keeper.", member=member.mention) + note,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # structure: check-in, rounds, pause, check-out ---------------------------------------

    @app_commands.command(name="checkin")
    async def checkin(self, interaction: discord.Interaction[Any]) -> None:
        """Post the weather check-in: members answer with a button, and only totals show."""
        await structure_ui.start_checkin(self.bot, interaction)

    @app_commands.command(name="checkout")
    async def checkout(self, interaction: discord.Interaction[Any]) -> None:
        """Post the check-out: a private takeaway and self-care note, shared only if chosen."""
        await structure_ui.start_checkout(self.bot, interaction)

    @app_commands.command(name="poll")
    @app_commands.describe(
        question="What you are asking",
        options="2 to 5 choices separated by |, for example: Mornings | Evenings | Weekends",
        multi="Members may pick more than one choice (default no)",
        closes_in_hours="Close by itself after this many hours (1 to 168, default 24)",
    )
    async def poll(
        self,
        interaction: discord.Interaction[Any],
        question: str,
        options: str,
        multi: bool = False,
        closes_in_hours: app_commands.Range[int, 1, 168] | None = None,
    ) -> None:
        """(Keepers) Post an anonymous poll: nobody can see who voted for what."""
        poll = await polls_ui.start_poll(
            self.bot,
            interaction,
            question=question,
            options=options,
            multi=multi,
            hours=closes_in_hours,
        )
        self.poll_closer.wake(poll.closes_at)

    @app_commands.command(name="pause")
    @app_commands.describe(minutes="How long, from 1 to 120 minutes; the thread unlocks by itself")
    async def pause(self, interaction: discord.Interaction[Any], minutes: int) -> None:
        """Pause the circle: post a grounding text and lock the thread for a while."""
        await structure_ui.pause(self.bot, interaction, minutes)

    @round_group.command(name="start")
    @app_commands.describe(
        prompt_id="The prompt this round answers (its id from /prompt list); optional",
        mode="named: people are named and share with their name; anonymous: labels only",
        turn_minutes="How long each person may hold the talking piece (1-30, default 5)",
    )
    async def round_start(
        self,
        interaction: discord.Interaction[Any],
        prompt_id: str | None = None,
        mode: Literal["named", "anonymous"] = "named",
        turn_minutes: int = 5,
    ) -> None:
        """Pass a talking piece, in random order, round every member of this circle."""
        await structure_ui.start_round(
            self.bot, interaction, prompt_id=prompt_id, mode=mode, turn_minutes=turn_minutes
        )

    @round_group.command(name="next")
    async def round_next(self, interaction: discord.Interaction[Any]) -> None:
        """Move the talking piece on to the next person."""
        await structure_ui.next_turn(self.bot, interaction)

    @round_group.command(name="end")
    async def round_end(self, interaction: discord.Interaction[Any]) -> None:
        """End the round now."""
        await structure_ui.end_round(self.bot, interaction)

    # cards say whether a join gate is on ----------------------------------------------------

    @commands.Cog.listener()
    async def on_join_gate_change(self, guild_id: int) -> None:
        for circle in await circles.open_circles(self.bot.db, guild_id):
            await refresh_card(self.bot, circle)

    # keeping open circles unarchived -------------------------------------------------------

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        if not after.archived or before.archived:
            return
        circle = await circles.circle_for_thread(self.bot.db, after.id)
        if circle is None or not circle.is_open:
            return
        try:
            await after.edit(archived=False)
        except discord.HTTPException as error:
            log.warning("Could not unarchive circle %s (HTTP %s)", circle.id, error.status)


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS, *structure_ui.STRUCTURE_ITEMS)
    await bot.add_cog(Circles(bot))
