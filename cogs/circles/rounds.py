"""Rounds: the talking piece goes round every member of the circle, one turn each.

Anonymous rounds know the holder only by a holder key made for that round (see
`bot.services.structure.holder_key`), and their shares go through the anonymous flow
(`bot.layer.posting.submit_post`); passing never asks for a reason and is not announced.
A member who has not accepted the newest agreements still gets the piece, and is asked
privately, when they take their turn, to accept them before sharing (or to pass).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.decks import Prompt
from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import Here, NeedsAgreement, circle_here, keeper_here
from bot.layer.automod import channel_ids, check_member_text, verdict_notice
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.discord_utils import content_note_input
from bot.layer.errors import NO_MENTIONS, ErrorHandlingModal, UserFacingError, refusal_text
from bot.layer.i18n import circle_language, member_language, tr
from bot.layer.posting import EditDraftButton, submit_post
from bot.layer.threads import get_thread
from bot.services import anonymous as anon
from bot.services import circles, structure
from bot.services import prompts as prompt_service
from bot.services.anonymous import AnonError
from bot.services.circles import Circle
from bot.services.structure import Moved, Round, Turn
from bot.services.wordlists import label_words
from cogs.circles.common import (
    STRUCTURE_COLOUR,
    local_time,
    quote_block,
)
from cogs.circles.views import JoinButton

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

TURN_OVER = N_("That turn is already over; the talking piece has moved on.")
NEW_AGREEMENT = N_(
    "The talking piece is yours. This circle has a new agreement since you joined: to share, "
    "please **read and accept** it first, then press **Take my turn** again. You can also "
    "**Pass** (no reason needed) or ask to **come back** to you at the end. Only you can see "
    "this."
)
LEFT_HOLDING = N_(
    "You left this circle while the talking piece was with you. **Pass** hands it on now; "
    "otherwise it moves on when the time is up."
)


def round_intro(rnd: Round, prompt: Prompt | None, people: int, language: str = "en") -> str:
    """The public start of a round, in the circle's `language`."""
    lang = language
    minutes = rnd.turn_seconds // 60
    lines = [tr(lang, "**A round is starting.**")]
    if prompt is not None:
        if prompt.content_notes:
            lines.append(tr(lang, "**Content note:** {note}", note=", ".join(prompt.content_notes)))
        lines.append(f"> {prompt.text}")
    how = tr(
        lang,
        "This round is anonymous: each person is shown by their anonymous label, and shares "
        "are posted without names."
        if rnd.anonymous
        else "Each person is named when the talking piece comes to them.",
    )
    who = tr(
        lang,
        "The piece goes round 1 person" if people == 1 else "The piece goes round {count} people",
        count=people,
    )
    each = tr(
        lang,
        "in a random order, up to 1 minute each."
        if minutes == 1
        else "in a random order, up to {minutes} minutes each.",
        minutes=minutes,
    )
    after = tr(
        lang,
        "When it comes to you, you can share, pass (no reason needed), or ask to come back at "
        "the end.",
    )
    lines.append(f"{how} {who} {each} {after}")
    return "\n".join(lines)[:2000]


class TakeTurnButton(
    PersistentButton,
    custom_id=ids.TAKE_TURN,
    label="Take my turn",
    style=discord.ButtonStyle.primary,
):
    """Take my turn: only the holder gets the private Share / Pass / Come back to me."""

    token: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here, rnd = await holder_here(bot, interaction, self.token)
        lang = member_language(interaction)
        view = persistent_view()
        if not await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
            if await circles.membership(bot.db, here.circle.id, here.member.id) is None:
                # They left while holding the piece: they may still hand it on.
                view.add_item(TurnChoiceButton.made("pass", self.token, lang))
                await interaction.response.send_message(
                    tr(lang, LEFT_HOLDING), view=view, ephemeral=True
                )
                return
            view.add_item(JoinButton(here.circle.id, label=tr(lang, "Read and accept")))
            for action in ("pass", "later"):
                view.add_item(TurnChoiceButton.made(action, self.token, lang))
            await interaction.response.send_message(
                tr(lang, NEW_AGREEMENT), view=view, ephemeral=True
            )
            return
        for action in ("share", "pass", "later"):
            view.add_item(TurnChoiceButton.made(action, self.token, lang))
        how = tr(
            lang,
            "Your share will be posted without your name, the same way as `/anon post`."
            if rnd.anonymous
            else "Your share will be posted with your display name.",
        )
        await interaction.response.send_message(
            tr(
                lang,
                "The talking piece is yours. You can **Share**, **Pass** (no reason needed), "
                "or ask to **come back** to you at the end. {how} Only you can see this.",
                how=how,
            ),
            view=view,
            ephemeral=True,
        )


class TurnChoiceButton(
    PersistentButton,
    custom_id=ids.TURN_CHOICE,
):
    """Share, Pass or Come back to me, shown privately to the holder."""

    LABELS: ClassVar[dict[str, str]] = {
        "share": N_("Share"),
        "pass": N_("Pass"),
        "later": N_("Come back to me"),
    }

    @classmethod
    def made(cls, action: str, token: str, language: str) -> TurnChoiceButton:
        """The button with its label in the holder's language."""
        return cls(action, token, label=tr(language, cls.LABELS[action]))

    action: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        share = self.action == "share"
        style = discord.ButtonStyle.success if share else discord.ButtonStyle.secondary
        return self.LABELS[self.action], style

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here, rnd = await holder_here(bot, interaction, self.token)
        if self.action == "share":
            if not await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
                raise NeedsAgreement(here.circle, joined=True)
            await interaction.response.send_modal(
                ShareModal(here.circle.id, rnd, member_language(interaction))
            )
            return
        now = discord.utils.utcnow()
        if self.action == "pass":
            moved = await structure.finish_turn(bot.db, here.circle.id, self.token, now=now)
            done = N_("You passed. Thank you; no reason needed.")
        else:
            moved = await structure.defer_turn(bot.db, here.circle.id, self.token, now=now)
            done = N_("The piece will come back to you at the end of the round.")
        if moved is None:
            raise UserFacingError(TURN_OVER)
        await interaction.response.edit_message(
            content=tr(member_language(interaction), done), view=None
        )
        await move_on(bot, here.thread, rnd, moved)


class ShareModal(ErrorHandlingModal):
    """The holder's share: named rounds post it with their display name, anonymous rounds
    through the anonymous flow."""

    def __init__(self, circle_id: int, rnd: Round, language: str = "en") -> None:
        super().__init__(title=tr(language, "Your share"), timeout=900)
        self.circle_id = circle_id
        self.token = rnd.turn_token
        self.anonymous = rnd.anonymous
        self.text: discord.ui.TextInput[ShareModal] = discord.ui.TextInput(
            label=tr(language, "What you'd like to share"),
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="share",
            placeholder=tr(
                language,
                "Shown without your name." if rnd.anonymous else "Shown with your display name.",
            ),
        )
        self.note: discord.ui.TextInput[ShareModal] = content_note_input(language, anon.MAX_NOTE)
        self.add_item(self.text)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        try:
            here, rnd = await holder_here(bot, interaction, self.token)
        except UserFacingError:
            # The time ran out while they wrote: keep the text rather than lose it.
            await self._give_back(bot, interaction)
            return
        if self.anonymous:
            await self._share_anonymously(bot, interaction, here, rnd)
        else:
            await self._share_named(bot, interaction, here, rnd)

    async def _give_back(self, bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
        lang = member_language(interaction)
        lead = tr(lang, "Your turn ended before this arrived, so it wasn't posted.")
        if not self.anonymous:
            text = lead + " " + tr(lang, "Here is what you wrote, so it isn't lost:") + "\n"
            await interaction.response.send_message(
                (text + quote_block(self.text.value, tr(lang, "Your share")))[:2000],
                ephemeral=True,
            )
            return
        # Anonymous words never travel in an interaction response: keep them as a draft the
        # author can reopen in the posting form (a modal) and post anonymously after all.
        here = await circle_here(bot, interaction)
        try:
            label_key = bot.circle_keys.label_key(here.circle, here.member.id)
            draft = await anon.save_draft(
                bot.db,
                here.circle,
                label_key,
                text=self.text.value,
                content_note=self.note.value or None,
                reply_to_message_id=None,
                quote_link=None,
                now=discord.utils.utcnow(),
            )
        except AnonError as error:
            refused = refusal_text(member_language(interaction), error)
            raise UserFacingError(f"{lead} {refused}") from None
        view = persistent_view()
        view.add_item(EditDraftButton(draft.token, label=tr(lang, "Edit")))
        await interaction.response.send_message(
            lead
            + " "
            + tr(
                lang,
                "It is kept for 15 minutes: **Edit** opens it again, and you can post it "
                "anonymously from there.",
            ),
            view=view,
            ephemeral=True,
        )

    async def _share_named(
        self, bot: CircleBot, interaction: discord.Interaction[Any], here: Here, rnd: Round
    ) -> None:
        lang = member_language(interaction)
        if not await circles.has_current_agreement(bot.db, here.circle.id, here.member.id):
            # A new agreement was added while they wrote: keep the text rather than lose it.
            text = tr(
                lang,
                "This circle has a new agreement, so your share wasn't posted. Please accept "
                "it (`/circle agreements show`) and share again. Here is what you wrote:",
            )
            await interaction.response.send_message(
                (text + "\n" + quote_block(self.text.value, tr(lang, "Your share")))[:2000],
                ephemeral=True,
            )
            return
        text = anon.clean_text(self.text.value, what=N_("Your share"))
        note = (
            anon.clean_text(self.note.value, limit=anon.MAX_NOTE, what=N_("The content note"))
            if self.note.value.strip()
            else None
        )
        verdict = await check_member_text(
            bot,
            here.member.guild,
            channel_ids(here.thread),
            text if note is None else f"{text}\n{note}",
        )
        if verdict is not None:
            # A named share has no review queue: a rule that would hold it stops it too.
            raise UserFacingError(
                (
                    verdict_notice(verdict, interaction.locale)
                    + "\n"
                    + quote_block(self.text.value, tr(lang, "Your share"))
                )[:2000]
            )
        public = circle_language(here.circle)
        parts = [tr(public, "**Content note:** {note}", note=note)] if note else []
        embed = discord.Embed(description="\n\n".join([*parts, text]), colour=STRUCTURE_COLOUR)
        embed.set_author(name=here.member.display_name)
        try:
            await here.thread.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            raise UserFacingError(
                N_(
                    "Discord would not let me post your share. The piece is still with you; "
                    "please try again."
                )
            ) from None
        moved = await structure.finish_turn(
            bot.db, here.circle.id, self.token, now=discord.utils.utcnow()
        )
        await interaction.response.send_message(tr(lang, "Thank you for sharing."), ephemeral=True)
        if moved is not None:
            await move_on(bot, here.thread, rnd, moved)

    async def _share_anonymously(
        self, bot: CircleBot, interaction: discord.Interaction[Any], here: Here, rnd: Round
    ) -> None:
        posted = await submit_post(
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
        if posted is None:
            # Held as a draft (it may identify someone): the turn stays theirs meanwhile.
            await interaction.followup.send(
                tr(
                    member_language(interaction),
                    "The talking piece stays with you while you decide. It moves on when you "
                    "press Pass or your time is up.",
                ),
                ephemeral=True,
            )
            return
        moved = await structure.finish_turn(
            bot.db, here.circle.id, self.token, now=discord.utils.utcnow()
        )
        if moved is not None:
            await move_on(bot, here.thread, rnd, moved)


async def _holder_name(
    bot: CircleBot, rnd: Round, turn: Turn, language: str = "en"
) -> tuple[str, discord.AllowedMentions]:
    """How the holder is named in public (an anonymous round's name from the circle's
    `language`), and the mentions that message may make."""
    if turn.user_id is not None:
        return f"<@{turn.user_id}>", discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(turn.user_id)]
        )
    assert turn.holder_key is not None
    alias = structure.round_alias(turn.holder_key, label_words(language))
    return tr(language, "**{name}** (this round's name)", name=alias), NO_MENTIONS


async def holder_here(
    bot: CircleBot, interaction: discord.Interaction[Any], token: str
) -> tuple[Here, Round]:
    """The circle and its round, if the person clicking holds the piece for turn `token`.

    Anonymous rounds compare holder keys, so the holder is never looked up by id.
    """
    here = await circle_here(bot, interaction)
    rnd = await structure.round_by_token(bot.db, token)
    if rnd is None or rnd.circle_id != here.circle.id:
        raise UserFacingError(TURN_OVER)
    turn = await structure.holder(bot.db, here.circle.id)
    if turn is None:
        raise UserFacingError(TURN_OVER)
    if rnd.anonymous:
        key = structure.holder_key(
            rnd.round_salt, bot.circle_keys.circle_key(here.circle), here.member.id
        )
        mine = structure.is_holder(turn, holder=key)
    else:
        mine = structure.is_holder(turn, user_id=here.member.id)
    if not mine:
        raise UserFacingError(
            N_(
                "It isn't your turn right now. When the talking piece comes to you, the message "
                "will say so, and you can share or pass then."
            )
        )
    return here, rnd


async def announce_turn(bot: CircleBot, thread: discord.Thread, rnd: Round) -> None:
    """Post whose turn it is, with Take my turn; raises discord.HTTPException if Discord refuses."""
    turn = await structure.holder(bot.db, rnd.circle_id)
    if turn is None:
        return
    circle = await circles.get_circle(bot.db, rnd.circle_id)
    lang = circle_language(circle) if circle is not None else "en"  # public: the circle's
    who, mentions = await _holder_name(bot, rnd, turn, lang)
    after = await structure.waiting(bot.db, rnd.circle_id)
    queue = (
        tr(lang, "{count} after you.", count=after)
        if after
        else tr(lang, "You're the last in this round.")
    )
    view = persistent_view()
    view.add_item(TakeTurnButton(rnd.turn_token, label=tr(lang, "Take my turn")))
    message = await thread.send(
        tr(
            lang,
            "{who}, the talking piece is with you until {time}. Press **Take my turn** to "
            "share, pass or come back later. {queue}",
            who=who,
            time=local_time(rnd.turn_ends_at),
            queue=queue,
        ),
        view=view,
        allowed_mentions=mentions,
    )
    await structure.set_turn_message(bot.db, rnd.circle_id, rnd.turn_token, message.id)


TURN_PASSED = N_("This turn has passed: the talking piece has moved on.")


async def _retire_turn_message(thread: discord.Thread, rnd: Round, language: str = "en") -> None:
    """Replace an old turn message's words and take its button off, so it no longer says the
    piece is with someone until a time that has gone."""
    if rnd.turn_message_id is None:
        return
    try:
        await thread.get_partial_message(rnd.turn_message_id).edit(
            content=tr(language, TURN_PASSED), view=None, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as error:
        log.warning("Could not retire a turn message (HTTP %s)", error.status)


async def _present(bot: CircleBot, rnd: Round) -> set[int] | set[bytes]:
    """Who is still in the circle, the way the round knows them: ids in named rounds,
    holder keys in anonymous ones (none when the circle's key is gone)."""
    member_ids = await circles.members(bot.db, rnd.circle_id)
    if not rnd.anonymous:
        return set(member_ids)
    circle = await circles.get_circle(bot.db, rnd.circle_id)
    if circle is None:
        return set()
    try:
        key = bot.circle_keys.circle_key(circle)
    except AnonError:
        return set()
    return {structure.holder_key(rnd.round_salt, key, m) for m in member_ids}


async def move_on(bot: CircleBot, thread: discord.Thread, before: Round, moved: Moved) -> None:
    """Show that the piece moved: the old turn is closed, then the next turn or the end.

    Places of members who left are skipped here, when the piece reaches them, rather than
    when they left.
    """
    if moved.round is not None:
        skipped = await structure.drop_departed(
            bot.db,
            moved.round.circle_id,
            moved.round.turn_token,
            present=await _present(bot, moved.round),
            now=discord.utils.utcnow(),
        )
        moved = skipped or moved
    circle = await circles.get_circle(bot.db, before.circle_id)
    lang = circle_language(circle) if circle is not None else "en"  # public: the circle's
    await _retire_turn_message(thread, before, lang)
    try:
        if moved.round is None:
            await thread.send(
                tr(
                    lang,
                    "That's the end of the round. Thank you, everyone, for sharing, passing "
                    "and listening.",
                ),
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
    mine = member_language(interaction)
    public = circle_language(here.circle)
    prompt = None
    if prompt_id:
        prompt = await prompt_service.find_prompt(
            bot.db, bot.library_for(here.circle.language), here.circle.id, prompt_id
        )
        if prompt is None:
            raise UserFacingError(
                tr(
                    mine,
                    "There is no prompt with the id “{prompt_id}”. `/prompt list` shows them.",
                    prompt_id=prompt_id,
                )
            )
    # Every member, not only those who accepted the newest agreements: that narrower set is
    # exactly who can post anonymously, and the round would show it to everyone.
    member_ids = await circles.members(bot.db, here.circle.id)
    structure.check_turn_minutes(turn_minutes)
    circle_key = bot.circle_keys.circle_key(here.circle) if mode == "anonymous" else None
    rnd = await structure.start_round(
        bot.db,
        here.circle.id,
        mode=mode,
        member_ids=member_ids,
        circle_key=circle_key,
        prompt_id=prompt.id if prompt else None,
        turn_minutes=turn_minutes,
        now=discord.utils.utcnow(),
    )
    bot.clock.wake(rnd.turn_ends_at)
    try:
        await here.thread.send(
            round_intro(rnd, prompt, len(member_ids), public), allowed_mentions=NO_MENTIONS
        )
        await announce_turn(bot, here.thread, rnd)
    except discord.HTTPException:
        await structure.end_round(bot.db, here.circle.id)
        raise UserFacingError(
            N_(
                "Discord would not let me post the round here, so it was not started. Please "
                "try again, or check that I can send messages in this thread."
            )
        ) from None
    await interaction.response.send_message(
        tr(
            mine,
            "The round has started with 1 person."
            if len(member_ids) == 1
            else "The round has started with {count} people.",
            count=len(member_ids),
        )
        + " "
        + tr(mine, "`/circle round next` moves the piece on; `/circle round end` ends the round."),
        ephemeral=True,
    )


async def next_turn(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle round next`: the keeper moves the piece on from whoever holds it."""
    here = await keeper_here(bot, interaction)
    rnd = await structure.get_round(bot.db, here.circle.id)
    if rnd is None:
        raise UserFacingError(
            N_("There's no round running here. `/circle round start` starts one.")
        )
    moved = await structure.finish_turn(
        bot.db, here.circle.id, rnd.turn_token, now=discord.utils.utcnow()
    )
    if moved is None:
        raise UserFacingError(N_("The piece moved on just now; nothing else was changed."))
    await interaction.response.send_message(
        tr(member_language(interaction), "The piece has moved on."), ephemeral=True
    )
    await move_on(bot, here.thread, rnd, moved)


async def end_round(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/circle round end`."""
    here = await keeper_here(bot, interaction)
    ended = await structure.end_round(bot.db, here.circle.id)
    if ended is None:
        raise UserFacingError(N_("There's no round running here."))
    await interaction.response.send_message(
        tr(member_language(interaction), "The round has ended."), ephemeral=True
    )
    lang = circle_language(here.circle)
    await _retire_turn_message(here.thread, ended, lang)
    try:
        await here.thread.send(
            tr(lang, "The keeper has ended this round. Thank you, everyone."),
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as error:
        log.warning("Could not announce the end of a round (HTTP %s)", error.status)


async def leave_round(bot: CircleBot, circle: Circle, user_id: int) -> None:
    """Someone left the circle: a named round forgets their id now; an anonymous round's
    rows are left alone and their place is skipped when the piece reaches it (`move_on`).
    Either way the piece will not come to them (nor name them) again."""
    await structure.leave_named_round(bot.db, circle.id, user_id=user_id)


async def end_forgotten_rounds(bot: CircleBot) -> None:
    """At start-up: strict circles' keys died with the last process, so nobody can be
    matched to an anonymous round started before it; end those rounds and say why."""
    for circle_id in await structure.anonymous_rounds_in_strict_circles(bot.db):
        ended = await structure.end_round(bot.db, circle_id)
        circle = await circles.get_circle(bot.db, circle_id)
        thread = await get_thread(bot, circle) if circle is not None else None
        if thread is None or ended is None:
            continue
        lang = circle_language(circle) if circle is not None else "en"
        await _retire_turn_message(thread, ended, lang)
        try:
            await thread.send(
                tr(
                    lang,
                    "The bot restarted, and in a strict circle anonymous labels start afresh "
                    "after a restart, so this round has ended. A keeper can start a new one.",
                ),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            log.warning("Could not announce an ended round (HTTP %s)", error.status)
