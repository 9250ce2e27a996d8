"""The bot: owns start-up (database, extensions, persistent buttons, command sync) and shutdown.

`create_bot(settings)` is the one way to build it — for a live connection, tests, benchmarks and
the offline rehearsal alike.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.db import Database
from bot.decks import Library, load_libraries
from bot.i18n import shipped_languages
from bot.layer.automod import ServerRules
from bot.layer.clock import Clock
from bot.layer.contact import CONTACT_ITEMS, ContactDesk
from bot.layer.errors import CircleTree
from bot.layer.i18n import CommandTranslator
from bot.layer.posting import LAYER_ITEMS, Outbox
from bot.logs import quiet_third_party_loggers
from bot.services.anonymous import CircleKeys
from bot.services.delivery import ChannelProblems
from bot.services.moderation import ReportLimits
from bot.services.structure import Checkins
from bot.settings import Settings

log = logging.getLogger(__name__)

# Loaded in this order; each module's `setup` adds its cog and its persistent buttons.
EXTENSIONS = (
    "cogs.setup",
    "cogs.about",
    "cogs.circles",
    "cogs.prompts",
    "cogs.anonymous",
    "cogs.moderation",
    "cogs.safety",
    "cogs.departures",
    "cogs.automod",
)


class CircleBot(commands.Bot):
    """discord.py bot with the database and settings every cog reads through `bot`."""

    def __init__(self, settings: Settings, library: Library | None = None) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # threads and channels; no members, no message content
        # Members' replies to anonymous posts (for their authors' inbox): never the content.
        intents.guild_messages = True
        # The server's AutoMod rules as they change (not privileged; needs Manage Server).
        intents.auto_moderation_configuration = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=CircleTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        quiet_third_party_loggers()
        self.settings = settings
        # Decks and fixed texts are validated here, so a broken file stops start-up at once.
        # One library per shipped language; `library` is the English one.
        self.libraries = (
            {"en": library} if library is not None else load_libraries(shipped_languages())
        )
        self.library = self.libraries["en"]
        self._db: Database | None = None
        # Derives anonymous label keys; holds strict circles' keys, which live only in memory.
        self.circle_keys = CircleKeys(settings.secret)
        # Channels the bot cannot post members' words in right now (memory only).
        self.delivery_problems = ChannelProblems()
        # Each server's AutoMod rules, applied to what the bot posts in members' words.
        self.server_rules = ServerRules()
        # Check-in totals and who was counted live here only, never in the database.
        self.checkins = Checkins()
        # How many reports each person sent lately, by a per-process key; memory only, so a
        # restart forgets it (a row per report would let the file group reports by sender).
        self.report_limits = ReportLimits()
        # Sends anonymous posts when their time comes (started once the database is open).
        self.outbox = Outbox(self)
        # Ends pauses and turns on time; the circles cog gives it that work.
        self.clock = Clock(self)
        # Contact conversations with the moderators: delivery, and what lives in memory only.
        self.contact = ContactDesk(self)

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("The database is opened in setup_hook; the bot has not started")
        return self._db

    def library_for(self, language: str) -> Library:
        """The content in `language` (a circle's), or English when it has none."""
        return self.libraries.get(language, self.library)

    async def setup_hook(self) -> None:
        # Command names and descriptions in each shipped language, from commands.po.
        await self.tree.set_translator(CommandTranslator())
        self._db = await Database.open(self.settings.database_path)
        # Buttons the layer puts on messages of several cogs work whichever cogs are loaded.
        self.add_dynamic_items(*LAYER_ITEMS, *CONTACT_ITEMS)
        await self.contact.prepare()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.sync_commands:
            await self.tree.sync()
        elif self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("Synced commands to the development server")
        self.outbox.start()
        self.contact.start()

    async def close(self) -> None:
        self.outbox.stop()
        self.contact.stop()
        self.checkins.end_all()  # stops their clocks; check-ins end with the process anyway
        try:
            await super().close()
        finally:
            if self._db is not None:
                await self._db.close()
                self._db = None


def create_bot(settings: Settings) -> CircleBot:
    """Build the bot, ready for `start()` or for the simulated Discord."""
    return CircleBot(settings)
