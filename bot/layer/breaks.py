"""I need a break: private grounding steps and support contacts; nobody is told anything
unless the member asks a keeper to check in. Its button is on circle cards and on prompts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.discord_utils import require_member, text_channel
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import circle_language, member_language, server_language, tr
from bot.layer.resource_card import resource_embed
from bot.services import circles
from bot.services.circles import Circle
from bot.services.config import get_config

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

BREAK_COLOUR = discord.Colour.from_rgb(180, 142, 173)


class BreakButton(
    PersistentButton,
    custom_id=ids.BREAK,
    label="I need a break",
):
    """I need a break: private grounding steps and support contacts; tells nobody.

    On the circle card (in the parent channel) the custom id names the circle; on messages
    inside a circle's thread, such as prompts, it is plain `ck:circle:break` and the circle
    is the thread the click came from.
    """

    circle_id: int | None

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        if self.circle_id is not None:
            circle = await circles.get_circle(bot.db, self.circle_id)
        elif interaction.channel_id is not None:
            circle = await circles.circle_for_thread(bot.db, interaction.channel_id)
        else:
            circle = None
        await show_break(bot, interaction, circle)


class AskKeeperButton(
    PersistentButton,
    custom_id=ids.ASK_KEEPER,
    label="Ask a keeper to check in with me",
):
    """Ask a keeper to check in with me: the only way a break is ever told to anyone."""

    circle_id: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        member = require_member(interaction)
        circle = await circles.get_circle(bot.db, self.circle_id)
        if circle is None or not circle.is_open:
            raise UserFacingError(N_("This circle has closed. /resources lists support elsewhere."))
        if not await _in_circle(bot, circle, member.id):
            raise UserFacingError(N_("Keepers check in with members of this circle only."))
        await interaction.response.defer()
        reached = await tell_keepers(bot, circle, member)
        text = tr(
            member_language(interaction),
            "Thank you for saying so. A keeper has been asked to check in with you "
            "privately. You don't need to explain anything. Take your time."
            if reached
            else "I couldn't reach a keeper just now (their direct messages are closed and this "
            "server has no moderators' queue channel). You could message a keeper directly; "
            "/resources lists support outside the server.",
        )
        await interaction.edit_original_response(content=text, view=None)


async def break_embeds(
    bot: CircleBot, guild_id: int | None, language: str = "en"
) -> list[discord.Embed]:
    """The grounding steps (in the reader's `language`) and the resource card, shown only to
    whoever asked."""
    grounding = bot.library_for(language).grounding
    steps = discord.Embed(
        title=grounding.break_title,
        description="\n".join(f"• {step}" for step in grounding.break_steps)[:4000],
        colour=BREAK_COLOUR,
    )
    return [steps, await resource_embed(bot, guild_id, language)]


async def show_break(
    bot: CircleBot, interaction: discord.Interaction[Any], circle: Circle | None
) -> None:
    """Privately show the break steps; offer to ask a keeper only to the circle's members.

    No other request is made: nobody learns that the break was taken.
    """
    lang = member_language(interaction)
    view: discord.ui.View | None = None
    if circle is not None and circle.is_open and await _in_circle(bot, circle, interaction.user.id):
        view = persistent_view()
        view.add_item(
            AskKeeperButton(circle.id, label=tr(lang, "Ask a keeper to check in with me"))
        )
    text = tr(lang, "Only you can see this. Nobody has been told anything.")
    if view is not None:
        text += " " + tr(lang, "If you'd like, a keeper can check in with you privately.")
    embeds = await break_embeds(bot, interaction.guild_id, lang)
    if view is None:
        await interaction.response.send_message(text, embeds=embeds, ephemeral=True)
    else:
        await interaction.response.send_message(text, embeds=embeds, view=view, ephemeral=True)


async def _in_circle(bot: CircleBot, circle: Circle, user_id: int) -> bool:
    if await circles.membership(bot.db, circle.id, user_id) is not None:
        return True
    return await circles.is_keeper(bot.db, circle.id, user_id)


async def tell_keepers(bot: CircleBot, circle: Circle, member: discord.Member) -> bool:
    """DM the circle's keepers that this member asked for a check-in; fall back to the queue
    channel when a keeper can't be reached. True if anyone was told."""
    keeper_ids = [k for k in await circles.keepers(bot.db, circle.id) if k != member.id]
    where = f" (<#{circle.thread_id}>)" if circle.thread_id else ""

    def asked(language: str) -> str:
        return tr(
            language,
            "{member} (**{name}**) in the circle “{circle}”{where} pressed **I need a break** "
            "and asked a keeper to check in with them. They don't need to explain anything; a "
            "short, private hello is enough.",
            member=member.mention,
            name=member.display_name,
            circle=circle.name,
            where=where,
        )

    text = asked(circle_language(circle))  # a DM about the circle: the circle's language
    told = 0
    for keeper_id in keeper_ids:
        try:
            user = bot.get_user(keeper_id) or await bot.fetch_user(keeper_id)
            await user.send(text, allowed_mentions=NO_MENTIONS)
            told += 1
        except discord.HTTPException as error:
            log.info(
                "A keeper of circle %s could not be sent a DM (HTTP %s)", circle.id, error.status
            )
    if keeper_ids and told == len(keeper_ids):
        return True
    guild = bot.get_guild(circle.guild_id)
    config = await get_config(bot.db, circle.guild_id)
    channel = text_channel(guild, config.queue_channel_id) if guild else None
    if channel is None:
        return told > 0
    lang = server_language(config, guild)  # the server's own channel: the server's language
    reason = tr(
        lang,
        "Not every keeper could be reached by direct message."
        if keeper_ids
        else "The circle has no other keeper to ask.",
    )
    try:
        await channel.send(f"{asked(lang)}\n{reason}", allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("Could not post a check-in request to the queue (HTTP %s)", error.status)
        return told > 0
    return True
