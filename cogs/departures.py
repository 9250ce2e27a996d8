"""A clean departure: when the bot is removed from a server, or finds at start that it is no
longer in a server it holds data for, that server's data is deleted after a grace period;
coming back within it cancels the deletion and keeps everything."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands, tasks

from bot.client import CircleBot
from bot.layer.timing import sleep_until_due, wake_by
from bot.services import departures

log = logging.getLogger(__name__)


class Departures(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.purger.start()

    async def cog_unload(self) -> None:
        self.purger.cancel()

    def _owns(self, guild_id: int) -> bool:
        shard_ids = getattr(self.bot, "shard_ids", None)
        if shard_ids is None and self.bot.shard_id is not None:
            shard_ids = [self.bot.shard_id]
        return departures.owns_guild(guild_id, self.bot.shard_count, shard_ids)

    async def _schedule(self, guild_id: int) -> None:
        due = await departures.schedule(self.bot.db, guild_id, now=discord.utils.utcnow())
        if due is not None:
            log.info("Left server %s: its data will be deleted at %s", guild_id, due)
            wake_by(self.purger, due)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self._schedule(guild.id)

    async def _returned(self, guild_id: int) -> None:
        if await departures.cancel(self.bot.db, guild_id):
            log.info("Back in server %s: its data is kept", guild_id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._returned(guild.id)

    async def check_servers(self) -> None:
        """At start: schedule a purge for every server of ours with data that the bot is no
        longer in, and cancel those for servers it is in again."""
        for guild_id in await departures.pending(self.bot.db):
            if self.bot.get_guild(guild_id) is not None:
                await self._returned(guild_id)
        for guild_id in sorted(await departures.guilds_with_data(self.bot.db)):
            if self.bot.get_guild(guild_id) is None and self._owns(guild_id):
                await self._schedule(guild_id)

    async def purge_due(self) -> None:
        for guild_id in await departures.due(self.bot.db, now=discord.utils.utcnow()):
            if self.bot.get_guild(guild_id) is not None:
                await self._returned(guild_id)  # back, and the join went unnoticed
                continue
            purged = await departures.purge(self.bot.db, guild_id)
            for circle_id in purged.circle_ids:
                self.bot.circle_keys.forget(circle_id)
                self.bot.checkins.end_circle(circle_id)
            log.info(
                "Deleted the data of server %s after the grace period (%s rows)",
                guild_id,
                sum(purged.rows.values()),
            )

    @tasks.loop(hours=1)
    async def purger(self) -> None:
        try:
            await self.purge_due()
        except Exception:
            log.exception("Deleting the data of servers the bot left failed")
        sleep_until_due(self.purger, await departures.next_due(self.bot.db))

    @purger.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()
        try:
            await self.check_servers()
        except Exception:
            log.exception("Could not check for servers the bot has left")


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Departures(bot))
