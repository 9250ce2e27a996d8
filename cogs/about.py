"""`/about`: what Circlekeeper is for, and exactly what its anonymity promises."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CircleBot
from bot.i18n import N_
from bot.layer.errors import NO_MENTIONS
from bot.layer.i18n import member_language, tr

ABOUT_TEXT = N_("""\
**Circlekeeper** runs moderated discussion circles for communities where speaking up is risky: \
sex workers, sex-worker-rights and anti-trafficking advocates, and trafficking survivors. \
A keeper opens a circle, members join by accepting its agreements, and the circle moves through \
a predictable structure with prompts drawn from an essay on naming harm in the sex trades \
without being harassed, outed or used for someone else's agenda.

**What anonymous really means here**
• Moderators, other members, and anyone holding only the bot's database cannot tell who wrote \
an anonymous post.
• The operator who runs the bot holds a master secret; with it and the database they could \
work out which member wrote which post, except in *strict* circles, whose keys live only in \
memory.
• Discord itself still knows who pressed which button.

**Who can learn what**
• *Someone watching the server* sees every public message and when it appeared. Posts, and \
held posts on their way to moderators, wait a random time (up to 2 minutes unless the server \
changed it), and check-in totals show only from 3 answers, so timing and totals point at no one.
• *Someone with a copy of the database* finds no row that links a member to a post.
• *The operator* could link posts in open circles, not in strict ones.
• *Discord* knows who pressed what.

**What no bot can hide**: who is in the thread; a first post soon after someone joins; your \
writing style; and what you say about yourself. In a circle of fewer than 5 people there are \
too few to hide among, and the bot says so.

Passing never needs a reason. Use `/privacy` for what is stored and for how long, and \
`/resources` for support lines.""")


class About(commands.Cog):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction[Any]) -> None:
        """What Circlekeeper is for, and what its anonymity does and does not promise."""
        # The limits go in an embed: with them the text would pass Discord's 2,000 characters.
        embeds = []
        language = member_language(interaction)
        limits = self.bot.library_for(language).honest_limits
        if limits:
            embeds.append(discord.Embed(title=tr(language, "Honest limits"), description=limits))
        await interaction.response.send_message(
            tr(language, ABOUT_TEXT), embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(About(bot))
