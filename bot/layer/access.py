"""Finding the circle an interaction is about, and who may do what in it.

Shared by every cog that works inside circles (circles, prompts, anonymous posting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer.discord_utils import is_moderator, require_member
from bot.layer.errors import UserFacingError
from bot.services import circles
from bot.services.circles import Circle
from bot.services.config import get_config

if TYPE_CHECKING:
    from bot.client import CircleBot

NOT_IN_CIRCLE = N_("Use this inside a circle's thread.")


@dataclass(frozen=True, slots=True)
class Here:
    circle: Circle
    thread: discord.Thread
    member: discord.Member


async def circle_here(bot: CircleBot, interaction: discord.Interaction[Any]) -> Here:
    """The open circle whose thread the interaction happened in; UserFacingError otherwise."""
    member = require_member(interaction)
    channel = interaction.channel
    if not isinstance(channel, discord.Thread):
        raise UserFacingError(NOT_IN_CIRCLE)
    circle = await circles.circle_for_thread(bot.db, channel.id)
    if circle is None:
        raise UserFacingError(NOT_IN_CIRCLE)
    if not circle.is_open:
        raise UserFacingError(N_("This circle is closed."))
    return Here(circle, channel, member)


async def open_circle(
    bot: CircleBot, circle_id: int, *, closed: str = N_("This circle has closed.")
) -> Circle:
    """The circle a button or form points at, if still open; UserFacingError(`closed`) if not."""
    circle = await circles.get_circle(bot.db, circle_id)
    if circle is None or not circle.is_open:
        raise UserFacingError(closed)
    return circle


async def can_keep(bot: CircleBot, circle: Circle, member: discord.Member) -> bool:
    """Keepers of the circle and the server's moderators may run it."""
    if await circles.is_keeper(bot.db, circle.id, member.id):
        return True
    return is_moderator(member, await get_config(bot.db, member.guild.id))


async def keeper_here(bot: CircleBot, interaction: discord.Interaction[Any]) -> Here:
    """Like `circle_here`, but only for the circle's keepers and moderators."""
    here = await circle_here(bot, interaction)
    if not await can_keep(bot, here.circle, here.member):
        raise UserFacingError(N_("Only this circle's keepers or a moderator can do that."))
    return here


async def member_or_keeper_here(bot: CircleBot, interaction: discord.Interaction[Any]) -> Here:
    """The circle here, for members who accepted the agreements and for its keepers."""
    here = await circle_here(bot, interaction)
    if await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
        return here
    if await can_keep(bot, here.circle, here.member):
        return here
    raise UserFacingError(
        N_(
            "Please join this circle and accept its agreements first (the **Join** button on "
            "its card, or `/circle agreements show`)."
        )
    )


class NeedsAgreement(UserFacingError):
    """The member has not accepted the circle's current agreements."""

    def __init__(self, circle: Circle, joined: bool) -> None:
        message = (
            N_(
                "This circle has a new agreement. Please read and accept the agreements "
                "(`/circle agreements show`, then **I agree**) before taking part."
            )
            if joined
            else N_(
                "You haven't joined “{name}” yet. Use the **Join** button on its card "
                "or `/circle join {name}`."
            )
        )
        super().__init__(message, name=circle.name)
        self.circle = circle


async def participant_here(bot: CircleBot, interaction: discord.Interaction[Any]) -> Here:
    """Like `circle_here`, but only for members who accepted every current agreement."""
    here = await circle_here(bot, interaction)
    if not await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
        joined = await circles.membership(bot.db, here.circle.id, here.member.id) is not None
        raise NeedsAgreement(here.circle, joined)
    return here
