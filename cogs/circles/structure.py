"""A circle's structure on Discord: check-in, check-out, prompt rounds, pauses and breaks.

What each step may reveal:
- check-in: the public message shows totals only; who clicked is counted in memory (see
  `bot.services.structure.Checkins`) and never stored, logged or shown;
- check-out: answers are echoed back privately and not kept; a takeaway is shared only on
  a clear yes, and then through the anonymous flow (`cogs.anonymous.submit_post`);
- rounds: anonymous rounds know the holder only by label key, and their shares go through
  the anonymous flow too; passing never asks for a reason and is not announced;
- I need a break: nobody is told anything unless the member asks a keeper to check in.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.decks import Prompt
from bot.discord_utils import require_member, text_channel
from bot.errors import NO_MENTIONS, ErrorHandlingModal, GuardedItem, UserFacingError
from bot.resource_card import resource_embed
from bot.services import anonymous as anon
from bot.services import circles, structure
from bot.services import prompts as prompt_service
from bot.services.anonymous import AnonError
from bot.services.circles import Circle
from bot.services.config import get_config
from bot.services.structure import Checkins, CheckinTally, Moved, Round, StructureError, Turn
from cogs.circles.access import Here, can_keep, circle_here, keeper_here

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

STRUCTURE_COLOUR = discord.Colour.from_rgb(163, 190, 140)
BREAK_COLOUR = discord.Colour.from_rgb(180, 142, 173)
TOKEN = r"[A-Za-z0-9_-]+"
CHECKIN_ENDED = (
    "This check-in has ended (a newer one started, or the bot restarted). Thank you all the same."
)
TURN_OVER = "That turn is already over; the talking piece has moved on."
NO_MANAGE_THREADS = (
    "I can't lock this thread: I need the Manage Threads permission here. "
    "A server admin can grant it in the channel or role settings. Nothing was changed."
)
MAX_QUOTE = 1500


def _error(error: StructureError | AnonError) -> UserFacingError:
    return UserFacingError(error.message if isinstance(error, AnonError) else str(error))


def _when(moment: datetime) -> str:
    """A time every member sees in their own timezone."""
    return f"<t:{int(moment.timestamp())}:t>"


async def _thread_of(bot: CircleBot, circle: Circle) -> discord.Thread | None:
    from cogs.circles.cog import get_thread

    return await get_thread(bot, circle)


async def member_or_keeper_here(bot: CircleBot, interaction: discord.Interaction[Any]) -> Here:
    """The circle here, for members who accepted the agreements and for its keepers."""
    here = await circle_here(bot, interaction)
    if await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
        return here
    if await can_keep(bot, here.circle, here.member):
        return here
    raise UserFacingError(
        "Please join this circle and accept its agreements first (the **Join** button on its "
        "card, or `/circle agreements show`)."
    )


# --- check-in --------------------------------------------------------------------------------


def checkin_text(bot: CircleBot, tally: CheckinTally) -> str:
    """The public check-in message: the question and the totals, never who chose what."""
    lines = [f"**Check-in** · {bot.library.checkin.question}", ""]
    for option in bot.library.checkin.weather:
        lines.append(f"{option.emoji} {option.label}: **{tally.counts.get(option.id, 0)}**")
    people = "person has" if tally.total == 1 else "people have"
    lines += [
        "",
        f"{tally.total} {people} checked in. Only totals are shown: nobody, keepers included, "
        "can see who chose what. Reading along without answering is fine too.",
    ]
    return "\n".join(lines)


class CheckinButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"ck:circle:checkin:(?P<token>{TOKEN}):(?P<option>[a-z0-9-]+)",
):
    """One weather option. The click is counted once, in memory, and answered privately."""

    def __init__(
        self, token: str, option: str, *, label: str = "", emoji: str | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or option,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"ck:circle:checkin:{token}:{option}",
            )
        )
        self.token = token
        self.option = option

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> CheckinButton:
        return cls(match["token"], match["option"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        tally = _checkins(bot).get(self.token)
        if tally is None:
            raise UserFacingError(CHECKIN_ENDED)
        here = await member_or_keeper_here(bot, interaction)
        if tally.circle_id != here.circle.id:
            raise UserFacingError(CHECKIN_ENDED)
        try:
            counted = tally.count(here.member.id, self.option)
        except StructureError as error:
            raise _error(error) from None
        if not counted:
            await interaction.response.send_message(
                "Already counted, thank you. Each person counts once per check-in.",
                ephemeral=True,
            )
            return
        await interaction.response.send_message(
            "Thank you for checking in. Only the totals are shown; nobody can see what you chose.",
            ephemeral=True,
        )
        message = interaction.message
        if message is None:
            return
        async with tally.edit_lock:
            # Rendered inside the lock, so the last edit always carries the latest totals.
            try:
                await message.edit(content=checkin_text(bot, tally), allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as error:
                log.warning("Could not update a check-in's totals (HTTP %s)", error.status)


def _checkins(bot: CircleBot) -> Checkins:
    registry = getattr(bot.get_cog("Circles"), "checkins", None)
    if not isinstance(registry, Checkins):
        raise UserFacingError(CHECKIN_ENDED)
    return registry


def checkin_view(bot: CircleBot, token: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for option in bot.library.checkin.weather:
        view.add_item(CheckinButton(token, option.id, label=option.label, emoji=option.emoji))
    return view


async def start_checkin(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle checkin`: post the weather check-in; an earlier one in this circle ends."""
    here = await keeper_here(bot, interaction)
    registry = _checkins(bot)
    token = registry.start(here.circle.id, [w.id for w in bot.library.checkin.weather])
    tally = registry.get(token)
    assert tally is not None
    try:
        await here.thread.send(
            checkin_text(bot, tally), view=checkin_view(bot, token), allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        registry.end(token)
        raise UserFacingError(
            "Discord would not let me post the check-in here. Nothing was started; please try "
            "again, or check that I can send messages in this thread."
        ) from None
    await interaction.response.send_message(
        "Check-in posted. Only totals will show; if the bot restarts, this check-in ends.",
        ephemeral=True,
    )


# --- check-out -------------------------------------------------------------------------------


class CheckoutModal(ErrorHandlingModal):
    """Private reflection: echoed back and never stored; the takeaway is shared only on yes."""

    def __init__(self, circle_id: int) -> None:
        super().__init__(title="Check out", timeout=900)
        self.circle_id = circle_id
        self.takeaway: discord.ui.TextInput[CheckoutModal] = discord.ui.TextInput(
            label="One takeaway from today (optional)",
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT - 40,
            required=False,
            custom_id="takeaway",
        )
        self.care: discord.ui.TextInput[CheckoutModal] = discord.ui.TextInput(
            label="One way you'll look after yourself (optional)",
            style=discord.TextStyle.paragraph,
            max_length=500,
            required=False,
            custom_id="care",
        )
        self.share: discord.ui.TextInput[CheckoutModal] = discord.ui.TextInput(
            label="Share my takeaway anonymously? (yes/no)",
            style=discord.TextStyle.short,
            max_length=10,
            required=False,
            default="no",
            custom_id="share",
        )
        for item in (self.takeaway, self.care, self.share):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.anonymous import submit_post

        bot: CircleBot = interaction.client
        takeaway = self.takeaway.value.strip()
        care = self.care.value.strip()
        choice = structure.wants_to_share(self.share.value)
        echo = _reflection(takeaway, care)
        if choice and takeaway:
            await submit_post(
                bot,
                interaction,
                self.circle_id,
                text=f"Check-out takeaway: {takeaway}",
                note=None,
                reply_to_message_id=None,
                quote_link=None,
                draft_token=None,
                confirmed=False,
            )
            if care:
                await interaction.followup.send(
                    "Only your takeaway is shared. For you alone:\n"
                    + _quote(care, "Looking after yourself"),
                    ephemeral=True,
                )
            return
        notes = []
        if choice is None and takeaway:
            notes.append("Your takeaway was not shared, because the answer wasn't a clear yes.")
        elif choice and not takeaway:
            notes.append("There was no takeaway to share, so nothing was posted.")
        text = "Thank you for checking out. This is only for you; nothing was stored or shared."
        await interaction.response.send_message(
            "\n\n".join([text, *([echo] if echo else []), *notes]), ephemeral=True
        )


def _quote(text: str, heading: str) -> str:
    body = text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"
    return f"**{heading}**\n" + "\n".join(f"> {line}" for line in body.splitlines())


def _reflection(takeaway: str, care: str) -> str:
    parts = []
    if takeaway:
        parts.append(_quote(takeaway, "Your takeaway"))
    if care:
        parts.append(_quote(care, "Looking after yourself"))
    return "\n".join(parts)[:1800]


class CheckoutButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ck:circle:checkout",
):
    """Check out: opens the private reflection form in whatever circle this is."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Check out", style=discord.ButtonStyle.primary, custom_id="ck:circle:checkout"
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> CheckoutButton:
        return cls()

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here = await member_or_keeper_here(bot, interaction)
        await interaction.response.send_modal(CheckoutModal(here.circle.id))


async def start_checkout(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle checkout`: post the check-out message with its button."""
    here = await keeper_here(bot, interaction)
    view = discord.ui.View(timeout=None)
    view.add_item(CheckoutButton())
    try:
        await here.thread.send(
            "**Check-out** · Before we close: press **Check out** to note one takeaway and one "
            "way you'll look after yourself. Your answers stay private unless you choose to share "
            "your takeaway anonymously. Skipping this is fine too.",
            view=view,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException:
        raise UserFacingError(
            "Discord would not let me post the check-out here. Please try again, or check that "
            "I can send messages in this thread."
        ) from None
    await interaction.response.send_message("Check-out posted.", ephemeral=True)


# --- rounds ----------------------------------------------------------------------------------


async def _holder_name(
    bot: CircleBot, rnd: Round, turn: Turn
) -> tuple[str, discord.AllowedMentions]:
    """How the holder is named in public, and the mentions that message may make."""
    if turn.user_id is not None:
        return f"<@{turn.user_id}>", discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(turn.user_id)]
        )
    assert turn.label_key is not None
    label = await anon.label_for(bot.db, rnd.circle_id, turn.label_key)
    return f"**{label}**", NO_MENTIONS


class TakeTurnButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"ck:circle:turn:(?P<token>{TOKEN})",
):
    """Take my turn: only the holder gets the private Share / Pass / Come back to me."""

    def __init__(self, token: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Take my turn",
                style=discord.ButtonStyle.primary,
                custom_id=f"ck:circle:turn:{token}",
            )
        )
        self.token = token

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> TakeTurnButton:
        return cls(match["token"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        _, rnd = await holder_here(bot, interaction, self.token)
        view = discord.ui.View(timeout=None)
        for action in ("share", "pass", "later"):
            view.add_item(TurnChoiceButton(action, self.token))
        how = (
            "Your share will be posted without your name, the same way as `/anon post`."
            if rnd.anonymous
            else "Your share will be posted with your display name."
        )
        await interaction.response.send_message(
            "The talking piece is yours. You can **Share**, **Pass** (no reason needed), or ask "
            f"to **come back** to you at the end. {how} Only you can see this.",
            view=view,
            ephemeral=True,
        )


async def holder_here(
    bot: CircleBot, interaction: discord.Interaction[Any], token: str
) -> tuple[Here, Round]:
    """The circle and its round, if the person clicking holds the piece for turn `token`.

    Anonymous rounds compare label keys, so the holder is never looked up by id.
    """
    here = await circle_here(bot, interaction)
    rnd = await structure.round_by_token(bot.db, token)
    if rnd is None or rnd.circle_id != here.circle.id:
        raise UserFacingError(TURN_OVER)
    turn = await structure.holder(bot.db, here.circle.id)
    if turn is None:
        raise UserFacingError(TURN_OVER)
    if rnd.anonymous:
        try:
            key = bot.circle_keys.label_key(here.circle, here.member.id)
        except AnonError as error:
            raise _error(error) from None
        mine = structure.is_holder(turn, label_key=key)
    else:
        mine = structure.is_holder(turn, user_id=here.member.id)
    if not mine:
        raise UserFacingError(
            "It isn't your turn right now. When the talking piece comes to you, the message "
            "will say so, and you can share or pass then."
        )
    return here, rnd


class TurnChoiceButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"ck:circle:turn:(?P<action>share|pass|later):(?P<token>{TOKEN})",
):
    """Share, Pass or Come back to me, shown privately to the holder."""

    LABELS: ClassVar[dict[str, str]] = {
        "share": "Share",
        "pass": "Pass",
        "later": "Come back to me",
    }

    def __init__(self, action: str, token: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.LABELS[action],
                style=(
                    discord.ButtonStyle.success
                    if action == "share"
                    else discord.ButtonStyle.secondary
                ),
                custom_id=f"ck:circle:turn:{action}:{token}",
            )
        )
        self.action = action
        self.token = token

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> TurnChoiceButton:
        return cls(match["action"], match["token"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here, rnd = await holder_here(bot, interaction, self.token)
        if self.action == "share":
            await interaction.response.send_modal(ShareModal(here.circle.id, rnd))
            return
        now = discord.utils.utcnow()
        if self.action == "pass":
            moved = await structure.finish_turn(bot.db, here.circle.id, self.token, now=now)
            done = "You passed. Thank you; no reason needed."
        else:
            try:
                moved = await structure.defer_turn(bot.db, here.circle.id, self.token, now=now)
            except StructureError as error:
                raise _error(error) from None
            done = "The piece will come back to you at the end of the round."
        if moved is None:
            raise UserFacingError(TURN_OVER)
        await interaction.response.edit_message(content=done, view=None)
        await move_on(bot, here.thread, rnd, moved)


class ShareModal(ErrorHandlingModal):
    """The holder's share: named rounds post it with their display name, anonymous rounds
    through the anonymous flow."""

    def __init__(self, circle_id: int, rnd: Round) -> None:
        super().__init__(title="Your share", timeout=900)
        self.circle_id = circle_id
        self.token = rnd.turn_token
        self.anonymous = rnd.anonymous
        self.text: discord.ui.TextInput[ShareModal] = discord.ui.TextInput(
            label="What you'd like to share",
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="share",
            placeholder=(
                "Shown without your name." if rnd.anonymous else "Shown with your display name."
            ),
        )
        self.note: discord.ui.TextInput[ShareModal] = discord.ui.TextInput(
            label="Content note (optional)",
            style=discord.TextStyle.short,
            max_length=anon.MAX_NOTE,
            required=False,
            custom_id="content_note",
            placeholder="e.g. violence, policing",
        )
        self.add_item(self.text)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        try:
            here, rnd = await holder_here(bot, interaction, self.token)
        except UserFacingError:
            # The time ran out while they wrote: give the text back rather than lose it.
            await interaction.response.send_message(
                "Your turn ended before this arrived, so it wasn't posted. Here is what you "
                "wrote, so it isn't lost:\n" + _quote(self.text.value, "Your share"),
                ephemeral=True,
            )
            return
        if self.anonymous:
            await self._share_anonymously(bot, interaction, here, rnd)
        else:
            await self._share_named(bot, interaction, here, rnd)

    async def _share_named(
        self, bot: CircleBot, interaction: discord.Interaction[Any], here: Here, rnd: Round
    ) -> None:
        try:
            text = anon.clean_text(self.text.value, what="Your share")
            note = (
                anon.clean_text(self.note.value, limit=anon.MAX_NOTE, what="The content note")
                if self.note.value.strip()
                else None
            )
        except AnonError as error:
            raise _error(error) from None
        parts = [f"**Content note:** {note}"] if note else []
        embed = discord.Embed(description="\n\n".join([*parts, text]), colour=STRUCTURE_COLOUR)
        embed.set_author(name=here.member.display_name)
        try:
            await here.thread.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            raise UserFacingError(
                "Discord would not let me post your share. The piece is still with you; "
                "please try again."
            ) from None
        moved = await structure.finish_turn(
            bot.db, here.circle.id, self.token, now=discord.utils.utcnow()
        )
        await interaction.response.send_message("Thank you for sharing.", ephemeral=True)
        if moved is not None:
            await move_on(bot, here.thread, rnd, moved)

    async def _share_anonymously(
        self, bot: CircleBot, interaction: discord.Interaction[Any], here: Here, rnd: Round
    ) -> None:
        from cogs.anonymous import submit_post

        try:
            key = bot.circle_keys.label_key(here.circle, here.member.id)
        except AnonError as error:
            raise _error(error) from None
        before = len(await anon.posts_by(bot.db, here.circle.id, key))
        await submit_post(
            bot,
            interaction,
            here.circle.id,
            text=self.text.value,
            note=self.note.value or None,
            reply_to_message_id=None,
            quote_link=None,
            draft_token=None,
            confirmed=False,
        )
        if len(await anon.posts_by(bot.db, here.circle.id, key)) == before:
            # Held as a draft (it may identify someone): the turn stays theirs meanwhile.
            await interaction.followup.send(
                "The talking piece stays with you while you decide. It moves on when you "
                "press Pass or your time is up.",
                ephemeral=True,
            )
            return
        moved = await structure.finish_turn(
            bot.db, here.circle.id, self.token, now=discord.utils.utcnow()
        )
        if moved is not None:
            await move_on(bot, here.thread, rnd, moved)


def round_intro(rnd: Round, prompt: Prompt | None, people: int) -> str:
    minutes = rnd.turn_seconds // 60
    lines = ["**A round is starting.**"]
    if prompt is not None:
        if prompt.content_notes:
            lines.append(f"**Content note:** {', '.join(prompt.content_notes)}")
        lines.append(f"> {prompt.text}")
    how = (
        "This round is anonymous: each person is shown by their anonymous label, and shares "
        "are posted without names."
        if rnd.anonymous
        else "Each person is named when the talking piece comes to them."
    )
    lines.append(
        f"{how} The piece goes round {people} {'person' if people == 1 else 'people'} in a "
        f"random order, up to {minutes} minute{'s' if minutes != 1 else ''} each. When it "
        "comes to you, you can share, pass (no reason needed), or ask to come back at the end."
    )
    return "\n".join(lines)[:2000]


async def announce_turn(bot: CircleBot, thread: discord.Thread, rnd: Round) -> None:
    """Post whose turn it is, with Take my turn; raises discord.HTTPException if Discord refuses."""
    turn = await structure.holder(bot.db, rnd.circle_id)
    if turn is None:
        return
    who, mentions = await _holder_name(bot, rnd, turn)
    after = await structure.waiting(bot.db, rnd.circle_id)
    queue = f"{after} after you." if after else "You're the last in this round."
    view = discord.ui.View(timeout=None)
    view.add_item(TakeTurnButton(rnd.turn_token))
    message = await thread.send(
        f"{who}, the talking piece is with you until {_when(rnd.turn_ends_at)}. Press "
        f"**Take my turn** to share, pass or come back later. {queue}",
        view=view,
        allowed_mentions=mentions,
    )
    await structure.set_turn_message(bot.db, rnd.circle_id, rnd.turn_token, message.id)


async def _retire_turn_message(thread: discord.Thread, rnd: Round) -> None:
    """Take the button off an old turn message so it reads as finished."""
    if rnd.turn_message_id is None:
        return
    try:
        await thread.get_partial_message(rnd.turn_message_id).edit(view=None)
    except discord.HTTPException as error:
        log.warning("Could not retire a turn message (HTTP %s)", error.status)


async def move_on(bot: CircleBot, thread: discord.Thread, before: Round, moved: Moved) -> None:
    """Show that the piece moved: the old turn is closed, then the next turn or the end."""
    await _retire_turn_message(thread, before)
    try:
        if moved.round is None:
            await thread.send(
                "That's the end of the round. Thank you, everyone, for sharing, passing and "
                "listening.",
                allowed_mentions=NO_MENTIONS,
            )
        else:
            await announce_turn(bot, thread, moved.round)
    except discord.HTTPException as error:
        # The round is safe in the database: the turn times out and the piece moves on.
        log.warning(
            "Could not announce the next turn in circle %s (HTTP %s)",
            before.circle_id,
            error.status,
        )


async def start_round(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    *,
    prompt_id: str | None,
    mode: structure.Mode,
    turn_minutes: int,
) -> None:
    """`/circle round start`."""
    here = await keeper_here(bot, interaction)
    prompt = None
    if prompt_id:
        prompt = await prompt_service.find_prompt(bot.db, bot.library, here.circle.id, prompt_id)
        if prompt is None:
            raise UserFacingError(
                f"There is no prompt with the id “{prompt_id}”. `/prompt list` shows them."
            )
    member_ids = await circles.agreed_members(bot.db, here.circle.id)
    members: list[int] | list[bytes] = member_ids
    try:
        structure.check_turn_minutes(turn_minutes)
        if mode == "anonymous":
            members = [bot.circle_keys.label_key(here.circle, m) for m in member_ids]
        rnd = await structure.start_round(
            bot.db,
            here.circle.id,
            mode=mode,
            members=members,
            prompt_id=prompt.id if prompt else None,
            turn_minutes=turn_minutes,
            now=discord.utils.utcnow(),
        )
    except (StructureError, AnonError) as error:
        raise _error(error) from None
    _wake_clock(bot, rnd.turn_ends_at)
    try:
        await here.thread.send(
            round_intro(rnd, prompt, len(member_ids)), allowed_mentions=NO_MENTIONS
        )
        await announce_turn(bot, here.thread, rnd)
    except discord.HTTPException:
        await structure.end_round(bot.db, here.circle.id)
        raise UserFacingError(
            "Discord would not let me post the round here, so it was not started. Please try "
            "again, or check that I can send messages in this thread."
        ) from None
    await interaction.response.send_message(
        f"The round has started with {len(member_ids)} "
        f"{'person' if len(member_ids) == 1 else 'people'}. `/circle round next` moves the "
        "piece on; `/circle round end` ends the round.",
        ephemeral=True,
    )


async def next_turn(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle round next`: the keeper moves the piece on from whoever holds it."""
    here = await keeper_here(bot, interaction)
    rnd = await structure.get_round(bot.db, here.circle.id)
    if rnd is None:
        raise UserFacingError("There's no round running here. `/circle round start` starts one.")
    moved = await structure.finish_turn(
        bot.db, here.circle.id, rnd.turn_token, now=discord.utils.utcnow()
    )
    if moved is None:
        raise UserFacingError("The piece moved on just now; nothing else was changed.")
    await interaction.response.send_message("The piece has moved on.", ephemeral=True)
    await move_on(bot, here.thread, rnd, moved)


async def end_round(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle round end`."""
    here = await keeper_here(bot, interaction)
    ended = await structure.end_round(bot.db, here.circle.id)
    if ended is None:
        raise UserFacingError("There's no round running here.")
    await interaction.response.send_message("The round has ended.", ephemeral=True)
    await _retire_turn_message(here.thread, ended)
    try:
        await here.thread.send(
            "The keeper has ended this round. Thank you, everyone.", allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as error:
        log.warning("Could not announce the end of a round (HTTP %s)", error.status)


async def leave_round(bot: CircleBot, circle: Circle, user_id: int) -> None:
    """Someone left the circle: the piece will not come to them (nor name them) again."""
    try:
        key: bytes | None = bot.circle_keys.label_key(circle, user_id)
    except AnonError:
        key = None
    await structure.leave_round(bot.db, circle.id, user_id=user_id, label_key=key)


# --- pause -----------------------------------------------------------------------------------


async def pause(bot: CircleBot, interaction: discord.Interaction[Any], minutes: int) -> None:
    """`/circle pause`: a grounding text, and the thread locked until the pause ends."""
    here = await keeper_here(bot, interaction)
    try:
        structure.check_pause_minutes(minutes)
    except StructureError as error:
        raise _error(error) from None
    previous = await structure.get_pause(bot.db, here.circle.id)
    if here.thread.locked and previous is None:
        raise UserFacingError(
            "This thread is locked already, and not by a pause. Unlock it first if you want to "
            "pause, so the pause doesn't unlock it when it ends."
        )
    me = here.thread.guild.me
    if me is not None and not here.thread.permissions_for(me).manage_threads:
        raise UserFacingError(NO_MANAGE_THREADS)
    now = discord.utils.utcnow()
    scheduled = await structure.schedule_pause(bot.db, here.circle.id, minutes=minutes, now=now)
    try:
        await here.thread.edit(locked=True)
    except discord.HTTPException as error:
        await structure.restore_pause(bot.db, here.circle.id, previous)
        if isinstance(error, discord.Forbidden):
            raise UserFacingError(NO_MANAGE_THREADS) from None
        raise UserFacingError(
            "Discord had a problem locking the thread. Nothing was changed; please try again."
        ) from None
    _wake_clock(bot, scheduled.ends_at)
    text = random.choice(bot.library.grounding.pause_texts)
    embed = discord.Embed(
        title=f"A pause of {minutes} minute{'s' if minutes != 1 else ''}",
        description=f"{text}\n\nThe thread opens again at {_when(scheduled.ends_at)}.",
        colour=STRUCTURE_COLOUR,
    )
    try:
        await here.thread.send(embed=embed, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning(
            "Could not post the pause text in circle %s (HTTP %s)", here.circle.id, error.status
        )
    await interaction.response.send_message(
        f"The thread is locked until {_when(scheduled.ends_at)}; I'll unlock it then by myself.",
        ephemeral=True,
    )


async def end_pause(bot: CircleBot, circle_id: int) -> None:
    """Unlock a paused thread whose time is up. A closed circle stays locked."""
    circle = await circles.get_circle(bot.db, circle_id)
    thread = await _thread_of(bot, circle) if circle is not None and circle.is_open else None
    if circle is None or thread is None:
        await structure.clear_pause(bot.db, circle_id)
        return
    try:
        await thread.edit(locked=False)
    except (discord.Forbidden, discord.NotFound) as error:
        await structure.clear_pause(bot.db, circle_id)
        log.warning("Could not unlock circle %s after a pause (HTTP %s)", circle_id, error.status)
        return
    except discord.HTTPException as error:
        log.warning("Unlocking circle %s failed (HTTP %s); will retry", circle_id, error.status)
        return
    await structure.clear_pause(bot.db, circle_id)
    now = discord.utils.utcnow()
    await structure.restart_turn_clock(bot.db, circle_id, now=now)
    try:
        await thread.send(
            "The pause is over and the thread is open again. Welcome back; take your time.",
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as error:
        log.warning("Could not announce the end of a pause (HTTP %s)", error.status)


# --- the clock -------------------------------------------------------------------------------


def _wake_clock(bot: CircleBot, due: datetime) -> None:
    """Make the circles cog's clock run by `due` (it sleeps until the next thing ends)."""
    wake = getattr(bot.get_cog("Circles"), "wake_clock", None)
    if wake is not None:
        wake(due)


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
        thread = await _thread_of(bot, circle) if circle is not None else None
        if thread is None:
            await structure.end_round(bot.db, rnd.circle_id)
            continue
        await move_on(bot, thread, rnd, moved)


async def end_forgotten_rounds(bot: CircleBot) -> None:
    """At start-up: strict circles' keys died with the last process, so nobody can be
    matched to an anonymous round started before it; end those rounds and say why."""
    for circle_id in await structure.anonymous_rounds_in_strict_circles(bot.db):
        ended = await structure.end_round(bot.db, circle_id)
        circle = await circles.get_circle(bot.db, circle_id)
        thread = await _thread_of(bot, circle) if circle is not None else None
        if thread is None or ended is None:
            continue
        await _retire_turn_message(thread, ended)
        try:
            await thread.send(
                "The bot restarted, and in a strict circle anonymous labels start afresh after "
                "a restart, so this round has ended. A keeper can start a new one.",
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            log.warning("Could not announce an ended round (HTTP %s)", error.status)


# --- I need a break --------------------------------------------------------------------------


async def break_embeds(bot: CircleBot, guild_id: int | None) -> list[discord.Embed]:
    """The grounding steps and the resource card, shown only to whoever asked."""
    grounding = bot.library.grounding
    steps = discord.Embed(
        title=grounding.break_title,
        description="\n".join(f"• {step}" for step in grounding.break_steps)[:4000],
        colour=BREAK_COLOUR,
    )
    return [steps, await resource_embed(bot, guild_id)]


async def show_break(
    bot: CircleBot, interaction: discord.Interaction[Any], circle: Circle | None
) -> None:
    """Privately show the break steps; offer to ask a keeper only to the circle's members.

    No other request is made: nobody learns that the break was taken.
    """
    view: discord.ui.View | None = None
    if circle is not None and circle.is_open and await _in_circle(bot, circle, interaction.user.id):
        view = discord.ui.View(timeout=None)
        view.add_item(AskKeeperButton(circle.id))
    text = "Only you can see this. Nobody has been told anything."
    if view is not None:
        text += " If you'd like, a keeper can check in with you privately."
    embeds = await break_embeds(bot, interaction.guild_id)
    if view is None:
        await interaction.response.send_message(text, embeds=embeds, ephemeral=True)
    else:
        await interaction.response.send_message(text, embeds=embeds, view=view, ephemeral=True)


async def _in_circle(bot: CircleBot, circle: Circle, user_id: int) -> bool:
    if await circles.membership(bot.db, circle.id, user_id) is not None:
        return True
    return await circles.is_keeper(bot.db, circle.id, user_id)


class AskKeeperButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ck:circle:break:ask:(?P<circle_id>[0-9]+)",
):
    """Ask a keeper to check in with me: the only way a break is ever told to anyone."""

    def __init__(self, circle_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Ask a keeper to check in with me",
                style=discord.ButtonStyle.secondary,
                custom_id=f"ck:circle:break:ask:{circle_id}",
            )
        )
        self.circle_id = circle_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> AskKeeperButton:
        return cls(int(match["circle_id"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        member = require_member(interaction)
        circle = await circles.get_circle(bot.db, self.circle_id)
        if circle is None or not circle.is_open:
            raise UserFacingError("This circle has closed. /resources lists support elsewhere.")
        if not await _in_circle(bot, circle, member.id):
            raise UserFacingError("Keepers check in with members of this circle only.")
        await interaction.response.defer()
        reached = await tell_keepers(bot, circle, member)
        if reached:
            text = (
                "Thank you for saying so. A keeper has been asked to check in with you "
                "privately. You don't need to explain anything. Take your time."
            )
        else:
            text = (
                "I couldn't reach a keeper just now (their direct messages are closed and this "
                "server has no moderators' queue channel). You could message a keeper directly; "
                "/resources lists support outside the server."
            )
        await interaction.edit_original_response(content=text, view=None)


async def tell_keepers(bot: CircleBot, circle: Circle, member: discord.Member) -> bool:
    """DM the circle's keepers that this member asked for a check-in; fall back to the queue
    channel when a keeper can't be reached. True if anyone was told."""
    keeper_ids = [k for k in await circles.keepers(bot.db, circle.id) if k != member.id]
    where = f" (<#{circle.thread_id}>)" if circle.thread_id else ""
    text = (
        f"{member.mention} (**{member.display_name}**) in the circle “{circle.name}”{where} "
        "pressed **I need a break** and asked a keeper to check in with them. They don't need "
        "to explain anything; a short, private hello is enough."
    )
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
    reason = (
        "Not every keeper could be reached by direct message."
        if keeper_ids
        else "The circle has no other keeper to ask."
    )
    try:
        await channel.send(f"{text}\n{reason}", allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("Could not post a check-in request to the queue (HTTP %s)", error.status)
        return told > 0
    return True


STRUCTURE_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    CheckinButton,
    CheckoutButton,
    TakeTurnButton,
    TurnChoiceButton,
    AskKeeperButton,
)
