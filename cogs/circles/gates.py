"""The join gate as the circle's Join flow meets it: who it holds back, and what they are told."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.layer.access import can_keep
from bot.layer.errors import UserFacingError
from bot.services import gates
from bot.services.circles import Circle
from bot.services.config import get_config

if TYPE_CHECKING:
    from bot.client import CircleBot


async def check_join_gate(
    bot: CircleBot, member: discord.Member, circle: Circle, language: str = "en"
) -> None:
    """UserFacingError, saying how long to wait (in the member's `language`), when the
    server's gate holds the member back.

    The circle's keepers and moderators, and members a keeper admitted, are never held back.
    Both ages come from the interaction: the id's creation time and `member.joined_at`.
    """
    config = await get_config(bot.db, member.guild.id)
    if not config.gated:
        return
    waiting = gates.gate_wait(
        config,
        account_created=discord.utils.snowflake_time(member.id),
        joined_at=member.joined_at,
        now=discord.utils.utcnow(),
    )
    if waiting is None:
        return
    if await gates.is_admitted(bot.db, circle.id, member.id) or await can_keep(bot, circle, member):
        return
    raise UserFacingError(gates.refusal_text(waiting, language))
