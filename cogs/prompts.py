"""`/prompt`: browse the decks, post prompts in a circle, add a circle's own, schedule them,
and the prompts members suggest without their name.

Every prompt is posted the same way (`prompt_embed` and `prompt_view`): content notes first,
and a heavy prompt's text only behind a **Show prompt** button that answers privately.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.client import CircleBot
from bot.decks import MAX_CONTENT_NOTE, MAX_PROMPT_TEXT, Library, Prompt, Session
from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import Here, keeper_here, open_circle, participant_here
from bot.layer.automod import refuse_what_rules_stop
from bot.layer.breaks import BreakButton
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.discord_utils import content_note_input
from bot.layer.errors import NO_MENTIONS, ErrorHandlingModal, UserFacingError
from bot.layer.i18n import circle_language, delay_words, member_language, tr
from bot.layer.posting import ReplyButton
from bot.layer.threads import get_thread
from bot.layer.timing import sleep_until_due, wake_by
from bot.services import anonymous as anon
from bot.services import circles, suggestions
from bot.services import prompts as prompt_service
from bot.services.circles import Circle
from bot.services.config import get_config

log = logging.getLogger(__name__)

PROMPT_COLOUR = discord.Colour.from_rgb(163, 190, 140)
# The loop then sleeps until the next schedule falls due; this is only its first interval.
CHECK_SECONDS = 60
PAGE_LIMIT = 4000  # an embed description holds 4096 characters
SHORT_TEXT = 110
MAX_CHOICES = 25  # Discord's limit for autocomplete
SUGGESTIONS_SHOWN = 5  # one private message each, with its own buttons
SUGGESTION_COLOUR = discord.Colour.from_rgb(180, 160, 200)

HIDDEN_TEXT = N_(
    "This is a heavier prompt, so its text is behind the **Show prompt** button: only you see "
    "it, when you choose to. Passing never needs a reason."
)
DECK_DONE = N_("That was the last prompt in this deck; the schedule has stopped.")
HEAVY_STOP = N_(
    "The schedule has stopped here: the next prompt (`{id}`) is a heavier one, and heavier "
    "prompts are posted only when a keeper chooses to. A keeper can read it first with "
    "`/prompt list deck:{deck} preview:{id}`, post it with `/prompt post id:{id}` when the "
    "circle is ready, or schedule again with `include_heavy` on."
)
USED_UP = N_(
    "Every prompt in this circle's deck, and every prompt added here, has been posted. Add one "
    "with `/prompt add`, or post one again by its id with `/prompt post`."
)
# A prompt's intensity, as a listing names it.
INTENSITY_WORDS = {"light": N_("light"), "moderate": N_("moderate"), "heavy": N_("heavy")}
# The kinds of identifying detail a suggestion may hold (bot.services.textchecks), named.
DETAIL_WORDS = {
    "Discord invite": N_("Discord invite"),
    "email address": N_("email address"),
    "link": N_("link"),
    "mention": N_("mention"),
    "social media handle": N_("social media handle"),
    "street address": N_("street address"),
    "phone number": N_("phone number"),
    "handle": N_("handle"),
}


# --- helpers -----------------------------------------------------------------------------


def shorten(text: str, limit: int = SHORT_TEXT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def pages(lines: Sequence[str], limit: int = PAGE_LIMIT) -> list[str]:
    """Join lines into pages of at most `limit` characters, never splitting a line."""
    found: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else shorten(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            found.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        found.append(current)
    return found


def prompt_embed(
    prompt: Prompt,
    *,
    reveal: bool = False,
    session_title: str | None = None,
    language: str = "en",
) -> discord.Embed:
    """How a prompt looks: content notes first, then the text (unless heavy), then follow-ups.

    `reveal` shows a heavy prompt's text, for the private answer to Show prompt.
    `session_title` is given when this prompt starts a new session of its deck. The bot's
    own words are in `language`; the prompt is the deck's content as it stands.
    """
    parts: list[str] = []
    if session_title:
        parts.append(tr(language, "**New session: {title}**", title=session_title))
    if prompt.content_notes:
        notes = ", ".join(prompt.content_notes)
        parts.append(tr(language, "This prompt touches on: {notes}", notes=notes))
    if prompt.is_heavy and not reveal:
        parts.append(tr(language, HIDDEN_TEXT))
    else:
        parts.append(prompt.text)
        if prompt.follow_ups:
            parts.append("\n".join(f"• {follow_up}" for follow_up in prompt.follow_ups))
    embed = discord.Embed(
        title=tr(language, "A heavier prompt" if prompt.is_heavy else "A prompt for the circle"),
        description="\n\n".join(parts),
        colour=PROMPT_COLOUR,
    )
    embed.set_footer(text=tr(language, "Prompt {id} · Passing never needs a reason.", id=prompt.id))
    return embed


def intensity_word(language: str, intensity: str) -> str:
    word = INTENSITY_WORDS.get(intensity)
    return tr(language, word) if word else intensity


def prompt_line(prompt: Prompt, language: str = "en") -> str:
    """One prompt in a deck listing; a heavy prompt's text is not shown."""
    head = f"`{prompt.id}` · {intensity_word(language, prompt.intensity)}"
    if prompt.content_notes:
        notes = ", ".join(prompt.content_notes)
        head += " · " + tr(language, "touches on {notes}", notes=notes)
    if prompt.is_heavy:
        return f"{head}\n" + tr(language, "*Text shown only behind the Show prompt button.*")
    return f"{head}\n{shorten(prompt.text)}"


def explain_post_failure(error: discord.HTTPException, language: str = "en") -> str:
    if isinstance(error, discord.Forbidden):
        return tr(
            language,
            "Discord would not let me post in this thread: I need Send Messages in Threads and "
            "Embed Links here. The prompt was not posted.",
        )
    return tr(
        language,
        "Discord had a problem, so the prompt was not posted. Nothing was recorded; try again.",
    )


async def send_pages(
    interaction: discord.Interaction[Any], title: str, lines: Sequence[str]
) -> None:
    """Privately send `lines` as one embed per page."""
    empty = tr(member_language(interaction), "Nothing here yet.")
    for number, page in enumerate(pages(lines) or [empty]):
        embed = discord.Embed(title=title if number == 0 else None, description=page)
        embed.colour = PROMPT_COLOUR
        if number == 0:
            await interaction.response.send_message(embed=embed, ephemeral=True)
        else:
            await interaction.followup.send(embed=embed, ephemeral=True)


# --- views -------------------------------------------------------------------------------


class ShowPromptButton(
    PersistentButton,
    custom_id=ids.SHOW_PROMPT,
    label="Show prompt",
    style=discord.ButtonStyle.primary,
):
    """Show prompt: the text of a heavy prompt, privately, to whoever presses it."""

    circle_id: int
    prompt_id: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        circle = await circles.get_circle(bot.db, self.circle_id)
        if circle is None:
            raise UserFacingError(N_("This circle no longer exists."))
        prompt = await prompt_service.find_prompt(
            bot.db, bot.library_for(circle.language), circle.id, self.prompt_id
        )
        if prompt is None:
            raise UserFacingError(N_("That prompt is no longer available."))
        await interaction.response.send_message(
            embed=prompt_embed(prompt, reveal=True, language=member_language(interaction)),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


def prompt_view(circle_id: int, prompt: Prompt, language: str = "en") -> discord.ui.View:
    """A posted prompt's buttons, labelled in the circle's `language`."""
    view = persistent_view()
    if prompt.is_heavy:
        view.add_item(ShowPromptButton(circle_id, prompt.id, label=tr(language, "Show prompt")))
    view.add_item(ReplyButton(label=tr(language, "Reply anonymously")))
    view.add_item(BreakButton(label=tr(language, "I need a break")))
    return view


# --- suggestions ---------------------------------------------------------------------------


def suggestion_embed(suggestion: suggestions.Suggestion, language: str = "en") -> discord.Embed:
    """A suggestion as its keepers see it, privately: no name, no label, no time. The bot's
    words in the keeper's `language`; the member's own words as they wrote them."""
    parts = []
    if suggestion.content_note:
        parts.append(tr(language, "**Content note:** {note}", note=suggestion.content_note))
    parts.append(suggestion.text or "")
    embed = discord.Embed(
        title=tr(language, "A prompt suggested by a member"),
        description="\n\n".join(parts),
        colour=SUGGESTION_COLOUR,
    )
    embed.set_footer(
        text=tr(language, "Suggested anonymously: nobody, keepers included, can see who by.")
    )
    return embed


def suggestion_view(token: str, language: str = "en") -> discord.ui.View:
    view = persistent_view()
    view.add_item(SuggestionButton("add", token, label=tr(language, "Add to this circle")))
    view.add_item(SuggestionButton("decline", token, label=tr(language, "Decline")))
    return view


class SuggestModal(ErrorHandlingModal):
    """The suggestion is written in a form, so nothing is typed in the circle's thread."""

    def __init__(self, circle_id: int, language: str = "en") -> None:
        super().__init__(title=tr(language, "Suggest a prompt"), timeout=900)
        self.circle_id = circle_id
        self.text: discord.ui.TextInput[SuggestModal] = discord.ui.TextInput(
            label=tr(language, "Your prompt: an open question"),
            style=discord.TextStyle.paragraph,
            max_length=MAX_PROMPT_TEXT,
            custom_id="text",
        )
        self.note: discord.ui.TextInput[SuggestModal] = content_note_input(
            language, MAX_CONTENT_NOTE
        )
        self.add_item(self.text)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        language = member_language(interaction)
        circle = await open_circle(
            bot, self.circle_id, closed=N_("This circle has closed; nothing was sent.")
        )
        user_id = interaction.user.id
        if not await circles.has_current_agreement(bot.db, circle.id, user_id):
            raise UserFacingError(N_("Please accept this circle's agreements before suggesting."))
        cleaned, _ = suggestions.clean_suggestion(self.text.value, self.note.value)
        guild = bot.get_guild(circle.guild_id)
        if guild is not None:
            await refuse_what_rules_stop(
                bot,
                guild,
                await get_thread(bot, circle),
                f"{cleaned}\n{self.note.value}",
                what="your suggestion",
                locale=interaction.locale,
            )
        findings = anon.find_identifying_details(cleaned)
        if findings:
            # Only the kinds are named: the words never travel back in a response.
            kinds = ", ".join(
                tr(language, DETAIL_WORDS[kind]) if kind in DETAIL_WORDS else kind
                for kind in sorted({f.kind for f in findings})
            )
            raise UserFacingError(
                tr(
                    language,
                    "Your suggestion seems to contain details that could identify someone "
                    "({kinds}). A prompt is shown to the whole circle, so please leave them out "
                    "and suggest it again. Nothing was sent.",
                    kinds=kinds,
                )
            )
        config = await get_config(bot.db, circle.guild_id)
        await suggestions.suggest(
            bot.db,
            circle.id,
            suggestions.author_key(bot.circle_keys.circle_key(circle), user_id),
            text=self.text.value,
            content_note=self.note.value,
            delay_max_seconds=config.delay_max_seconds,
            now=discord.utils.utcnow(),
        )
        await interaction.response.send_message(
            tr(
                language,
                "Thank you. Your suggestion reaches this circle's keepers {when}, without your "
                "name; nobody, keepers included, can see it was you. `/anon mine` shows what "
                "they decide.",
                when=delay_words(language, config.delay_max_seconds),
            ),
            ephemeral=True,
        )


class DeclineModal(ErrorHandlingModal):
    """Decline a suggestion, with a reason its author will see (optional)."""

    def __init__(self, token: str, circle_id: int, language: str = "en") -> None:
        super().__init__(title=tr(language, "Decline this suggestion"), timeout=900)
        self.token = token
        self.circle_id = circle_id
        self.reason: discord.ui.TextInput[DeclineModal] = discord.ui.TextInput(
            label=tr(language, "Reason for its author (optional)"),
            style=discord.TextStyle.paragraph,
            max_length=suggestions.MAX_REASON,
            required=False,
            custom_id="reason",
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await suggestions.decline(
            bot.db,
            self.token,
            self.circle_id,
            reason=self.reason.value,
            now=discord.utils.utcnow(),
        )
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Declined. Its author sees that in `/anon mine`, with your reason."
                if self.reason.value.strip()
                else "Declined. Its author sees that in `/anon mine`.",
            ),
            ephemeral=True,
        )


class SuggestionButton(PersistentButton, custom_id=ids.SUGGESTION):
    """Add to this circle, or Decline, on a keeper's private view of a suggestion."""

    decision: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        if self.decision == "add":
            return "Add to this circle", discord.ButtonStyle.success
        return "Decline", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here = await keeper_here(bot, interaction)
        if self.decision == "decline":
            found = await suggestions.get(bot.db, self.token)
            if found is None or found.status != "waiting" or found.circle_id != here.circle.id:
                raise UserFacingError(suggestions.ALREADY_DECIDED)
            await interaction.response.send_modal(
                DeclineModal(self.token, here.circle.id, member_language(interaction))
            )
            return
        added = await suggestions.add(
            bot.db, self.token, here.circle.id, now=discord.utils.utcnow()
        )
        await interaction.response.edit_message(
            content=tr(
                member_language(interaction),
                "Added to this circle as prompt `{id}`, with no name on it. It comes after the "
                "deck; to post it now, use `/prompt post id:{id}`.",
                id=added.id,
            ),
            view=None,
        )


# --- the cog -----------------------------------------------------------------------------


@app_commands.guild_only()
class Prompts(commands.GroupCog, group_name="prompt"):
    """Discussion prompts: browse the decks, post them in a circle, add your own, schedule."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        # One poster at a time per circle, so a keeper's /prompt next and the schedule can
        # never both pick the same prompt.
        self._posting: dict[int, asyncio.Lock] = {}
        # Prompts recorded per circle by this process, so a choice read before taking the
        # circle's lock is known to be still good once it is held.
        self._recorded: dict[int, int] = {}
        super().__init__()

    async def cog_load(self) -> None:
        self.post_due.start()

    async def cog_unload(self) -> None:
        self.post_due.cancel()

    def _lock(self, circle_id: int) -> asyncio.Lock:
        return self._posting.setdefault(circle_id, asyncio.Lock())

    async def _post(
        self,
        circle: Circle,
        thread: discord.Thread,
        prompt: Prompt,
        *,
        show_session: bool = False,
        session: Session | Literal[False] | None = False,
    ) -> tuple[discord.Message, bool]:
        """Post the prompt in the thread and record it; True when it was not posted before.

        With `show_session`, a prompt that opens a session of its deck carries the session's
        title (`session`, when the caller already read which one it opens). The bot's words
        are in the circle's language. Raises discord.HTTPException when Discord refuses;
        nothing is recorded then.
        """
        circle_id = circle.id
        if not show_session:
            session = None
        elif session is False:
            session = await prompt_service.session_started_by(
                self.bot.db, self.bot.library_for(circle.language), circle_id, prompt
            )
        language = circle_language(circle)
        message = await thread.send(
            embed=prompt_embed(
                prompt, session_title=session.title if session else None, language=language
            ),
            view=prompt_view(circle_id, prompt, language),
            allowed_mentions=NO_MENTIONS,
        )
        first = await prompt_service.record_posted(
            self.bot.db, circle_id, prompt.id, message.id, discord.utils.utcnow()
        )
        self._recorded[circle_id] = self._recorded.get(circle_id, 0) + 1
        return message, first

    async def _post_here(
        self,
        here: Here,
        prompt: Prompt,
        *,
        show_session: bool = False,
        session: Session | Literal[False] | None = False,
        language: str = "en",
    ) -> bool:
        """Post in the circle here; a refusal from Discord is explained in `language`."""
        try:
            _, first = await self._post(
                here.circle, here.thread, prompt, show_session=show_session, session=session
            )
        except discord.HTTPException as error:
            raise UserFacingError(explain_post_failure(error, language)) from None
        return first

    async def _library_here(self, interaction: discord.Interaction[Any]) -> Library:
        """The decks as a keeper browsing here will post them: in a circle's thread, in the
        circle's language; elsewhere, in the member's own."""
        channel = interaction.channel
        circle = (
            await circles.circle_for_thread(self.bot.db, channel.id)
            if isinstance(channel, discord.Thread)
            else None
        )
        language = circle.language if circle is not None else member_language(interaction)
        return self.bot.library_for(language)

    # browsing ------------------------------------------------------------------------------

    @app_commands.command(name="decks")
    async def decks(self, interaction: discord.Interaction[Any]) -> None:
        """The prompt decks circles can use."""
        language = member_language(interaction)
        library = await self._library_here(interaction)
        lines = [
            tr(
                language,
                "**{title}** (`{id}`) · 1 prompt"
                if len(deck.prompts()) == 1
                else "**{title}** (`{id}`) · {count} prompts",
                title=deck.title,
                id=deck.id,
                count=len(deck.prompts()),
            )
            + f"\n{shorten(deck.description, 300)}\n"
            for deck in library.decks.values()
        ]
        await send_pages(interaction, tr(language, "Prompt decks"), lines)

    @app_commands.command(name="list")
    @app_commands.describe(
        deck="The deck whose prompts to list",
        preview="A heavier prompt's id, to read its text privately before posting it",
    )
    async def list_prompts(
        self, interaction: discord.Interaction[Any], deck: str, preview: str | None = None
    ) -> None:
        """A deck's prompts: ids, intensity and content notes; or one prompt read privately."""
        language = member_language(interaction)
        found = (await self._library_here(interaction)).deck(deck.strip().lower())
        if found is None:
            raise UserFacingError(
                tr(language, "There is no deck called “{deck}”. See `/prompt decks`.", deck=deck)
            )
        if preview is not None:
            wanted = preview.strip().lower()
            prompt = next((p for p in found.prompts() if p.id == wanted), None)
            if prompt is None:
                raise UserFacingError(
                    tr(
                        language,
                        "The deck “{deck}” has no prompt “{id}”. `/prompt list` without "
                        "`preview` shows its ids.",
                        deck=found.title,
                        id=shorten(preview, 70),
                    )
                )
            await interaction.response.send_message(
                tr(language, "Only you can see this preview; nothing was posted."),
                embed=prompt_embed(prompt, reveal=True, language=language),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        lines: list[str] = []
        for session in found.sessions:
            lines.append(f"\n**{session.title}**")
            lines.extend(prompt_line(prompt, language) for prompt in session.prompts)
        await send_pages(interaction, found.title, lines)

    @list_prompts.autocomplete("deck")
    async def _deck_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.lower()
        library = self.bot.library_for(member_language(interaction))
        return [
            app_commands.Choice(name=deck.title[:100], value=deck.id)
            for deck in library.decks.values()
            if typed in deck.id or typed in deck.title.lower()
        ][:MAX_CHOICES]

    # posting -------------------------------------------------------------------------------

    @app_commands.command(name="next")
    async def next_prompt(self, interaction: discord.Interaction[Any]) -> None:
        """Post the circle's next prompt in this thread."""
        here, seen, choice = await self.bot.db.unit(
            lambda db: self._choose_next(interaction), write=False
        )
        async with self._lock(here.circle.id):
            if self._recorded.get(here.circle.id, 0) != seen:
                # Another prompt was posted here meanwhile: choose again, under the lock.
                _, _, choice = await self.bot.db.unit(
                    lambda db: self._choose_next(interaction), write=False
                )
            prompt, session = choice
            if prompt is None:
                raise UserFacingError(USED_UP)
            await interaction.response.defer(ephemeral=True, thinking=True)
            language = member_language(interaction)
            await self._post_here(
                here, prompt, show_session=True, session=session, language=language
            )
        if session is None:
            text = tr(language, "Posted prompt `{id}`.", id=prompt.id)
        else:
            text = tr(
                language,
                "Posted prompt `{id}`. It opens the session “{title}”.",
                id=prompt.id,
                title=session.title,
            )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _choose_next(
        self, interaction: discord.Interaction[Any]
    ) -> tuple[Here, int, tuple[Prompt | None, Session | None]]:
        """The circle here (for its keepers), how many prompts this process recorded in it,
        and its next prompt with the session that prompt opens: reads of the database only."""
        here = await keeper_here(self.bot, interaction)
        seen = self._recorded.get(here.circle.id, 0)
        db, library = self.bot.db, self.bot.library_for(here.circle.language)
        return here, seen, await prompt_service.next_prompt_opening(db, library, here.circle)

    @app_commands.command(name="post")
    @app_commands.rename(prompt_id="id")
    @app_commands.describe(prompt_id="The prompt's id, like essay-03, or c12 for one added here")
    async def post(self, interaction: discord.Interaction[Any], prompt_id: str) -> None:
        """Post a particular prompt in this thread."""
        here = await keeper_here(self.bot, interaction)
        prompt = await prompt_service.find_prompt(
            self.bot.db, self.bot.library_for(here.circle.language), here.circle.id, prompt_id
        )
        language = member_language(interaction)
        if prompt is None:
            raise UserFacingError(
                tr(
                    language,
                    "There is no prompt “{id}” in the decks or in this circle. `/prompt list` "
                    "shows a deck's prompt ids.",
                    id=shorten(prompt_id, 70),
                )
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self._lock(here.circle.id):
            first = await self._post_here(here, prompt, language=language)
        text = tr(
            language,
            "Posted prompt `{id}`."
            if first
            else "Posted prompt `{id}`. It had been posted in this circle before; it stays "
            "recorded once, and `/prompt next` will not choose it.",
            id=prompt.id,
        )
        await interaction.followup.send(text, ephemeral=True)

    @post.autocomplete("prompt_id")
    async def _prompt_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        channel = interaction.channel
        circle = (
            await circles.circle_for_thread(self.bot.db, channel.id)
            if isinstance(channel, discord.Thread)
            else None
        )
        if circle is None:
            return []
        deck = self.bot.library_for(circle.language).deck(circle.deck_id)
        candidates = list(deck.prompts() if deck else ())
        candidates += await prompt_service.custom_prompts(self.bot.db, circle.id)
        typed = current.strip().lower()
        heavy = intensity_word(member_language(interaction), "heavy")
        return [
            app_commands.Choice(
                name=shorten(f"{p.id} · " + (heavy if p.is_heavy else p.text), 100),
                value=p.id,
            )
            for p in candidates
            if typed in p.id or (not p.is_heavy and typed in p.text.lower())
        ][:MAX_CHOICES]

    @app_commands.command(name="add")
    @app_commands.describe(
        text="The prompt: an open question that invites views",
        content_note="What it touches on, in a few words (shown before the prompt)",
    )
    async def add(
        self, interaction: discord.Interaction[Any], text: str, content_note: str | None = None
    ) -> None:
        """Add a prompt for this circle only; it comes after the deck."""
        here = await keeper_here(self.bot, interaction)
        await refuse_what_rules_stop(
            self.bot,
            here.member.guild,
            here.thread,
            text if content_note is None else f"{text}\n{content_note}",
            what="the prompt",
            locale=interaction.locale,
        )
        added = await prompt_service.add_custom_prompt(
            self.bot.db, here.circle.id, text, content_note, discord.utils.utcnow()
        )
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Added prompt `{id}` to this circle. It comes after the deck; to post it now, "
                "use `/prompt post id:{id}`.",
                id=added.id,
            ),
            ephemeral=True,
        )

    # suggestions ---------------------------------------------------------------------------

    @app_commands.command(name="suggest")
    async def suggest(self, interaction: discord.Interaction[Any]) -> None:
        """Suggest a prompt for this circle; its keepers see it without your name."""
        here = await participant_here(self.bot, interaction)
        await interaction.response.send_modal(
            SuggestModal(here.circle.id, member_language(interaction))
        )

    @app_commands.command(name="suggestions")
    async def list_suggestions(self, interaction: discord.Interaction[Any]) -> None:
        """(Keepers) Privately see the prompts members suggested here, to add or decline."""
        here = await keeper_here(self.bot, interaction)
        waiting = await suggestions.for_keepers(
            self.bot.db, here.circle.id, now=discord.utils.utcnow()
        )
        language = member_language(interaction)
        if not waiting:
            await interaction.response.send_message(
                tr(
                    language,
                    "No suggestions are waiting in this circle. Members suggest prompts with "
                    "`/prompt suggest`.",
                ),
                ephemeral=True,
            )
            return
        shown = waiting[:SUGGESTIONS_SHOWN]
        more = len(waiting) - len(shown)
        if more:
            head = tr(
                language,
                "{count} suggestions waiting; the first {shown} are below.",
                count=len(waiting),
                shown=len(shown),
            )
        else:
            head = tr(
                language,
                "1 suggestion waiting:" if len(waiting) == 1 else "{count} suggestions waiting:",
                count=len(waiting),
            )
        first, *rest = shown
        await interaction.response.send_message(
            head,
            embed=suggestion_embed(first, language),
            view=suggestion_view(first.token, language),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        for suggestion in rest:
            await interaction.followup.send(
                embed=suggestion_embed(suggestion, language),
                view=suggestion_view(suggestion.token, language),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    # schedules -----------------------------------------------------------------------------

    @app_commands.command(name="schedule")
    @app_commands.describe(
        every_hours="Hours between prompts (1 to 720)",
        first_at="First post time, like 2026-12-01T18:00:00+01:00 (default: one interval from now)",
        include_heavy="Also post heavier prompts automatically (default: stop before one)",
    )
    async def schedule(
        self,
        interaction: discord.Interaction[Any],
        every_hours: app_commands.Range[int, 1, 720],
        first_at: str | None = None,
        include_heavy: bool = False,
    ) -> None:
        """Post the next prompt here automatically, every few hours."""
        here = await keeper_here(self.bot, interaction)
        start = prompt_service.parse_first_at(first_at) if first_at is not None else None
        schedule = await prompt_service.set_schedule(
            self.bot.db,
            here.circle.id,
            every_hours,
            start,
            discord.utils.utcnow(),
            include_heavy=include_heavy,
        )
        wake_by(self.post_due, schedule.next_at)
        stamp = int(schedule.next_at.timestamp())
        language = member_language(interaction)
        sentences = [
            tr(
                language,
                "I'll post the next prompt here every hour, the first at <t:{stamp}:F> "
                "(<t:{stamp}:R>)."
                if every_hours == 1
                else "I'll post the next prompt here every {hours} hours, the first at "
                "<t:{stamp}:F> (<t:{stamp}:R>).",
                hours=every_hours,
                stamp=stamp,
            ),
            tr(
                language,
                "Heavier prompts are included."
                if include_heavy
                else "I'll stop before a heavier prompt and say so in the thread.",
            ),
            tr(language, "Stop with `/prompt unschedule`."),
        ]
        await interaction.response.send_message(" ".join(sentences), ephemeral=True)

    @app_commands.command(name="unschedule")
    async def unschedule(self, interaction: discord.Interaction[Any]) -> None:
        """Stop posting prompts here automatically."""
        here = await keeper_here(self.bot, interaction)
        stopped = await prompt_service.clear_schedule(self.bot.db, here.circle.id)
        text = tr(
            member_language(interaction),
            "The schedule has stopped; no more prompts will be posted automatically."
            if stopped
            else "This circle had no schedule.",
        )
        await interaction.response.send_message(text, ephemeral=True)

    @tasks.loop(seconds=CHECK_SECONDS)
    async def post_due(self) -> None:
        """Post a prompt in every circle whose schedule is due."""
        now = discord.utils.utcnow()
        try:
            due = await prompt_service.due_schedules(self.bot.db, now)
        except Exception:
            log.exception("Could not read the prompt schedules")
            return
        for schedule in due:
            try:
                await self._run_schedule(schedule.circle_id, now)
            except Exception:
                log.exception("Scheduled prompt for circle %s failed", schedule.circle_id)
        sleep_until_due(
            self.post_due, await prompt_service.next_schedule_at(self.bot.db), overdue_retry=60
        )

    @post_due.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _run_schedule(self, circle_id: int, now: datetime) -> None:
        db = self.bot.db
        circle = await circles.get_circle(db, circle_id)
        if circle is None or not circle.is_open:
            await prompt_service.clear_schedule(db, circle_id)
            return
        thread = await get_thread(self.bot, circle)
        if thread is None:
            await prompt_service.clear_schedule(db, circle_id)
            log.info("Stopped the prompt schedule of circle %s: its thread is gone", circle_id)
            return
        language = circle_language(circle)
        async with self._lock(circle.id):
            prompt = await prompt_service.next_prompt(
                db, self.bot.library_for(circle.language), circle
            )
            if prompt is None:
                await prompt_service.clear_schedule(db, circle.id)
                try:
                    await thread.send(tr(language, DECK_DONE), allowed_mentions=NO_MENTIONS)
                except discord.HTTPException as error:
                    log.warning(
                        "Could not say circle %s's schedule ended (HTTP %s)",
                        circle.id,
                        error.status,
                    )
                return
            schedule = await prompt_service.get_schedule(db, circle.id)
            if prompt.is_heavy and not (schedule and schedule.include_heavy):
                await prompt_service.clear_schedule(db, circle.id)
                try:
                    await thread.send(
                        tr(
                            language,
                            HEAVY_STOP,
                            id=prompt.id,
                            deck=prompt.deck_id or circle.deck_id,
                        ),
                        allowed_mentions=NO_MENTIONS,
                    )
                except discord.HTTPException as error:
                    log.warning(
                        "Could not say circle %s's schedule stopped (HTTP %s)",
                        circle.id,
                        error.status,
                    )
                return
            try:
                await self._post(circle, thread, prompt, show_session=True)
            except discord.DiscordServerError as error:
                # Discord's trouble is usually brief: try again at the next check.
                log.warning(
                    "Could not post a scheduled prompt in circle %s (HTTP %s); will retry",
                    circle.id,
                    error.status,
                )
                return
            except discord.HTTPException as error:
                # A refusal (missing permission) will not pass by itself: wait for the next slot.
                log.warning(
                    "Could not post a scheduled prompt in circle %s (HTTP %s)",
                    circle.id,
                    error.status,
                )
            await prompt_service.advance_schedule(db, circle.id, now)


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(ShowPromptButton, SuggestionButton)
    await bot.add_cog(Prompts(bot))
