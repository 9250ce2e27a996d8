"""`/anon`: post, look up and take back one's own anonymous posts, and "Reply anonymously";
write to the moderators without a name (`/anon contact`) and read their answers and the
replies to one's posts (`/anon inbox`).

The posting flow itself (the form, its checks, the outbox that sends posts later) is in
`bot.layer.posting`, shared with rounds and check-outs.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CircleBot
from bot.i18n import N_
from bot.layer.access import Here, participant_here
from bot.layer.contact import ContactModal, short_when, show_inbox, unread_line
from bot.layer.discord_utils import require_member
from bot.layer.errors import UserFacingError
from bot.layer.i18n import member_language, tr
from bot.layer.posting import (
    MAX_CHOICES,
    DeleteMineView,
    PostModal,
    own_posts_circle,
    participant_form,
    status_words,
)
from bot.services import anonymous as anon
from bot.services import circles, suggestions
from bot.services import contact as contact_service

NO_POSTS = N_("You have no anonymous posts in this circle.")


def _suggestion_line(suggestion: suggestions.Suggestion, language: str = "en") -> str:
    """What became of one of the author's suggestions, in the author's `language`; a keeper's
    reason as they wrote it."""
    when = f"{short_when(language, suggestion.created_at)} UTC"
    if suggestion.status == "added":
        return tr(
            language,
            "• {when}: added to the circle as prompt `{id}`",
            when=when,
            id=suggestion.prompt_id,
        )
    if suggestion.status == "declined":
        if suggestion.reason:
            return tr(
                language,
                "• {when}: declined by the keepers — “{reason}”",
                when=when,
                reason=suggestion.reason,
            )
        return tr(language, "• {when}: declined by the keepers", when=when)
    return tr(language, "• {when}: waiting for the keepers", when=when)


@app_commands.guild_only()
class Anonymous(commands.GroupCog, group_name="anon"):
    """Post in a circle without your name."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.problems = bot.delivery_problems
        self.reply_menu = app_commands.ContextMenu(
            name="Reply anonymously", callback=self.reply_to_message
        )
        self.reply_menu.guild_only = True
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.reply_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.reply_menu.name, type=self.reply_menu.type)

    def _label_key(self, here: Here) -> bytes:
        """The member's label key in this circle, recomputed: it is never stored by id."""
        return self.bot.circle_keys.label_key(here.circle, here.member.id)

    # commands ------------------------------------------------------------------------------

    @app_commands.command(name="post")
    async def post(self, interaction: discord.Interaction[Any]) -> None:
        """Write a post that appears in this circle without your name."""
        here, head_count = await participant_form(self.bot, interaction)
        await interaction.response.send_modal(
            PostModal(here.circle.id, head_count=head_count, language=member_language(interaction))
        )

    async def reply_to_message(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """Reply anonymously to any message in a circle."""
        here, head_count = await participant_form(self.bot, interaction)
        me = self.bot.user
        if me is not None and message.author.id == me.id:
            modal = PostModal(
                here.circle.id,
                head_count=head_count,
                language=member_language(interaction),
                reply_to_message_id=message.id,
            )
        else:
            # A reply reference would notify the member who wrote it: quote a link instead.
            modal = PostModal(
                here.circle.id,
                head_count=head_count,
                language=member_language(interaction),
                quote_link=message.jump_url,
            )
        await interaction.response.send_modal(modal)

    @app_commands.command(name="whoami")
    async def whoami(self, interaction: discord.Interaction[Any]) -> None:
        """Privately show the label your anonymous posts carry in this circle."""
        here = await participant_here(self.bot, interaction)
        language = member_language(interaction)
        label_key = self._label_key(here)
        label = await anon.label_for(self.bot.db, here.circle.id, label_key, here.circle.language)
        note = (
            " "
            + tr(
                language,
                "This is a strict circle, so your label changes whenever the bot restarts.",
            )
            if here.circle.strict
            else ""
        )
        await interaction.response.send_message(
            tr(
                language,
                "In this circle your anonymous posts appear as **{label}**. Only you can see "
                "this message.",
                label=label,
            )
            + note,
            ephemeral=True,
        )

    @app_commands.command(name="mine")
    @app_commands.describe(circle="The circle to look in (default: the thread you are in)")
    async def mine(self, interaction: discord.Interaction[Any], circle: str | None = None) -> None:
        """Privately list your anonymous posts in a circle and what happened to them."""
        target, label_key = await own_posts_circle(self.bot, interaction, circle, "mine")
        language = member_language(interaction)
        posts = await anon.posts_by(self.bot.db, target.id, label_key)
        suggested = await suggestions.by_author(
            self.bot.db,
            target.id,
            suggestions.author_key(self.bot.circle_keys.circle_key(target), interaction.user.id),
        )
        if not posts and not suggested:
            await interaction.response.send_message(tr(language, NO_POSTS), ephemeral=True)
            return
        problem = self.problems.cause_of(target.thread_id or 0)
        lines = []
        for p in posts[:20]:
            where = (
                f" — https://discord.com/channels/{target.guild_id}/{target.thread_id}/"
                f"{p.message_id}"
                if p.message_id and p.status == "posted"
                else ""
            )
            when = short_when(language, p.created_at)
            lines.append(f"• {when} UTC: {status_words(p, problem, language)}{where}")
        waiting = problem is not None and any(p.status in ("queued", "sending") for p in posts)
        hint = (
            "\n" + tr(language, "`/anon delete` takes back a waiting post before it goes out.")
            if waiting
            else ""
        )
        hint += await unread_line(self.bot, target.guild_id, interaction.user.id, language)
        parts = []
        if posts:
            parts.append(
                tr(language, "Your anonymous posts here (only you can see this):")
                + "\n"
                + "\n".join(lines)
            )
        if suggested:
            parts.append(
                tr(language, "Your prompt suggestions here (only you can see this):")
                + "\n"
                + "\n".join(_suggestion_line(s, language) for s in suggested[:10])
            )
        await interaction.response.send_message("\n\n".join(parts) + hint, ephemeral=True)

    @app_commands.command(name="contact")
    async def contact(self, interaction: discord.Interaction[Any]) -> None:
        """Write to the moderators without your name; read their answers in /anon inbox."""
        require_member(interaction)
        await interaction.response.send_modal(ContactModal(language=member_language(interaction)))

    @app_commands.command(name="inbox")
    async def inbox(self, interaction: discord.Interaction[Any]) -> None:
        """Privately see the moderators' answers and replies to your anonymous posts."""
        await show_inbox(self.bot, interaction)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A member's Discord reply to an anonymous post is kept for its author's inbox: the
        reply's id only, never its content (the bot has no message-content intent)."""
        reference = message.reference
        if message.guild is None or message.author.bot or reference is None:
            return
        if reference.message_id is None or not isinstance(message.channel, discord.Thread):
            return
        await contact_service.record_reply(self.bot.db, reference.message_id, message.id)

    @app_commands.command(name="delete")
    @app_commands.describe(circle="The circle to delete in (default: the thread you are in)")
    async def delete(
        self, interaction: discord.Interaction[Any], circle: str | None = None
    ) -> None:
        """Delete one or all of your anonymous posts in a circle (messages and records)."""
        target, label_key = await own_posts_circle(self.bot, interaction, circle, "delete")
        language = member_language(interaction)
        posts = await anon.posts_by(self.bot.db, target.id, label_key)
        if not posts:
            raise UserFacingError(NO_POSTS)
        await interaction.response.send_message(
            tr(language, "Which post in “{circle}” should I delete?", circle=target.name),
            view=DeleteMineView(
                target, label_key, posts, self.problems.cause_of(target.thread_id or 0), language
            ),
            ephemeral=True,
        )

    @mine.autocomplete("circle")
    @delete.autocomplete("circle")
    async def _circle_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # The same names /circle list shows anyone in the server.
        if interaction.guild is None:
            return []
        wanted = current.casefold()
        return [
            app_commands.Choice(name=c.name[:100], value=c.name)
            for c in await circles.open_circles(self.bot.db, interaction.guild.id)
            if wanted in c.name.casefold()
        ][:MAX_CHOICES]


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Anonymous(bot))
