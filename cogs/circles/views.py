"""The circle card, the agreements card and their persistent buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.buttons import NUMBER, PersistentButton, persistent_view
from bot.errors import NO_MENTIONS, UserFacingError
from bot.services import circles
from bot.services.circles import REMOVED, Circle, CircleAgreement
from cogs.circles.access import open_circle
from cogs.circles.pause import show_break

if TYPE_CHECKING:
    from bot.client import CircleBot

CARD_COLOUR = discord.Colour.from_rgb(94, 129, 172)
STRICT_NOTE = (
    "Strict circle: anonymous labels, blocks and your post history here live only in the bot's "
    "memory, so they start afresh whenever the bot restarts. Not even the operator can link them."
)


def card_embed(
    circle: Circle,
    keeper_ids: Sequence[int],
    agreements: Sequence[CircleAgreement],
    deck_title: str,
    head_count: int | None = None,
    honest_limits: str = "",
) -> discord.Embed:
    embed = discord.Embed(title=circle.name, colour=CARD_COLOUR)
    if not circle.is_open:
        embed.description = "This circle has closed. Thank you to everyone who took part."
        return embed
    embed.description = (
        "A moderated discussion circle. Join by accepting its agreements; you can leave at any "
        "time with `/circle leave`, and passing never needs a reason."
    )
    keepers = ", ".join(f"<@{k}>" for k in keeper_ids) or "the server's moderators"
    embed.add_field(name="Keepers", value=keepers[:1024], inline=True)
    embed.add_field(name="Prompts", value=deck_title[:1024], inline=True)
    embed.add_field(name="Agreements", value=agreement_lines(agreements, short=True), inline=False)
    notes = []
    if circle.review:
        notes.append("Anonymous posts are read by a moderator before they appear.")
    if circle.strict:
        notes.append(STRICT_NOTE)
    small = None if head_count is None else circles.small_circle_note(head_count)
    if small:
        notes.append(small)
    if notes:
        embed.add_field(name="Anonymous posting", value="\n".join(notes)[:1024], inline=False)
    if honest_limits:
        embed.add_field(name="Honest limits", value=honest_limits[:1024], inline=False)
    return embed


def agreement_lines(agreements: Sequence[CircleAgreement], *, short: bool) -> str:
    lines = [f"{a.position}. {a.short if short else a.text}" for a in agreements]
    text = "\n".join(lines)
    return text if len(text) <= 1024 else text[:1020] + "…"


def agreements_embed(circle: Circle, agreements: Sequence[CircleAgreement]) -> discord.Embed:
    embed = discord.Embed(
        title=f"Agreements for “{circle.name}”",
        colour=CARD_COLOUR,
        description="\n".join(f"**{a.position}.** {a.text}" for a in agreements)[:4000],
    )
    embed.set_footer(text="Accepting adds you to the circle's thread. You can leave any time.")
    return embed


class JoinButton(
    PersistentButton,
    prefix="ck:circle:join",
    fields={"circle_id": NUMBER},
    label="Join",
    style=discord.ButtonStyle.primary,
):
    """The persistent Join button on a circle card."""

    circle_id: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        circle = await open_circle(bot, self.circle_id)
        await show_agreements(bot, interaction, circle)


class AgreeButton(
    PersistentButton,
    prefix="ck:circle:agree",
    fields={"circle_id": NUMBER, "count": NUMBER},
    label="I agree",
    style=discord.ButtonStyle.success,
):
    """I agree: records acceptance of the agreements that were shown, and adds to the thread."""

    circle_id: int
    count: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.circles.cog import join_circle

        bot: CircleBot = interaction.client
        circle = await open_circle(bot, self.circle_id)
        current = await circles.agreements(bot.db, circle.id)
        if len(current) != self.count:
            # An agreement was added after these were shown: show the current ones instead.
            await show_agreements(bot, interaction, circle, edit=True)
            return
        await join_circle(bot, interaction, circle)


class NotNowButton(PersistentButton, prefix="ck:circle:notnow", label="Not now"):
    """Not now: closes the agreements without joining, and without asking why."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(
            content="No problem. The Join button will be there if you change your mind.",
            embed=None,
            view=None,
        )


class BreakButton(
    PersistentButton,
    prefix="ck:circle:break",
    fields={"circle_id": NUMBER},
    optional_last=True,
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


def card_view(circle: Circle) -> discord.ui.View:
    view = persistent_view()
    if circle.is_open:
        view.add_item(JoinButton(circle.id))
        view.add_item(BreakButton(circle.id))
    return view


async def show_agreements(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    circle: Circle,
    *,
    edit: bool = False,
) -> None:
    """Privately show the circle's agreements with I agree / Not now."""
    current = await circles.agreements(bot.db, circle.id)
    barred = circles.removal_key(bot.settings.secret, interaction.user.id)
    if await circles.was_removed(bot.db, circle.id, barred):
        raise UserFacingError(REMOVED)
    view = persistent_view()
    view.add_item(AgreeButton(circle.id, len(current)))
    view.add_item(NotNowButton())
    embed = agreements_embed(circle, current)
    if edit:
        await interaction.response.edit_message(
            content="The agreements changed; here they are now.", embed=embed, view=view
        )
    else:
        await interaction.response.send_message(
            embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    JoinButton,
    AgreeButton,
    NotNowButton,
    BreakButton,
)
