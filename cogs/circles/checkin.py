"""Check-in and check-out.

- check-in: the public message shows totals only; who clicked is counted in memory (see
  `bot.services.structure.Checkins`) and never stored, logged or shown. Totals change only
  on a clock ticking every 30 seconds from the check-in's start (never timed from a click),
  and only when at least 3 answers came in since the totals last shown; when the check-in
  ends, new totals show only under the same rule, else the last ones shown stay: a total
  edited after each click would show what that person chose, and an edit timed from a click
  would show when they clicked;
- check-out: answers are echoed back privately and not kept; a takeaway is shared only on
  choosing to share (the form starts on keeping it private), then through the anonymous
  flow (`bot.layer.posting.submit_post`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import keeper_here, member_or_keeper_here
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.errors import NO_MENTIONS, ErrorHandlingModal, UserFacingError
from bot.layer.i18n import circle_language, member_language, tr
from bot.layer.posting import submit_post
from bot.services import anonymous as anon
from bot.services.structure import (
    PUBLISH_EVERY_SECONDS,
    PUBLISH_FROM,
    CheckinTally,
)
from cogs.circles.common import quote_block

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

CHECKIN_ENDED = N_(
    "This check-in has ended (a newer one started, or the bot restarted). Thank you all the same."
)


def checkin_text(bot: CircleBot, tally: CheckinTally, *, ended: bool = False) -> str:
    """The public check-in message: the question and, once enough people have answered,
    the totals; never who chose what."""
    lang = tally.language
    checkin = bot.library_for(lang).checkin
    title = tr(lang, "Check-in (ended)" if ended else "Check-in")
    lines = [f"**{title}** · {checkin.question}", ""]
    shown = tally.published
    for option in checkin.weather:
        count = f": **{shown.get(option.id, 0)}**" if shown is not None else ""
        lines.append(f"{option.emoji} {option.label}{count}")
    lines.append("")
    if shown is not None:
        lines.append(
            tr(
                lang,
                "1 person has checked in."
                if tally.published_total == 1
                else "{count} people have checked in.",
                count=tally.published_total,
            )
            + " "
            + tr(
                lang,
                "Only totals are shown, updated every {seconds} seconds once {least} more have "
                "answered: nobody, keepers included, can see who chose what.",
                seconds=f"{PUBLISH_EVERY_SECONDS:.0f}",
                least=PUBLISH_FROM,
            )
        )
        if ended and tally.unpublished:
            lines.append(
                tr(
                    lang,
                    "These are the last totals shown: fewer than {least} answers came in "
                    "after them, too few to add without showing what those people chose.",
                    least=PUBLISH_FROM,
                )
            )
    elif ended:
        lines.append(
            tr(
                lang,
                "Fewer than {least} people answered, so no totals are shown: with so few, "
                "they would show what each person chose.",
                least=PUBLISH_FROM,
            )
        )
    else:
        lines.append(
            tr(
                lang,
                "Totals appear once at least {least} people have answered, on a clock that "
                "ticks every {seconds} seconds, so nobody's answer shows the moment they give "
                "it. Nobody, keepers included, can see who chose what.",
                least=PUBLISH_FROM,
                seconds=f"{PUBLISH_EVERY_SECONDS:.0f}",
            )
        )
    lines.append(tr(lang, "Reading along without answering is fine too."))
    return "\n".join(lines)


async def _publish(bot: CircleBot, tally: CheckinTally, *, ended: bool = False) -> None:
    """Edit the public check-in message to show the totals as they are now."""
    if tally.thread_id is None or tally.message_id is None:
        return
    message = bot.get_partial_messageable(tally.thread_id).get_partial_message(tally.message_id)
    async with tally.edit_lock:
        # Rendered inside the lock, so the last edit always carries the latest totals.
        try:
            await message.edit(
                content=checkin_text(bot, tally, ended=ended),
                view=None if ended else discord.utils.MISSING,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            log.warning("Could not update a check-in's totals (HTTP %s)", error.status)


def _start_clock(bot: CircleBot, tally: CheckinTally) -> None:
    """Every PUBLISH_EVERY_SECONDS from now (the check-in's start), show new totals if enough
    answers came in since the last ones; runs until the check-in ends (which cancels it)."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def run() -> None:
        tick = 0
        while True:
            tick += 1
            # Timed from the start, not from the last edit, so the clock never drifts.
            await asyncio.sleep(max(0.0, started + tick * PUBLISH_EVERY_SECONDS - loop.time()))
            if tally.publish():
                await _publish(bot, tally)

    tally.publishing = asyncio.create_task(run())


async def end_checkins(bot: CircleBot, circle_id: int) -> None:
    """End the circle's running check-in: new totals if enough answers came in since the last
    ones shown, else the last ones shown (or none), saying so."""
    registry = bot.checkins
    for tally in registry.running(circle_id):
        registry.end_circle(circle_id)  # also stops its clock
        tally.publish()
        await _publish(bot, tally, ended=True)


def _reflection(takeaway: str, care: str, language: str = "en") -> str:
    parts = []
    if takeaway:
        parts.append(quote_block(takeaway, tr(language, "Your takeaway")))
    if care:
        parts.append(quote_block(care, tr(language, "Looking after yourself")))
    return "\n".join(parts)[:1800]


class CheckinButton(
    PersistentButton,
    custom_id=ids.CHECKIN,
):
    """One weather option. The click is counted once, in memory, and answered privately."""

    token: str
    option: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        return self.option, discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        tally = bot.checkins.get(self.token)
        if tally is None:
            raise UserFacingError(CHECKIN_ENDED)
        here = await member_or_keeper_here(bot, interaction)
        if tally.circle_id != here.circle.id:
            raise UserFacingError(CHECKIN_ENDED)
        counted = tally.count(here.member.id, self.option)
        if not counted:
            await interaction.response.send_message(
                tr(
                    member_language(interaction),
                    "Already counted, thank you. Each person counts once per check-in.",
                ),
                ephemeral=True,
            )
            return
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Thank you for checking in. Only the totals are shown, and only once enough "
                "people have answered; nobody can see what you chose.",
            ),
            ephemeral=True,
        )


def checkin_view(bot: CircleBot, token: str, language: str = "en") -> discord.ui.View:
    view = persistent_view()
    for option in bot.library_for(language).checkin.weather:
        view.add_item(CheckinButton(token, option.id, label=option.label, emoji=option.emoji))
    return view


class CheckoutModal(ErrorHandlingModal):
    """Private reflection: echoed back and never stored; the takeaway is shared only on yes."""

    def __init__(self, circle_id: int, language: str = "en", public: str = "en") -> None:
        """`language`: the member's, for the form; `public`: the circle's, for a shared
        takeaway's opening words."""
        super().__init__(title=tr(language, "Check out"), timeout=900)
        self.circle_id = circle_id
        self.public = public
        self.takeaway: discord.ui.TextInput[CheckoutModal] = discord.ui.TextInput(
            label=tr(language, "One takeaway from today (optional)"),
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT - 40,
            required=False,
            custom_id="takeaway",
        )
        self.care: discord.ui.TextInput[CheckoutModal] = discord.ui.TextInput(
            label=tr(language, "One way you'll look after yourself (optional)"),
            style=discord.TextStyle.paragraph,
            max_length=500,
            required=False,
            custom_id="care",
        )
        # A real choice, not typed words: keeping it private is chosen until they pick sharing.
        self.share: discord.ui.Select[CheckoutModal] = discord.ui.Select(
            custom_id="share",
            options=[
                discord.SelectOption(
                    label=tr(language, "No, keep it private"), value="no", default=True
                ),
                discord.SelectOption(
                    label=tr(language, "Yes, share my takeaway anonymously"), value="yes"
                ),
            ],
        )
        self.add_item(self.takeaway)
        self.add_item(self.care)
        self.add_item(
            discord.ui.Label(text=tr(language, "Share your takeaway?"), component=self.share)
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        takeaway = self.takeaway.value.strip()
        care = self.care.value.strip()
        choice = self.share.values == ["yes"]
        lang = member_language(interaction)
        echo = _reflection(takeaway, care, lang)
        if choice and takeaway:
            await submit_post(
                bot,
                interaction,
                self.circle_id,
                text=tr(self.public, "Check-out takeaway: {takeaway}", takeaway=takeaway),
                note=None,
                reply_to_message_id=None,
                quote_link=None,
                draft_token=None,
                confirmed=False,
            )
            if care:
                await interaction.followup.send(
                    tr(lang, "Only your takeaway is shared. For you alone:")
                    + "\n"
                    + quote_block(care, tr(lang, "Looking after yourself")),
                    ephemeral=True,
                )
            return
        notes = []
        if choice and not takeaway:
            notes.append(tr(lang, "There was no takeaway to share, so nothing was posted."))
        text = tr(
            lang,
            "Thank you for checking out. This is only for you; nothing was stored or shared.",
        )
        await interaction.response.send_message(
            "\n\n".join([text, *([echo] if echo else []), *notes]), ephemeral=True
        )


class CheckoutButton(
    PersistentButton,
    custom_id=ids.CHECKOUT,
    label="Check out",
    style=discord.ButtonStyle.primary,
):
    """Check out: opens the private reflection form in whatever circle this is."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here = await member_or_keeper_here(bot, interaction)
        await interaction.response.send_modal(
            CheckoutModal(
                here.circle.id, member_language(interaction), circle_language(here.circle)
            )
        )


async def start_checkin(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle checkin`: post the weather check-in; an earlier one in this circle ends."""
    here = await keeper_here(bot, interaction)
    registry = bot.checkins
    await end_checkins(bot, here.circle.id)
    lang = circle_language(here.circle)
    token = registry.start(here.circle.id, [w.id for w in bot.library_for(lang).checkin.weather])
    tally = registry.get(token)
    assert tally is not None
    tally.language = lang
    try:
        posted = await here.thread.send(
            checkin_text(bot, tally),
            view=checkin_view(bot, token, lang),
            allowed_mentions=NO_MENTIONS,
        )
        tally.thread_id, tally.message_id = here.thread.id, posted.id
        _start_clock(bot, tally)
    except discord.HTTPException:
        registry.end(token)
        raise UserFacingError(
            N_(
                "Discord would not let me post the check-in here. Nothing was started; please "
                "try again, or check that I can send messages in this thread."
            )
        ) from None
    await interaction.response.send_message(
        tr(
            member_language(interaction),
            "Check-in posted. Totals show once {least} people have answered; it ends when you "
            "start the check-out or a new check-in, or if the bot restarts.",
            least=PUBLISH_FROM,
        ),
        ephemeral=True,
    )


async def start_checkout(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle checkout`: post the check-out message with its button."""
    here = await keeper_here(bot, interaction)
    await end_checkins(bot, here.circle.id)  # moving on to the check-out ends the check-in
    public = circle_language(here.circle)
    view = persistent_view()
    view.add_item(CheckoutButton(label=tr(public, "Check out")))
    try:
        await here.thread.send(
            tr(
                public,
                "**Check-out** · Before we close: press **Check out** to note one takeaway and "
                "one way you'll look after yourself. Your answers stay private unless you choose "
                "to share your takeaway anonymously. Skipping this is fine too.",
            ),
            view=view,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException:
        raise UserFacingError(
            N_(
                "Discord would not let me post the check-out here. Please try again, or check "
                "that I can send messages in this thread."
            )
        ) from None
    await interaction.response.send_message(
        tr(member_language(interaction), "Check-out posted."), ephemeral=True
    )
