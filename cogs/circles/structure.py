"""A circle's structure on Discord: check-in, check-out, prompt rounds, pauses and breaks.

The steps live in `checkin`, `rounds` and `pause`; this module gathers what the circles cog
calls, its persistent buttons, and the clock's tick.

What each step may reveal:
- check-in: the public message shows totals only; who clicked is counted in memory (see
  `bot.services.structure.Checkins`) and never stored, logged or shown;
- check-out: answers are echoed back privately and not kept; a takeaway is shared only on
  choosing to share (the form starts on keeping it private), then through the anonymous
  flow (`bot.layer.posting.submit_post`);
- rounds: anonymous rounds know the holder only by label key, and their shares go through
  the anonymous flow too; passing never asks for a reason and is not announced;
- I need a break: nobody is told anything unless the member asks a keeper to check in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.layer.access import member_or_keeper_here
from bot.layer.breaks import BREAK_COLOUR
from bot.layer.custom_ids import TOKEN as TOKEN_FIELD
from bot.layer.threads import get_thread
from bot.services import circles, structure
from cogs.circles.checkin import (
    CHECKIN_ENDED,
    CheckinButton,
    CheckoutButton,
    CheckoutModal,
    checkin_text,
    checkin_view,
    start_checkin,
    start_checkout,
)
from cogs.circles.common import MAX_QUOTE, STRUCTURE_COLOUR
from cogs.circles.pause import NO_MANAGE_THREADS, end_pause, pause
from cogs.circles.polls import ClosePollButton, PollVoteButton
from cogs.circles.rounds import (
    TURN_OVER,
    ShareModal,
    TakeTurnButton,
    TurnChoiceButton,
    announce_turn,
    end_forgotten_rounds,
    end_round,
    holder_here,
    leave_round,
    move_on,
    next_turn,
    round_intro,
    start_round,
)

if TYPE_CHECKING:
    from bot.client import CircleBot

TOKEN = TOKEN_FIELD.pattern  # the regex of the random tokens in custom ids


async def run_due(bot: CircleBot) -> None:
    """One tick: unlock pauses that are over and move on turns whose time ran out."""
    now = discord.utils.utcnow()
    for circle_id in await structure.rounds_of_closed_circles(bot.db):
        await structure.end_round(bot.db, circle_id)
    for due in await structure.due_pauses(bot.db, now=now):
        await end_pause(bot, due.circle_id)
    for rnd in await structure.due_turns(bot.db, now=now):
        moved = await structure.finish_turn(bot.db, rnd.circle_id, rnd.turn_token, now=now)
        if moved is None:
            continue
        circle = await circles.get_circle(bot.db, rnd.circle_id)
        thread = await get_thread(bot, circle) if circle is not None else None
        if thread is None:
            await structure.end_round(bot.db, rnd.circle_id)
            continue
        await move_on(bot, thread, rnd, moved)


STRUCTURE_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    CheckinButton,
    CheckoutButton,
    TakeTurnButton,
    TurnChoiceButton,
    PollVoteButton,
    ClosePollButton,
)


__all__ = [
    "BREAK_COLOUR",
    "CHECKIN_ENDED",
    "MAX_QUOTE",
    "NO_MANAGE_THREADS",
    "STRUCTURE_COLOUR",
    "STRUCTURE_ITEMS",
    "TOKEN",
    "TURN_OVER",
    "CheckinButton",
    "CheckoutButton",
    "CheckoutModal",
    "ShareModal",
    "TakeTurnButton",
    "TurnChoiceButton",
    "announce_turn",
    "checkin_text",
    "checkin_view",
    "end_forgotten_rounds",
    "end_pause",
    "end_round",
    "holder_here",
    "leave_round",
    "member_or_keeper_here",
    "move_on",
    "next_turn",
    "pause",
    "round_intro",
    "run_due",
    "start_checkin",
    "start_checkout",
    "start_round",
]
