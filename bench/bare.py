"""The baseline: a bare discord.py bot doing the same visible work with none of our logic.

`/open` makes a private thread and a card with a Join button (setup only, like `/circle
create`); Join answers privately with an I agree button, whose click answers and adds the member
to the thread; `/post` opens a modal whose submit acknowledges privately and does
`channel.send(text)`; `/next` acknowledges privately and sends an embed. No database, no
checks: what is left is discord.py and the simulated Discord.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

NO_MENTIONS = discord.AllowedMentions.none()
AGREEMENTS = "\n".join(
    f"**{n}.** An agreement of the circle, about as long as one of ours, said plainly here."
    for n in range(1, 8)
)


class BareBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=NO_MENTIONS,
        )

    async def setup_hook(self) -> None:
        self.tree.add_command(open_thread)
        self.tree.add_command(post)
        self.tree.add_command(next_prompt)
        await self.tree.sync()


class AgreeView(discord.ui.View):
    def __init__(self, thread_id: int) -> None:
        super().__init__(timeout=None)
        self.thread_id = thread_id

    @discord.ui.button(label="I agree", style=discord.ButtonStyle.success)
    async def agree(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[AgreeView]
    ) -> None:
        guild = interaction.guild
        thread = guild.get_thread(self.thread_id) if guild else None
        if thread is None or not isinstance(interaction.user, discord.Member):
            raise RuntimeError("the bare bot lost its thread")
        await thread.add_user(interaction.user)
        await interaction.response.edit_message(content="You're in.", embed=None, view=None)
        self.stop()  # answered: discord.py need not keep this view any longer


class JoinView(discord.ui.View):
    def __init__(self, thread_id: int) -> None:
        super().__init__(timeout=None)
        self.thread_id = thread_id

    @discord.ui.button(label="Join", style=discord.ButtonStyle.primary)
    async def join(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[JoinView]
    ) -> None:
        await interaction.response.send_message(
            embed=discord.Embed(title="Agreements", description=AGREEMENTS),
            view=AgreeView(self.thread_id),
            ephemeral=True,
        )


async def make_thread(
    channel: discord.TextChannel, name: str, keeper: discord.abc.Snowflake
) -> discord.Thread:
    """A private thread with its keeper, a card with Join in the channel, and the agreements
    in the thread: the messages `/circle create` leaves."""
    thread = await channel.create_thread(
        name=name, type=discord.ChannelType.private_thread, invitable=False
    )
    await thread.add_user(keeper)
    await channel.send(
        embed=discord.Embed(title=name, description="A circle."), view=JoinView(thread.id)
    )
    await thread.send(embed=discord.Embed(title="Agreements", description=AGREEMENTS))
    return thread


@app_commands.command(name="open")
async def open_thread(interaction: discord.Interaction[Any], name: str) -> None:
    """Open a private thread with a Join card."""
    channel = interaction.channel
    if not isinstance(channel, discord.TextChannel) or not isinstance(
        interaction.user, discord.Member
    ):
        raise RuntimeError("/open needs a text channel in a server")
    await interaction.response.defer(ephemeral=True, thinking=True)
    await make_thread(channel, name, interaction.user)
    await interaction.followup.send("Open.", ephemeral=True)


class PostModal(discord.ui.Modal, title="Post"):
    message: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Your message", style=discord.TextStyle.paragraph, custom_id="message"
    )
    note: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Content note", required=False, custom_id="content_note"
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        channel = interaction.channel
        if not isinstance(channel, discord.Thread):
            raise RuntimeError("/post needs a thread")
        await interaction.response.send_message("Posted.", ephemeral=True)
        await channel.send(self.message.value, allowed_mentions=NO_MENTIONS)


@app_commands.command(name="post")
async def post(interaction: discord.Interaction[Any]) -> None:
    """Write a post."""
    await interaction.response.send_modal(PostModal())


@app_commands.command(name="next")
async def next_prompt(interaction: discord.Interaction[Any]) -> None:
    """Post a prompt."""
    channel = interaction.channel
    if not isinstance(channel, discord.Thread):
        raise RuntimeError("/next needs a thread")
    await interaction.response.send_message("Posted.", ephemeral=True)
    await channel.send(
        embed=discord.Embed(title="A prompt for the circle", description=AGREEMENTS[:400]),
        allowed_mentions=NO_MENTIONS,
    )
