"""`/setup`: per-server configuration, for members with Manage Server."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CircleBot
from bot.decks import (
    POLICE_MAY,
    POLICE_NEVER,
    POLICE_NOT_STATED,
    POLICE_STATED_CASES,
    police_words,
)
from bot.i18n import ENGLISH, N_, Phrase, language_name
from bot.layer.automod import describe_rules
from bot.layer.discord_utils import log_action, log_language, require_member
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import delay_words, language_choices, member_language, tr
from bot.services import automod, safety
from bot.services import config as config_service
from bot.services import contact as contact_service
from bot.services.config import DEFAULT_DELAY_SECONDS, DELAY_NOTICE, GuildConfig

log = logging.getLogger(__name__)

NO_DELAY_COST = N_(
    "with no delay, a post appears the moment it is written, right after its author's other "
    "activity (joining, reacting, typing elsewhere), so anyone watching can guess who wrote it"
)
DELAY_NOTICE_TEXT = N_(
    "Anonymous posts now wait a random time of up to {minutes} minutes before they appear "
    "(this server had no delay before), so a post's timing does not point at whoever was just "
    "active. Change it with `/setup delay`; 0 turns it off, and then {cost}."
)

POLICE_OPTIONS = [
    app_commands.Choice(name="Says it never contacts police or authorities", value=POLICE_NEVER),
    app_commands.Choice(
        name="Contacts them only in cases it states (say which)", value=POLICE_STATED_CASES
    ),
    app_commands.Choice(name="May share what people say with police", value=POLICE_MAY),
    app_commands.Choice(name="Its page does not say", value=POLICE_NOT_STATED),
]

# The gate's numbers are never shown again after they are set (not here, not in the mod log):
# they would tell anyone watching how long to wait.
GATE_ON = N_(
    "on (new accounts or new server members wait before joining a circle, unless a keeper "
    "admits them with `/circle admit`)"
)


def _channel(channel_id: int | None, language: str = ENGLISH) -> str:
    return f"<#{channel_id}>" if channel_id else tr(language, "not set")


def describe_config(config: GuildConfig, language: str = ENGLISH) -> str:
    """The server's settings, in `language` (the admin's)."""
    role = (
        f"<@&{config.moderator_role_id}>" if config.moderator_role_id else tr(language, "not set")
    )
    delay = (
        tr(
            language,
            "up to {seconds} seconds (posts appear {when})",
            seconds=config.delay_max_seconds,
            when=delay_words(language, config.delay_max_seconds),
        )
        if config.delay_max_seconds
        else tr(
            language,
            "off: {cost}. `/setup delay` turns it back on",
            cost=tr(language, NO_DELAY_COST),
        )
    )
    return "\n".join(
        [
            tr(language, "**Circlekeeper settings for this server**"),
            tr(
                language,
                "Moderator role: {role} (members with Manage Messages are moderators too)",
                role=role,
            ),
            tr(
                language,
                "Queue channel (held anonymous posts, reports): {channel}",
                channel=_channel(config.queue_channel_id, language),
            ),
            tr(
                language,
                "Mod-log channel: {channel}",
                channel=_channel(config.modlog_channel_id, language),
            ),
            tr(
                language,
                "Escalation channel (reports about moderators or keepers): {channel}",
                channel=_channel(config.escalation_channel_id, language),
            ),
            tr(
                language,
                "Retention of review items, reports and mod-log rows: {days} days",
                days=config.retention_days,
            ),
            tr(language, "Random delay before anonymous posts appear: {delay}", delay=delay),
            tr(
                language,
                "Mention the moderator role on new queue items: {answer}",
                answer=tr(language, "yes") if config.ping_moderators else tr(language, "no"),
            ),
            tr(
                language,
                "Join gate: {state}",
                state=tr(language, GATE_ON) if config.gated else tr(language, "off"),
            ),
            tr(
                language,
                "Language of new circles and the server's channels: {language}",
                language=language_name(config.language)
                if config.language
                else tr(language, "the server's own"),
            ),
        ]
    )


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Setup(commands.GroupCog, group_name="setup"):
    """Configure Circlekeeper for this server (Manage Server)."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self._notices: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        self._notices = asyncio.create_task(self._send_delay_notices())

    async def cog_unload(self) -> None:
        if self._notices is not None:
            self._notices.cancel()

    async def _send_delay_notices(self) -> None:
        """Tell each server the upgrade moved off "no delay", once, in its mod log."""
        await self.bot.wait_until_ready()
        for guild_id in await config_service.pending_notices(self.bot.db, DELAY_NOTICE):
            guild = self.bot.get_guild(guild_id)
            if guild is None:
                continue  # not in that server right now: try again after the next start
            try:
                language = await log_language(self.bot.db, guild)
                notice = tr(
                    language,
                    DELAY_NOTICE_TEXT,
                    minutes=DEFAULT_DELAY_SECONDS // 60,
                    cost=Phrase(NO_DELAY_COST),
                )
                await log_action(
                    self.bot.db, guild, moderator_id=None, action="setup", details=notice
                )
            except Exception:
                log.exception("Could not record the delay notice for a server")
                continue
            # Cleared once recorded: the mod log's own row is the notice, posted or not.
            await config_service.clear_notice(self.bot.db, guild_id, DELAY_NOTICE)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # Discord hides /setup from others, but a server can override that; check again.
        member = require_member(interaction)
        if not member.guild_permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    async def _record(self, interaction: discord.Interaction[Any], what: Phrase) -> None:
        """Write a settings change to the mod log, in the server's language."""
        assert interaction.guild is not None
        language = await log_language(self.bot.db, interaction.guild)
        await log_action(
            self.bot.db,
            interaction.guild,
            moderator_id=interaction.user.id,
            action="setup",
            details=tr(language, what.template, **what.values),
        )

    async def _changed(
        self, interaction: discord.Interaction[Any], config: GuildConfig, what: Phrase
    ) -> None:
        await self._record(interaction, what)
        language = member_language(interaction)
        await interaction.response.send_message(
            tr(language, "Saved: {what}.", what=what) + "\n\n" + describe_config(config, language),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        """Show this server's Circlekeeper settings."""
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True)  # reading the rules asks Discord
        config = await config_service.get_config(self.bot.db, interaction.guild.id)
        language = member_language(interaction)
        rules = await describe_rules(self.bot, interaction.guild, language)
        await interaction.followup.send(
            f"{describe_config(config, language)}\n\n{rules}",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="moderators")
    @app_commands.describe(role="Members with this role can moderate circles")
    async def moderators(self, interaction: discord.Interaction[Any], role: discord.Role) -> None:
        """Choose the moderator role."""
        assert interaction.guild is not None
        if role.is_default():
            raise UserFacingError(N_("Choose a role other than @everyone."))
        config = await config_service.set_moderator_role(self.bot.db, interaction.guild.id, role.id)
        await self._changed(
            interaction, config, Phrase(N_("moderator role set to {role}"), role=role.mention)
        )

    async def _set_channel(
        self,
        interaction: discord.Interaction[Any],
        kind: str,
        channel: discord.TextChannel,
        what: str,
    ) -> None:
        """Save one of the server's channels; `what` reads "… set to {channel}"."""
        assert interaction.guild is not None
        me = interaction.guild.me
        perms = channel.permissions_for(me)
        if not (perms.view_channel and perms.send_messages and perms.embed_links):
            raise UserFacingError(
                N_(
                    "I can't post in {channel}: give me View Channel, Send Messages and "
                    "Embed Links there, then try again."
                ),
                channel=channel.mention,
            )
        config = await config_service.set_channel(
            self.bot.db, interaction.guild.id, kind, channel.id
        )
        await self._changed(interaction, config, Phrase(what, channel=channel.mention))

    @app_commands.command(name="queue")
    @app_commands.describe(channel="Where held anonymous posts and reports go (moderators only)")
    async def queue(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Choose the moderators' queue channel."""
        await self._set_channel(interaction, "queue", channel, N_("queue channel set to {channel}"))

    @app_commands.command(name="modlog")
    @app_commands.describe(channel="Where every moderator action is recorded")
    async def modlog(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Choose the mod-log channel."""
        await self._set_channel(
            interaction, "modlog", channel, N_("mod-log channel set to {channel}")
        )

    @app_commands.command(name="escalation")
    @app_commands.describe(channel="Where reports about moderators or keepers go (admins only)")
    async def escalation(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Choose the escalation channel for reports about moderators or keepers."""
        await self._set_channel(
            interaction, "escalation", channel, N_("escalation channel set to {channel}")
        )

    @app_commands.command(name="retention")
    @app_commands.describe(days="Days to keep review items, reports and mod-log rows (1-365)")
    async def retention(
        self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365]
    ) -> None:
        """Set how long moderation records are kept."""
        assert interaction.guild is not None
        config = await config_service.set_retention(self.bot.db, interaction.guild.id, days)
        await self._changed(
            interaction, config, Phrase(N_("retention set to {days} days"), days=days)
        )

    @app_commands.command(name="delay")
    @app_commands.describe(
        max_seconds="Anonymous posts appear after a random wait up to this long (0-600; 0 = off)"
    )
    async def delay(
        self, interaction: discord.Interaction[Any], max_seconds: app_commands.Range[int, 0, 600]
    ) -> None:
        """Set a random delay for anonymous posts, so timing does not give anyone away."""
        assert interaction.guild is not None
        config = await config_service.set_delay(self.bot.db, interaction.guild.id, max_seconds)
        what = (
            Phrase(N_("anonymous delay set to {seconds} seconds"), seconds=max_seconds)
            if max_seconds
            else Phrase(
                N_("anonymous delay set to 0 seconds (off: {cost})"), cost=Phrase(NO_DELAY_COST)
            )
        )
        await self._changed(interaction, config, what)

    @app_commands.command(name="join_gate")
    @app_commands.describe(
        account_days="Discord accounts younger than this many days cannot join circles (0 = off)",
        server_days="Members who joined this server fewer days ago cannot join circles (0 = off)",
    )
    async def join_gate(
        self, interaction: discord.Interaction[Any], account_days: int = 0, server_days: int = 0
    ) -> None:
        """Keep very new accounts and new members out of circles for a while (0 and 0 = off)."""
        assert interaction.guild is not None
        before = await config_service.get_config(self.bot.db, interaction.guild.id)
        config = await config_service.set_join_gate(
            self.bot.db, interaction.guild.id, account_days, server_days
        )
        # Logged without the numbers; only the admin who set them sees them, once.
        if before.gated and config.gated:
            what = Phrase(N_("join gate changed"))
        else:
            what = Phrase(N_("join gate turned on") if config.gated else N_("join gate turned off"))
        await self._record(interaction, what)
        language = member_language(interaction)
        if account_days and server_days:
            numbers = tr(
                language,
                "Discord accounts younger than {account} days and members who joined this "
                "server less than {server} days ago wait before joining a circle. These numbers "
                "are not shown again, so note them if you need them",
                account=account_days,
                server=server_days,
            )
        elif account_days:
            numbers = tr(
                language,
                "Discord accounts younger than {account} days wait before joining a circle. "
                "These numbers are not shown again, so note them if you need them",
                account=account_days,
            )
        elif server_days:
            numbers = tr(
                language,
                "members who joined this server less than {server} days ago wait before "
                "joining a circle. These numbers are not shown again, so note them if you "
                "need them",
                server=server_days,
            )
        else:
            numbers = tr(language, "anyone in the server can join a circle")
        await interaction.response.send_message(
            tr(language, "Saved: {what}: {numbers}.", what=what, numbers=numbers)
            + "\n\n"
            + describe_config(config, language),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        self.bot.dispatch("join_gate_change", interaction.guild.id)

    @app_commands.command(name="ping_moderators")
    @app_commands.describe(enabled="Mention the moderator role when something new is queued")
    async def ping_moderators(self, interaction: discord.Interaction[Any], enabled: bool) -> None:
        """Choose whether new queue items mention the moderator role."""
        assert interaction.guild is not None
        config = await config_service.set_ping_moderators(
            self.bot.db, interaction.guild.id, enabled
        )
        what = (
            N_("moderator mentions on queue items on")
            if enabled
            else N_("moderator mentions on queue items off")
        )
        await self._changed(interaction, config, Phrase(what))

    @app_commands.command(name="language")
    @app_commands.describe(language="The language of this server's new circles and its channels")
    @app_commands.choices(language=language_choices())
    async def language(
        self, interaction: discord.Interaction[Any], language: app_commands.Choice[str]
    ) -> None:
        """Choose the language new circles and the server's own channels use."""
        assert interaction.guild is not None
        config = await config_service.set_language(
            self.bot.db, interaction.guild.id, language.value
        )
        await self._changed(
            interaction, config, Phrase(N_("language set to {language}"), language=language.name)
        )

    # contact conversations -----------------------------------------------------------------

    contact = app_commands.Group(
        name="contact", description="Members' conversations with the moderators (/anon contact)."
    )

    async def _contact_changed(
        self, interaction: discord.Interaction[Any], what: Phrase, settings: Any
    ) -> None:
        await self._record(interaction, what)
        language = member_language(interaction)
        where = (
            _channel(settings.channel_id)
            if settings.channel_id
            else tr(language, "the queue channel")
        )
        mode = tr(
            language,
            "memory-keyed: lost at a restart, unlinkable even by whoever runs the bot"
            if settings.memory_keyed
            else "kept across restarts",
        )
        await interaction.response.send_message(
            tr(language, "Saved: {what}.", what=what)
            + "\n\n"
            + tr(
                language,
                "**Contact conversations**: arrive in {where}; end and are purged {days} days "
                "after opening; {mode}.",
                where=where,
                days=settings.retention_days,
                mode=mode,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @contact.command(name="channel")
    @app_commands.describe(channel="Where members' messages to the moderators arrive")
    async def contact_channel(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        """Choose where contact conversations arrive (default: the queue channel)."""
        assert interaction.guild is not None
        perms = channel.permissions_for(interaction.guild.me)
        if not (perms.view_channel and perms.send_messages and perms.embed_links):
            raise UserFacingError(
                N_(
                    "I can't post in {channel}: give me View Channel, Send Messages and "
                    "Embed Links there, then try again."
                ),
                channel=channel.mention,
            )
        settings = await contact_service.set_channel(self.bot.db, interaction.guild.id, channel.id)
        await self._contact_changed(
            interaction,
            Phrase(N_("contact channel set to {channel}"), channel=channel.mention),
            settings,
        )
        await self.bot.contact.channel_set(interaction.guild)

    @contact.command(name="days")
    @app_commands.describe(days="Days after opening when a conversation ends and its text goes")
    async def contact_days(
        self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365]
    ) -> None:
        """Set how long contact conversations last (for conversations opened from now)."""
        assert interaction.guild is not None
        settings = await contact_service.set_retention(self.bot.db, interaction.guild.id, days)
        await self._contact_changed(
            interaction, Phrase(N_("contact conversations last {days} days"), days=days), settings
        )

    @contact.command(name="memory_keyed")
    @app_commands.describe(
        enabled="Keep conversations' keys in memory only: they end at every restart"
    )
    async def contact_memory_keyed(
        self, interaction: discord.Interaction[Any], enabled: bool
    ) -> None:
        """Make new contact conversations memory-keyed, as strict circles are."""
        assert interaction.guild is not None
        settings = await contact_service.set_memory_keyed(
            self.bot.db, interaction.guild.id, enabled
        )
        what = (
            N_("memory-keyed contact conversations on")
            if enabled
            else N_("memory-keyed contact conversations off")
        )
        await self._contact_changed(interaction, Phrase(what), settings)

    # resources -----------------------------------------------------------------------------

    resources = app_commands.Group(
        name="resources", description="This server's own entries on the resource card."
    )

    @resources.command(name="add")
    @app_commands.describe(
        name="The service's name",
        contact="Phone, text or web address, exactly as the service publishes it",
        police="What the service's own page says about contacting police (shown first)",
        police_cases="If it contacts police only in some cases: which, as its page says",
        url="The service's own page (https://…)",
        region="Where it helps, e.g. a city or country",
        confidentiality="What the service says about confidentiality and reporting",
    )
    @app_commands.choices(police=POLICE_OPTIONS)
    async def resources_add(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        contact: str,
        police: app_commands.Choice[str],
        police_cases: str | None = None,
        url: str | None = None,
        region: str | None = None,
        confidentiality: str | None = None,
    ) -> None:
        """Add a local support service to the resource card."""
        assert interaction.guild is not None
        fields = {"name": name, "contact": contact, "url": url, "region": region}
        fields["confidentiality"] = confidentiality
        fields["police"] = police.value
        fields["police_cases"] = police_cases
        data = {key: value for key, value in fields.items() if value is not None}
        try:
            added = await safety.add_resource(
                self.bot.db, interaction.guild.id, data, now=discord.utils.utcnow()
            )
        except safety.SafetyError as error:
            raise UserFacingError(error.template, **error.values) from None
        await self._record(interaction, Phrase(N_("resource added: {name}"), name=added.name))
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Added **{name}** to the resource card (`/resources`).",
                name=added.name,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @resources.command(name="list")
    async def resources_list(self, interaction: discord.Interaction[Any]) -> None:
        """List this server's own resources with their ids."""
        assert interaction.guild is not None
        own = await safety.server_resources(self.bot.db, interaction.guild.id)
        language = member_language(interaction)
        text = "\n".join(
            tr(
                language,
                "`{id}` {name}: {contact} · {police}",
                id=rid,
                name=r.name,
                contact=r.contact,
                police=police_words(r, language),
            )
            for rid, r in own
        )
        await interaction.response.send_message(
            text or tr(language, "This server has added no resources of its own yet."),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @resources.command(name="remove")
    @app_commands.describe(resource_id="The id shown by /setup resources list")
    async def resources_remove(
        self, interaction: discord.Interaction[Any], resource_id: int
    ) -> None:
        """Remove one of this server's own resources."""
        assert interaction.guild is not None
        if not await safety.remove_resource(self.bot.db, interaction.guild.id, resource_id):
            raise UserFacingError(N_("This server has no resource with id {id}."), id=resource_id)
        await self._record(interaction, Phrase(N_("resource {id} removed"), id=resource_id))
        await interaction.response.send_message(
            tr(member_language(interaction), "Removed."), ephemeral=True
        )

    # the server's word list ----------------------------------------------------------------

    filter = app_commands.Group(
        name="filter",
        description="This server's own word list for anonymous posts (none ships by default).",
    )

    @filter.command(name="add")
    @app_commands.describe(
        word="A word or phrase; cat* starts a word, *cat ends one, *cat* is anywhere",
        action="Block the post (the author can edit), or hold it for moderators",
    )
    @app_commands.choices(
        action=[
            app_commands.Choice(name="Block (the author is told and can edit)", value="block"),
            app_commands.Choice(name="Hold for moderators to review", value="review"),
        ]
    )
    async def filter_add(
        self, interaction: discord.Interaction[Any], word: str, action: str = "block"
    ) -> None:
        """Add a word to this server's list for anonymous posts, with AutoMod's matching."""
        assert interaction.guild is not None
        chosen: automod.Action = "review" if action == "review" else "block"
        stored, new = await automod.add_word(self.bot.db, interaction.guild.id, word, chosen)
        what = (
            N_("word list: `{word}` blocks posts")
            if chosen == "block"
            else N_("word list: `{word}` holds posts for review")
        )
        await self._record(interaction, Phrase(what, word=stored))
        language = member_language(interaction)
        if chosen == "block":
            said = tr(
                language,
                "Added: `{word}` now blocks posts with it."
                if new
                else "Changed: `{word}` now blocks posts with it.",
                word=stored,
            )
        else:
            said = tr(
                language,
                "Added: `{word}` now holds posts with it for review."
                if new
                else "Changed: `{word}` now holds posts with it for review.",
                word=stored,
            )
        await interaction.response.send_message(
            said,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @filter.command(name="remove")
    @app_commands.describe(word="The entry as /setup filter list shows it")
    async def filter_remove(self, interaction: discord.Interaction[Any], word: str) -> None:
        """Remove a word from this server's list."""
        assert interaction.guild is not None
        if not await automod.remove_word(self.bot.db, interaction.guild.id, word):
            raise UserFacingError(N_("That entry is not on this server's word list."))
        await self._record(
            interaction, Phrase(N_("word list: `{word}` removed"), word=word.strip().lower())
        )
        await interaction.response.send_message(
            tr(member_language(interaction), "Removed."),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @filter.command(name="list")
    async def filter_list(self, interaction: discord.Interaction[Any]) -> None:
        """This server's word list and what each entry does."""
        assert interaction.guild is not None
        entries = await automod.words(self.bot.db, interaction.guild.id)
        language = member_language(interaction)
        text = "\n".join(
            tr(
                language,
                "`{word}`: blocks" if a == "block" else "`{word}`: holds for review",
                word=w,
            )
            for w, a in entries
        )
        await interaction.response.send_message(
            (text or tr(language, "This server's word list is empty. None ships by default."))[
                :2000
            ],
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Setup(bot))
