"""The circle card, the agreements card and their persistent buttons."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.db import Database
from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import open_circle
from bot.layer.breaks import BreakButton
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.contact import ContactButton
from bot.layer.discord_utils import require_member
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.i18n import circle_language, member_language, tr
from bot.layer.posting import small_circle_words
from bot.layer.threads import get_thread
from bot.services import circles
from bot.services.circles import REMOVED, Circle, CircleAgreement
from bot.services.config import get_config
from cogs.circles.gates import check_join_gate

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

CARD_COLOUR = discord.Colour.from_rgb(94, 129, 172)
STRICT_NOTE = N_(
    "Strict circle: the keys behind anonymous labels live only in the bot's memory. Records of "
    "posts and blocks stay in the database until the circle closes, but after a restart nothing "
    "links them to anyone, not even the operator: labels start afresh, blocks no longer reach "
    "their authors, and you can no longer find or delete your older posts here with `/anon "
    "mine` or `/anon delete` (a moderator can still remove one)."
)

# Says a gate is on, never its numbers: those would tell a watcher how long to wait.
GATE_NOTE = N_(
    "This server has a join gate: accounts or server memberships that are very new wait a "
    "while before they can join, unless a keeper lets them in."
)


def card_embed(
    circle: Circle,
    keeper_ids: Sequence[int],
    agreements: Sequence[CircleAgreement],
    deck_title: str,
    head_count: int | None = None,
    honest_limits: str = "",
    *,
    gated: bool = False,
) -> discord.Embed:
    lang = circle_language(circle)  # the card is public: the circle's language
    embed = discord.Embed(title=circle.name, colour=CARD_COLOUR)
    if not circle.is_open:
        embed.description = tr(lang, "This circle has closed. Thank you to everyone who took part.")
        return embed
    embed.description = tr(
        lang,
        "A moderated discussion circle. Join by accepting its agreements; you can leave at any "
        "time with `/circle leave`, and passing never needs a reason.",
    )
    keepers = ", ".join(f"<@{k}>" for k in keeper_ids) or tr(lang, "the server's moderators")
    embed.add_field(name=tr(lang, "Keepers"), value=keepers[:1024], inline=True)
    embed.add_field(name=tr(lang, "Prompts"), value=deck_title[:1024], inline=True)
    embed.add_field(
        name=tr(lang, "Agreements"), value=agreement_lines(agreements, short=True), inline=False
    )
    notes = []
    if circle.review:
        notes.append(tr(lang, "Anonymous posts are read by a moderator before they appear."))
    if circle.strict:
        notes.append(tr(lang, STRICT_NOTE))
    small = None if head_count is None else small_circle_words(lang, head_count)
    if small:
        notes.append(small)
    if notes:
        embed.add_field(
            name=tr(lang, "Anonymous posting"), value="\n".join(notes)[:1024], inline=False
        )
    if gated:
        embed.add_field(name=tr(lang, "Joining"), value=tr(lang, GATE_NOTE), inline=False)
    if honest_limits:
        embed.add_field(name=tr(lang, "Honest limits"), value=honest_limits[:1024], inline=False)
    return embed


def agreement_lines(agreements: Sequence[CircleAgreement], *, short: bool) -> str:
    lines = [f"{a.position}. {a.short if short else a.text}" for a in agreements]
    text = "\n".join(lines)
    return text if len(text) <= 1024 else text[:1020] + "…"


def agreements_embed(
    circle: Circle, agreements: Sequence[CircleAgreement], language: str | None = None
) -> discord.Embed:
    """The agreements (in the circle's language, as written) with the bot's words in
    `language`: the reader's when shown privately, else the circle's."""
    lang = language or circle_language(circle)
    embed = discord.Embed(
        title=tr(lang, "Agreements for “{name}”", name=circle.name),
        colour=CARD_COLOUR,
        description="\n".join(f"**{a.position}.** {a.text}" for a in agreements)[:4000],
    )
    embed.set_footer(
        text=tr(lang, "Accepting adds you to the circle's thread. You can leave any time.")
    )
    return embed


class JoinButton(
    PersistentButton,
    custom_id=ids.JOIN,
    label="Join",
    style=discord.ButtonStyle.primary,
):
    """The persistent Join button on a circle card."""

    circle_id: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client

        async def read(db: Database) -> tuple[Circle, list[CircleAgreement]]:
            circle = await open_circle(bot, self.circle_id)
            return circle, await agreements_to_show(bot, interaction, circle)

        circle, current = await bot.db.unit(read, write=False)
        await show_agreements(bot, interaction, circle, current=current)


class AgreeButton(
    PersistentButton,
    custom_id=ids.AGREE,
    label="I agree",
    style=discord.ButtonStyle.success,
):
    """I agree: records acceptance of the agreements that were shown, and adds to the thread."""

    circle_id: int
    count: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        agreed = await bot.db.unit(lambda db: _agree(bot, interaction, self.circle_id, self.count))
        if agreed.joined is None:
            # An agreement was added after these were shown: show the current ones instead.
            await show_agreements(bot, interaction, agreed.circle, edit=True, current=agreed.shown)
            return
        await _join_thread(bot, interaction, agreed)


class NotNowButton(PersistentButton, custom_id=ids.NOT_NOW, label="Not now"):
    """Not now: closes the agreements without joining, and without asking why."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(
            content=tr(
                member_language(interaction),
                "No problem. The Join button will be there if you change your mind.",
            ),
            embed=None,
            view=None,
        )


def card_view(circle: Circle) -> discord.ui.View:
    view = persistent_view()
    if circle.is_open:
        view.add_item(JoinButton(circle.id, label=tr(circle_language(circle), "Join")))
        view.add_item(BreakButton(circle.id, label=tr(circle_language(circle), "I need a break")))
        view.add_item(ContactButton(label=tr(circle_language(circle), "Contact moderators")))
    return view


async def agreements_to_show(
    bot: CircleBot, interaction: discord.Interaction[Any], circle: Circle
) -> list[CircleAgreement]:
    """The circle's current agreements, for a member who may join or has joined it:
    UserFacingError if they were removed, or the server's gate holds them back."""
    current = await circles.agreements(bot.db, circle.id)
    barred = circles.removal_key(bot.settings.secret, interaction.user.id)
    if await circles.was_removed(bot.db, circle.id, barred):
        raise UserFacingError(REMOVED)
    if await circles.membership(bot.db, circle.id, interaction.user.id) is None:
        await check_join_gate(
            bot, require_member(interaction), circle, member_language(interaction)
        )
    return current


async def show_agreements(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    circle: Circle,
    *,
    edit: bool = False,
    current: list[CircleAgreement] | None = None,
) -> None:
    """Privately show the circle's agreements with I agree / Not now (`current`: as the
    caller read them with `agreements_to_show`)."""
    if current is None:
        current = await agreements_to_show(bot, interaction, circle)
    lang = member_language(interaction)
    view = persistent_view()
    view.add_item(AgreeButton(circle.id, len(current), label=tr(lang, "I agree")))
    view.add_item(NotNowButton(label=tr(lang, "Not now")))
    embed = agreements_embed(circle, current, lang)
    if edit:
        await interaction.response.edit_message(
            content=tr(lang, "The agreements changed; here they are now."), embed=embed, view=view
        )
    else:
        await interaction.response.send_message(
            embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    JoinButton,
    AgreeButton,
    NotNowButton,
)


async def current_card(
    bot: CircleBot, circle: Circle, *, head_count: int | None = None
) -> discord.Embed:
    """The circle card as it should read now (`head_count` when the caller read it already);
    reads the database only."""
    return card_embed(
        circle,
        await circles.keepers(bot.db, circle.id),
        await circles.agreements(bot.db, circle.id),
        deck_title(bot, circle.deck_id, circle.language),
        head_count if head_count is not None else await circles.head_count(bot.db, circle.id),
        bot.library_for(circle.language).honest_limits,
        gated=(await get_config(bot.db, circle.guild_id)).gated,
    )


async def refresh_card(bot: CircleBot, circle: Circle, embed: discord.Embed | None = None) -> None:
    """Redraw the circle card (keepers, agreements, open or closed), with `embed` when the
    caller read it already (`current_card`). Failures are logged only."""
    if circle.card_message_id is None:
        return
    channel = bot.get_channel(circle.channel_id)
    if not isinstance(channel, discord.TextChannel):
        return
    if embed is None:
        embed = await current_card(bot, circle)
    try:
        await channel.get_partial_message(circle.card_message_id).edit(
            embed=embed, view=card_view(circle)
        )
    except discord.HTTPException as error:
        log.warning("Could not update the card of circle %s (HTTP %s)", circle.id, error.status)


def deck_title(bot: CircleBot, deck_id: str, language: str = "en") -> str:
    deck = bot.library_for(language).deck(deck_id)
    return deck.title if deck else deck_id


@dataclass(frozen=True, slots=True)
class _Agreed:
    """What I agree did in the database: `joined` None when the agreements changed since
    they were shown (`shown`, the current ones); else whether the member is new, and the
    card to redraw when the join changed what it says."""

    circle: Circle
    joined: bool | None
    shown: list[CircleAgreement] | None = None
    card: discord.Embed | None = None


async def _agree(
    bot: CircleBot, interaction: discord.Interaction[Any], circle_id: int, count: int
) -> _Agreed:
    """I agree's checks and record, and the card it changes: the database only."""
    circle = await open_circle(bot, circle_id)
    if len(await circles.agreements(bot.db, circle.id)) != count:
        return _Agreed(circle, None, shown=await agreements_to_show(bot, interaction, circle))
    member = require_member(interaction)
    existing = await circles.membership(bot.db, circle.id, member.id)
    if existing is None:
        # Agreements shown before the gate was turned on still meet it here.
        await check_join_gate(bot, member, circle, member_language(interaction))
    await circles.accept_agreements(
        bot.db,
        circle.id,
        member.id,
        member_key=circles.removal_key(bot.settings.secret, member.id),
        now=discord.utils.utcnow(),
    )
    card = None
    if existing is None:
        # The card counts the people in a small circle only: once the circle is big enough
        # to hide in, a join leaves it as it is.
        count = await circles.head_count(bot.db, circle.id)
        if circles.small_circle_note(count - 1) is not None:
            card = await current_card(bot, circle, head_count=count)
    return _Agreed(circle, existing is None, card=card)


async def _join_thread(
    bot: CircleBot, interaction: discord.Interaction[Any], agreed: _Agreed
) -> None:
    """Add the member whose acceptance was just recorded to the thread, and answer."""
    member = require_member(interaction)
    circle, new = agreed.circle, bool(agreed.joined)
    thread = await get_thread(bot, circle)
    if thread is None:
        raise UserFacingError(N_("This circle's thread no longer exists; ask a keeper."))
    try:
        await thread.add_user(member)
    except discord.HTTPException:
        if new:
            await circles.undo_join(bot.db, circle.id, member.id)
        raise UserFacingError(
            N_(
                "I couldn't add you to the circle's thread (Discord refused). Nothing was "
                "saved; please try again or ask a keeper."
            )
        ) from None
    if agreed.card is not None:
        await refresh_card(bot, circle, agreed.card)
    welcome = tr(
        member_language(interaction),
        "Thank you. You're in: {thread}"
        if new
        else "Thank you for accepting the updated agreements. {thread}",
        thread=thread.mention,
    )
    await interaction.response.edit_message(content=welcome, embed=None, view=None)


# --- the cog -----------------------------------------------------------------------------
