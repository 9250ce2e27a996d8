"""`/resources`, `/privacy` and `/mydata`: support, an honest account of what is kept, and a
member's own data; plus the daily retention pass."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.client import CircleBot
from bot.i18n import N_
from bot.layer.contact import contact_view
from bot.layer.discord_utils import require_member, text_channel
from bot.layer.errors import ErrorHandlingView, UserFacingError
from bot.layer.i18n import member_language, tr
from bot.layer.resource_card import CARD_COLOUR, resource_embed
from bot.services import anonymous as anon
from bot.services import circles, departures, safety, suggestions
from bot.services import moderation as mod
from bot.services.anonymous import AnonError
from bot.services.config import get_config

log = logging.getLogger(__name__)

CONFIRM_SECONDS = 120
NOTHING_HELD = N_("Circlekeeper holds nothing linked to you in this server.")
# While dropped text may still sit in the WAL, it is emptied at least this often.
SCRUB_SECONDS = 60


# --- /privacy ----------------------------------------------------------------------------


EMBED_DESCRIPTION_LIMIT = 4096  # Discord's limit for one embed; a message's embeds share 6,000


def privacy_embeds(title: str, body: str) -> list[discord.Embed]:
    """The privacy text as embeds, paragraphs packed so none passes Discord's limit."""
    pages: list[str] = []
    for paragraph in body.split("\n\n"):
        if pages and len(pages[-1]) + 2 + len(paragraph) <= EMBED_DESCRIPTION_LIMIT:
            pages[-1] += "\n\n" + paragraph
        else:
            pages.append(paragraph)
    embeds = [discord.Embed(description=page, colour=CARD_COLOUR) for page in pages]
    embeds[0].title = title
    return embeds


def privacy_text(retention_days: int, delay_seconds: int, language: str = "en") -> str:
    """The /privacy text in the reader's `language`; its first paragraph is the title."""
    window_minutes = int(anon.RATE_WINDOW.total_seconds() // 60)
    draft_minutes = int(anon.DRAFT_TTL.total_seconds() // 60)
    delay = (
        tr(
            language,
            "This server waits a random time of up to {seconds} seconds before an anonymous "
            "post appears, so its timing points at no one.",
            seconds=delay_seconds,
        )
        if delay_seconds
        else tr(
            language,
            "This server posts anonymous messages straight away (its random delay is set to 0), "
            "so a post appears the moment it is written, right after its author's other activity, "
            "and anyone watching can guess who wrote it.",
        )
    )
    grace_days = departures.GRACE.days
    return tr(
        language,
        """\
**What Circlekeeper keeps, and who can see what**

**Stored:** this server's settings; each circle's name, thread, keepers and agreements; who \
joined a circle and when they accepted its agreements; whom a keeper let in past the join \
gate; moderator actions (warnings, timeouts, \
notes, the mod log). Anonymous posts are stored with their label, never with your id; their \
text is kept only until they are posted or decided, then dropped. Because how many agreements \
each member accepted is stored by id, someone holding the database can see who has accepted a \
circle's newest agreement (only they can post), and with two copies, who accepted it in \
between: that narrows who could have written a post made after an agreement was added.

**For how long:** review items, reports and mod-log rows are deleted after \
**{retention_days} days** (this server's setting). Published anonymous posts stay until their \
circle closes or a moderator removes them. A post held because it seemed to contain \
identifying details is forgotten after {draft_minutes} minutes if you don't confirm it. \
Closing a circle destroys its secret salt and its anonymous records, so old labels can never \
be linked to anyone again. If the bot is removed from this server, everything it holds about \
the server is deleted {grace_days} days later; if it is added back before then, nothing is lost.

**Who can tell who wrote an anonymous post:** not moderators, not other members, and not \
anyone who only gets hold of the database. The operator who runs the bot holds a master \
secret; with it and the database they could work out who wrote what, except in *strict* \
circles, whose keys live only in memory. A strict circle's records of posts and blocks stay \
in the database until it closes, but after a restart nothing links them to anyone: its labels \
start afresh, its blocks no longer reach their authors, and you can no longer find or delete \
your older posts there yourself (a moderator can still remove one). {delay} You can post at \
most {rate_limit} times in {window_minutes} minutes per circle; that limit is counted by \
your anonymous key, not your id.

**Reports** carry no reporter id unless you agree to be contacted. The limit of \
{report_limit} reports an hour is counted only in the bot's memory, never stored, so a \
copy of the database cannot tell which reports came from the same person.

**Polls and suggested prompts:** a poll shows nothing while it is open, and only totals \
from at least 5 voters at the end, with counts under 3 hidden; who voted for what is deleted \
when it closes. A prompt you suggest with `/prompt suggest` reaches the keepers without your \
name, and its text is deleted once they decide; suggestions go after **{retention_days} days**.

**Blocks are per circle:** a moderator can block the author of a post from anonymous posting \
in that circle without learning who it is. A server-wide block would link a person's posts \
across circles, so there is none.

**Contacting the moderators** (`/anon contact`): they see your message under a name made \
for that conversation alone, after a random wait, never your name; two of your conversations \
cannot be linked to each other or to your circle labels. Your words are kept only until they \
reach the moderators; their replies until the conversation ends (this server sets when), and \
closing it means it can never be linked to you again. Their replies wait in `/anon inbox`: \
there is no DM, since sending one would need your id stored beside the conversation. What you \
have read is remembered in memory only, so after a restart a reply may show as new once more.

**Private threads:** people with Manage Threads (usually admins and moderators) can see \
private circle threads and who is in them.

**Discord itself** keeps its own records: who pressed which button or used which command, \
messages and their deletion in its systems, and the audit log of moderator actions. \
Circlekeeper deletes anonymous posts itself so the audit log names no member.

`/mydata export` sends you everything linked to you; `/mydata delete` removes it. Your \
anonymous posts are not linked to you in the records, so you remove them yourself with \
`/anon delete`, circle by circle.

**Your own words are never translated** or sent anywhere to be translated: Circlekeeper \
shows its own texts in your language and posts what members write exactly as written.""",
        retention_days=retention_days,
        draft_minutes=draft_minutes,
        grace_days=grace_days,
        delay=delay,
        rate_limit=anon.RATE_LIMIT,
        window_minutes=window_minutes,
        report_limit=mod.REPORT_LIMIT,
    )


def anonymous_posts_advice(counts: dict[str, int], language: str = "en") -> str:
    """What `/mydata delete` says about anonymous posts, which it never touches."""
    text = tr(
        language,
        "**Your anonymous posts are not linked to your account in the records**, so this "
        "does not touch them: removing them in the same moment as your data would itself "
        "link them to you. You remove them yourself: `/anon delete circle:<name>`, then **All my "
        "posts in this circle**, one circle at a time. If you don't want the removals linked "
        "to each other, do each circle at a different time. Circlekeeper schedules nothing for "
        "you: a record made now would itself be the link.",
    )
    if counts:
        where = ", ".join(f"**{name}** ({n})" for name, n in sorted(counts.items()))
        return f"{text}\n" + tr(language, "You have anonymous posts in: {where}.", where=where)
    return f"{text}\n" + tr(
        language, "I found no anonymous posts of yours in this server's open circles."
    )


# --- views -------------------------------------------------------------------------------


class ConfirmDelete(ErrorHandlingView):
    """Delete my data / Keep it. Only the member who asked can answer; times out harmlessly."""

    def __init__(
        self,
        bot: CircleBot,
        member: discord.Member,
        posts: dict[str, int],
        language: str = "en",
    ) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.bot = bot
        self.member = member
        self.posts = posts
        # The language the question was asked in, for its answer and its timing out.
        self.language = language
        self.confirm.label = tr(language, "Delete my data")
        self.cancel.label = tr(language, "Keep it")
        self.message: discord.InteractionMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.member.id

    @discord.ui.button(label="Delete my data", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        self.stop()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await safety.delete_member_data(self.bot.db, self.member.guild.id, self.member.id)
        summary = (
            tr(
                self.language,
                "Done. Circlekeeper no longer holds your id: your circle memberships are gone, "
                "and moderation records about you keep only the moderator's own words, without "
                "your id. Messages already posted in the mod-log channel stay there; ask a "
                "server admin if you want them removed.",
            )
            + "\n\n"
            + anonymous_posts_advice(self.posts, self.language)
        )
        await interaction.edit_original_response(content=summary, view=None)

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=tr(self.language, "Nothing was deleted."), view=None
        )

    async def on_timeout(self) -> None:
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(
                    content=tr(self.language, "Nothing was deleted (timed out)."), view=None
                )


async def member_label_keys(bot: CircleBot, member: discord.Member) -> dict[int, bytes]:
    """The member's label key in every open circle of the server."""
    keys: dict[int, bytes] = {}
    for circle in await circles.open_circles(bot.db, member.guild.id):
        try:
            keys[circle.id] = bot.circle_keys.label_key(circle, member.id)
        except AnonError:
            continue
    return keys


# --- the cog -----------------------------------------------------------------------------


class Safety(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.retention.start()
        self.scrubber.start()

    async def cog_unload(self) -> None:
        self.retention.cancel()
        self.scrubber.cancel()

    @app_commands.command(name="resources")
    async def resources(self, interaction: discord.Interaction[Any]) -> None:
        """Support lines and services, shown only to you."""
        guild_id = interaction.guild.id if interaction.guild else None
        language = member_language(interaction)
        embed = await resource_embed(self.bot, guild_id, language)
        if guild_id is None:
            await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        # In a server, the card also offers a way to reach its moderators without a name.
        await interaction.response.send_message(
            embed=embed, view=contact_view(language), ephemeral=True
        )

    @app_commands.command(name="privacy")
    @app_commands.guild_only()
    async def privacy(self, interaction: discord.Interaction[Any]) -> None:
        """What Circlekeeper keeps, for how long, and who can see what."""
        member = require_member(interaction)
        config = await get_config(self.bot.db, member.guild.id)
        text = privacy_text(
            config.retention_days, config.delay_max_seconds, member_language(interaction)
        )
        title, _, body = text.partition("\n\n")
        await interaction.response.send_message(
            embeds=privacy_embeds(title.strip("*"), body), ephemeral=True
        )

    mydata = app_commands.Group(
        name="mydata", description="What Circlekeeper holds about you.", guild_only=True
    )

    @mydata.command(name="export")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        """Get a file of everything Circlekeeper holds that is linked to you."""
        member = require_member(interaction)
        keys = await member_label_keys(self.bot, member)
        data = await safety.collect_member_data(
            self.bot.db,
            member.guild.id,
            member.id,
            keys,
            removal_key=circles.removal_key(self.bot.settings.secret, member.id),
        )
        language = member_language(interaction)
        if data.is_empty():
            await interaction.response.send_message(tr(language, NOTHING_HELD), ephemeral=True)
            return
        payload = json.dumps(data.as_json_dict(), indent=2, ensure_ascii=False).encode()
        await interaction.response.send_message(
            tr(language, "Here is everything linked to you. Only you can see this."),
            file=discord.File(io.BytesIO(payload), filename="circlekeeper-my-data.json"),
            ephemeral=True,
        )

    @mydata.command(name="delete")
    async def delete(self, interaction: discord.Interaction[Any]) -> None:
        """Delete everything Circlekeeper holds by your id (asks first); says how to remove
        your anonymous posts, which it never links to you."""
        member = require_member(interaction)
        keys = await member_label_keys(self.bot, member)
        data = await safety.collect_member_data(
            self.bot.db,
            member.guild.id,
            member.id,
            keys,
            removal_key=circles.removal_key(self.bot.settings.secret, member.id),
        )
        posts = data.anonymous_posts_per_circle()
        language = member_language(interaction)
        if not data.has_named_data():
            if not posts:
                raise UserFacingError(NOTHING_HELD)
            await interaction.response.send_message(
                tr(language, "Circlekeeper holds nothing stored by your id in this server.")
                + "\n\n"
                + anonymous_posts_advice(posts, language),
                ephemeral=True,
            )
            return
        view = ConfirmDelete(self.bot, member, posts, language)
        await interaction.response.send_message(
            tr(
                language,
                "This removes your circle memberships and keeper roles; moderation records "
                "about you are kept without your id. It cannot be undone. It does not remove "
                "your anonymous posts (I'll say how to do that). Delete?",
            ),
            view=view,
            ephemeral=True,
        )
        view.message = await interaction.original_response()

    # scrubbing the files --------------------------------------------------------------------

    @tasks.loop(seconds=SCRUB_SECONDS)
    async def scrubber(self) -> None:
        """Empty the WAL when text was dropped (a post delivered or decided) since last time."""
        if self.bot.db.scrub_pending:
            await self.bot.db.scrub()

    @scrubber.error
    async def _scrubber_error(self, error: BaseException) -> None:
        log.error("Emptying the database's WAL failed", exc_info=error)

    # retention -----------------------------------------------------------------------------

    @tasks.loop(hours=24)
    async def retention(self) -> None:
        await self.run_retention()

    @retention.before_loop
    async def _before_retention(self) -> None:
        await self.bot.wait_until_ready()

    @retention.error
    async def _retention_error(self, error: BaseException) -> None:
        log.error("The retention pass failed", exc_info=error)

    async def run_retention(self) -> None:
        """Delete what is past each server's retention window, queue messages included."""
        now = discord.utils.utcnow()
        await anon.purge_expired(self.bot.db, now=now)
        for guild_id, days in await safety.guilds_with_data(self.bot.db):
            expired = await safety.purge_expired_records(self.bot.db, guild_id, days, now=now)
            await suggestions.purge_expired(self.bot.db, guild_id, days, now=now)
            if expired.rows:
                log.info("Retention removed %s records in a server", expired.rows)
            guild = self.bot.get_guild(guild_id)
            if guild is None:
                continue
            config = await get_config(self.bot.db, guild_id)
            for channel_id, message_id in expired.queue_messages:
                channel = text_channel(guild, channel_id or config.queue_channel_id)
                if channel is None:
                    continue
                try:
                    await channel.get_partial_message(message_id).delete()
                except discord.NotFound:
                    continue
                except discord.HTTPException as error:
                    log.warning("Could not delete an expired queue message (HTTP %s)", error.status)


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Safety(bot))
