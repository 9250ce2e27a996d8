"""Anonymous polls on Discord: the poll message, its buttons, and closing.

The poll message never changes while the poll is open: a count edited after a click would
show what that person chose. Votes are answered privately; at close the message is edited
once to show the results, and only when at least `SHOW_FROM` people voted, with small counts
hidden (see `bot.services.polls`). Buttons, not Discord's native polls, which list who voted
for what.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import tasks

from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import can_keep, keeper_here, member_or_keeper_here
from bot.layer.automod import refuse_what_rules_stop
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.errors import NO_MENTIONS, UserFacingError
from bot.layer.timing import DueLoop, sleep_until_due
from bot.services import circles, polls
from bot.services.circles import Circle
from bot.services.polls import Poll, PollKeyLost

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

POLL_COLOUR = discord.Colour.from_rgb(120, 150, 140)
CLOSER_SECONDS = 60  # only its first interval: then it sleeps until the next poll closes


def poll_text(poll: Poll, *, restarted: bool = False) -> str:
    """The public poll message: the question and choices; at close, the results if allowed."""
    title = "Poll" if poll.is_open else "Poll (closed)"
    lines = [f"**{title}** · {poll.question}", ""]
    for index, option in enumerate(poll.options):
        shown = ""
        if poll.results is not None:
            count = poll.results[index]
            shown = f": **{count}**" if count is not None else f": fewer than {polls.SMALL_UNDER}"
        lines.append(f"{index + 1}. {option}{shown}")
    lines.append("")
    if poll.is_open:
        how = "as many choices as you like" if poll.multi else "one choice"
        lines.append(
            f"Vote with the buttons ({how}; you can change your vote until it closes, "
            f"<t:{int(poll.closes_at.timestamp())}:R> at the latest). Nothing about the count "
            "shows while the poll is open, and nobody, keepers included, can see who voted for "
            f"what. At the end results are shown only if at least {polls.SHOW_FROM} people "
            f"voted, and a choice with fewer than {polls.SMALL_UNDER} votes says so instead of "
            "its number."
        )
    else:
        if restarted:
            lines.append(
                "The bot restarted, and in a strict circle the keys that count each vote once "
                "live only in memory, so this poll closed."
            )
        if poll.enough:
            lines.append(
                f"At least {polls.SHOW_FROM} people voted. Choices with fewer than "
                f"{polls.SMALL_UNDER} votes show that instead of a number; the total is not "
                "shown. Who voted for what was never shown and is now deleted."
            )
        else:
            lines.append(
                f"Fewer than {polls.SHOW_FROM} people voted, so no results are shown: with so "
                "few, they would show how each person voted. The votes are deleted."
            )
    return "\n".join(lines)


def poll_view(poll: Poll) -> discord.ui.View:
    view = persistent_view()
    for index, option in enumerate(poll.options):
        view.add_item(PollVoteButton(poll.token, index, label=option[: polls.MAX_OPTION]))
    view.add_item(ClosePollButton(poll.token))
    return view


async def _show_closed(
    bot: CircleBot, circle: Circle | None, poll: Poll, *, restarted: bool
) -> None:
    """Edit the poll message to its results (or post them, if the message is gone)."""
    if circle is None or circle.thread_id is None:
        return
    channel = bot.get_partial_messageable(circle.thread_id)
    text = poll_text(poll, restarted=restarted)
    try:
        if poll.message_id is not None:
            await channel.get_partial_message(poll.message_id).edit(
                content=text, view=None, allowed_mentions=NO_MENTIONS
            )
            return
    except discord.NotFound:
        pass
    except discord.HTTPException as error:
        log.warning("Could not show a poll's results (HTTP %s)", error.status)
        return
    try:
        await channel.send(text, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("Could not post a poll's results (HTTP %s)", error.status)


async def close(bot: CircleBot, poll_id: int, *, restarted: bool = False) -> Poll | None:
    """Close the poll (count, keep the public results, delete the votes) and show the results.
    None if it was already closed."""
    closed = await polls.close_poll(bot.db, poll_id, now=discord.utils.utcnow())
    if closed is None:
        return None
    circle = await circles.get_circle(bot.db, closed.circle_id)
    await _show_closed(bot, circle, closed, restarted=restarted)
    return closed


async def close_circle_polls(bot: CircleBot, circle_id: int) -> None:
    """Close every open poll of a circle that is closing, showing their results."""
    for poll in await polls.open_polls(bot.db, circle_id):
        await close(bot, poll.id)


class PollVoteButton(PersistentButton, custom_id=ids.POLL_VOTE):
    """One choice. The vote is stored under the poll's key and answered privately; the public
    message does not change."""

    token: str
    option: int

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        poll = await polls.poll_by_token(bot.db, self.token)
        if poll is None:
            raise UserFacingError("This poll is gone.")
        here = await member_or_keeper_here(bot, interaction)
        if here.circle.id != poll.circle_id:
            raise UserFacingError("This poll belongs to another circle.")
        if not poll.is_open:
            raise polls.PollClosed()
        key = polls.poll_key(bot.circle_keys.circle_key(here.circle), poll.id)
        try:
            vote = await polls.vote(
                bot.db, poll, key, here.member.id, self.option, now=discord.utils.utcnow()
            )
        except PollKeyLost:
            await close(bot, poll.id, restarted=True)
            raise
        chosen = ", ".join(f"**{poll.options[i]}**" for i in vote.choices) or "nothing"
        if not vote.changed:
            words = f"That is already your vote: {chosen}."
        elif poll.multi:
            words = f"Your choices now: {chosen}. Press a choice again to take it back."
        else:
            words = f"Your vote is counted: {chosen}. You can change it until the poll closes."
        await interaction.response.send_message(
            f"{words} Only you can see this; nobody, keepers included, can see how you voted.",
            ephemeral=True,
        )


class ClosePollButton(
    PersistentButton,
    custom_id=ids.POLL_CLOSE,
    label="Close poll",
    style=discord.ButtonStyle.danger,
):
    """Keepers close the poll early; the results (if allowed) replace the buttons."""

    token: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        poll = await polls.poll_by_token(bot.db, self.token)
        if poll is None or not poll.is_open:
            raise UserFacingError("This poll has already closed.")
        here = await member_or_keeper_here(bot, interaction)
        if here.circle.id != poll.circle_id or not await can_keep(bot, here.circle, here.member):
            raise UserFacingError("Only this circle's keepers or a moderator can close the poll.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        closed = await close(bot, poll.id)
        await interaction.followup.send(
            "The poll is closed." if closed is not None else "This poll had already closed.",
            ephemeral=True,
        )


async def start_poll(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    *,
    question: str,
    options: str,
    multi: bool,
    hours: int | None,
) -> Poll:
    """`/circle poll`: check everything, store the poll, post it; nothing half-made."""
    here = await keeper_here(bot, interaction)
    await refuse_what_rules_stop(
        bot, here.member.guild, here.thread, f"{question}\n{options}", what=N_("the poll")
    )
    poll = await polls.create_poll(
        bot.db,
        here.circle.id,
        bot.circle_keys.circle_key(here.circle),
        question=question,
        options=options,
        multi=multi,
        hours=hours,
        now=discord.utils.utcnow(),
    )
    try:
        posted = await here.thread.send(
            poll_text(poll), view=poll_view(poll), allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        await polls.discard_poll(bot.db, poll.id)
        raise UserFacingError(
            "Discord would not let me post the poll here. Nothing was started; please try "
            "again, or check that I can send messages in this thread."
        ) from None
    await polls.set_message(bot.db, poll.id, posted.id)
    await interaction.response.send_message(
        f"Poll posted. It closes <t:{int(poll.closes_at.timestamp())}:R>, or when a keeper "
        f"presses **Close poll**. Results show then, only if at least {polls.SHOW_FROM} people "
        "voted.",
        ephemeral=True,
    )
    return poll


class PollCloser(DueLoop):
    """Closes polls when their time is up; at start-up, first closes strict circles' polls,
    whose keys died with the last process."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot

    @tasks.loop(seconds=CLOSER_SECONDS)
    async def loop(self) -> None:
        try:
            for poll in await polls.due_polls(self.bot.db, now=discord.utils.utcnow()):
                await close(self.bot, poll.id)
        except Exception:
            log.exception("Closing due polls failed on this pass")
        sleep_until_due(self.loop, await polls.next_close_at(self.bot.db))

    @loop.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()
        try:
            for poll in await polls.open_polls_in_strict_circles(self.bot.db):
                await close(self.bot, poll.id, restarted=True)
        except Exception:
            log.exception("Could not close the strict circles' polls a restart ended")


POLL_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (PollVoteButton, ClosePollButton)
