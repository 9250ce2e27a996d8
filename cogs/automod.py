"""Keeps the server's AutoMod rules current for the posting flow: reads them when a server
becomes available and follows the `AUTO_MODERATION_RULE_*` gateway events. No commands: the
word list is `/setup filter`, and `/setup show` says what applies."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.client import CircleBot


class AutoMod(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.bot.server_rules.load(guild)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bot.server_rules.load(guild)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.bot.server_rules.forget(guild.id)

    @commands.Cog.listener()
    async def on_automod_rule_create(self, rule: discord.AutoModRule) -> None:
        self.bot.server_rules.changed(rule)

    @commands.Cog.listener()
    async def on_automod_rule_update(self, rule: discord.AutoModRule) -> None:
        self.bot.server_rules.changed(rule)

    @commands.Cog.listener()
    async def on_automod_rule_delete(self, rule: discord.AutoModRule) -> None:
        self.bot.server_rules.removed(rule)


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(AutoMod(bot))
