"""Posting in a circle without a name: the form, its checks, the author's acknowledgement, the
buttons on posts and drafts, and the `Outbox` that sends posts when their wait is over.

Used by `/anon` (cogs.anonymous), rounds and check-outs (cogs.circles).

Rules this module keeps (see DESIGN.md, threat model):
- anonymous text is composed only in a modal and never sent as an interaction response or
  followup: the author gets a private acknowledgement, then the bot posts a separate message
  with `channel.send`, always with no mentions allowed;
- nothing stored or logged here holds the author's id: posts are found again by recomputing
  the author's label key;
- custom ids hold random tokens, never ids of people.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import tasks

from bot.db import Database
from bot.i18n import N_
from bot.layer import custom_ids as ids
from bot.layer.access import Here, open_circle, participant_here
from bot.layer.automod import channel_ids, check_member_text, verdict_notice
from bot.layer.breaks import AskKeeperButton, BreakButton
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.contact import short_when, unread_line
from bot.layer.discord_utils import (
    content_note_input,
    delete_queue_messages,
    log_action,
    require_member,
    text_channel,
)
from bot.layer.errors import NO_MENTIONS, ErrorHandlingModal, ErrorHandlingView, UserFacingError
from bot.layer.i18n import (
    circle_language,
    delay_words,
    member_language,
    server_language,
    tr,
)
from bot.layer.moderation.modals import ReportButton, add_post_buttons
from bot.layer.moderation.views import (
    HeldPostButton,
    ReportDecisionButton,
    ReviewButton,
    add_review_buttons,
)
from bot.layer.threads import get_thread
from bot.layer.timing import DueLoop, sleep_until_due
from bot.services import anonymous as anon
from bot.services import circles, delivery
from bot.services.anonymous import AnonError, AnonPost
from bot.services.circles import Circle
from bot.services.config import get_config
from bot.services.delivery import Cause
from bot.services.textchecks import regions_for

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

# The outbox then sleeps until the next post falls due; this is only its first interval.
OUTBOX_SECONDS = 15
RECOVERY_HISTORY = 50  # how far back to look for a post that may have gone out before a crash
# Failures that may clear by themselves or once a person fixes something: the post waits.
SEND_ERRORS = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError)
# Interaction tokens last 15 minutes; stop editing an acknowledgement a little before that.
ACK_EDITABLE = timedelta(minutes=14)
POST_COLOUR = discord.Colour.from_rgb(143, 161, 179)
DELETE_ALL = "all"  # the picker's "all my posts" choice; post tokens are never this short
MAX_CHOICES = 25  # Discord's limit for a picker and for autocomplete
STATUS_WORDS = {
    "review": N_("waiting for a moderator"),
    "queued": N_("waiting to be posted"),
    "sending": N_("being posted"),
    "posted": N_("posted"),
    "rejected": N_("not posted (rejected)"),
    "removed": N_("removed by a moderator"),
}
# Why a post has not gone out, for its author (in /anon mine and in their acknowledgement).
PROBLEM_WORDS: dict[str, str] = {
    "forbidden": N_("waiting: Circlekeeper can't post in this thread yet"),
    "server": N_("waiting: Discord is having trouble, so Circlekeeper keeps trying"),
    "rate_limited": N_("waiting: Discord asked Circlekeeper to slow down for a moment"),
    "gone": N_("not posted: the circle's thread was gone"),
}
AUTHOR_NOTICES: dict[str, str] = {
    "forbidden": N_(
        "Your post (as **{label}**) is waiting: Circlekeeper can't post in this thread yet, "
        "because it is missing a permission here. The moderators have been told, and your "
        "post will go out as soon as that is fixed."
    ),
    "server": N_(
        "Your post (as **{label}**) is waiting: Discord is having trouble right now. "
        "Circlekeeper keeps trying, and it will go out once Discord answers again."
    ),
    "rate_limited": N_(
        "Your post (as **{label}**) is waiting a moment: Discord asked Circlekeeper to slow "
        "down. It will go out shortly."
    ),
    "gone": N_(
        "Your post (as **{label}**) could not be posted: this circle's thread no longer "
        "exists. Its text has been deleted; nobody saw it."
    ),
}
WAITING_HINT = N_(
    "`/anon mine` shows where it is, and `/anon delete` takes it back if you'd rather it "
    "didn't go out later."
)


# --- pure helpers ------------------------------------------------------------------------


def post_embed(
    label: str, text: str, note: str | None, quote_link: str | None, language: str = "en"
) -> discord.Embed:
    """How an anonymous post looks: the content note first, then the text (the author's own
    words, never translated); the bot's words in the circle's `language`."""
    parts = []
    if note:
        parts.append(tr(language, "**Content note:** {note}", note=note))
    if quote_link:
        parts.append(tr(language, "Replying to {link}", link=quote_link))
    parts.append(text)
    embed = discord.Embed(description="\n\n".join(parts), colour=POST_COLOUR)
    embed.set_author(name=tr(language, "Anonymous · {label}", label=label))
    return embed


def findings_text(findings: list[anon.Finding]) -> str:
    # Only the kinds are named: the post's own words never travel in an interaction response.
    kinds = sorted({f.kind for f in findings})
    lines = "\n".join(
        f"• a {kind}" if kind != "email address" else "• an email address" for kind in kinds
    )
    return (
        "Your message seems to contain details that could identify someone:\n"
        f"{lines}\n\nYou can post it anyway, or edit it first. Nothing has been posted yet."
    )


# With no random delay a post appears right after its author's own activity, so the
# acknowledgement must not promise that nobody can tell (as /privacy says too).
NO_DELAY_WARNING = N_(
    "This server posts anonymous messages straight away (its random delay is set to 0), so "
    "your post appears right after your other activity, and anyone watching may guess it was you."
)


def _now() -> datetime:
    return discord.utils.utcnow()


def _form_hint(head_count: int | None, language: str = "en") -> str:
    """The posting form's hint; in a small circle it says how few there are to hide among."""
    if head_count is not None and circles.small_circle_note(head_count):
        if head_count == 1:
            return tr(
                language, "Only 1 person is in this circle, too few to hide in: others may guess."
            )
        return tr(
            language,
            "Only {count} people are in this circle, too few to hide in: others may guess.",
            count=head_count,
        )
    return tr(language, "Shown without your name. Only you can see this while you write.")


def small_circle_words(language: str, count: int) -> str | None:
    """`circles.small_circle_note` in the member's language; None in a big enough circle."""
    if circles.small_circle_note(count) is None:
        return None
    if count == 1:
        return tr(
            language,
            "Only 1 person is in this circle (counting those who joined it): too few to hide "
            "in. Anonymous posts carry no name, but the others may well guess who wrote one.",
        )
    return tr(
        language,
        "Only {count} people are in this circle (counting those who joined it): too few to "
        "hide in. Anonymous posts carry no name, but the others may well guess who wrote one.",
        count=count,
    )


async def participant_form(
    bot: CircleBot, interaction: discord.Interaction[Any]
) -> tuple[Here, int | None]:
    """The circle here for a member who may post in it, and its size for the posting form:
    one read of the database."""

    async def read(db: Database) -> tuple[Here, int | None]:
        here = await participant_here(bot, interaction)
        return here, await circles.head_count(db, here.circle.id)

    return await bot.db.unit(read, write=False)


def status_words(post: AnonPost, problem: Cause | None = None, language: str = "en") -> str:
    """A post's state in plain words, with why it is waiting (`problem`, its thread's) or
    never went out."""
    if post.undeliverable:
        return tr(language, PROBLEM_WORDS["gone"])
    if problem is not None and post.status in ("queued", "sending"):
        return tr(language, PROBLEM_WORDS[problem])
    words = STATUS_WORDS.get(post.status)
    return tr(language, words) if words is not None else post.status


def failure_cause(error: Exception) -> tuple[Cause, float | None]:
    """What a refused send means for delivery, and how long Discord asked to wait."""
    if isinstance(error, discord.RateLimited):
        return "rate_limited", error.retry_after
    if isinstance(error, discord.NotFound):
        return "gone", None
    if isinstance(error, discord.Forbidden):
        return "forbidden", None
    if isinstance(error, discord.HTTPException) and error.status == 429:
        headers = getattr(error.response, "headers", None) or {}
        try:
            return "rate_limited", float(headers.get("Retry-After", ""))
        except ValueError:
            return "rate_limited", None
    return "server", None


# The names Discord's own settings give these permissions (translated like Discord's client).
PERMISSION_NAMES = {
    "view_channel": N_("View Channel"),
    "send_messages": N_("Send Messages"),
    "send_messages_in_threads": N_("Send Messages in Threads"),
    "embed_links": N_("Embed Links"),
    "read_message_history": N_("Read Message History"),
}


def needed_permissions(channel: discord.abc.GuildChannel | discord.Thread) -> list[str]:
    """The permissions the bot needs to post members' words in the channel."""
    send = "send_messages_in_threads" if isinstance(channel, discord.Thread) else "send_messages"
    return ["view_channel", send, "embed_links", "read_message_history"]


def missing_permissions(
    channel: discord.abc.GuildChannel | discord.Thread, language: str = "en"
) -> list[str]:
    """The needed permissions the bot lacks there, as Discord names them in `language`."""
    me = channel.guild.me
    perms = channel.permissions_for(me)
    missing = [
        tr(language, PERMISSION_NAMES[p])
        for p in needed_permissions(channel)
        if not getattr(perms, p)
    ]
    if isinstance(channel, discord.Thread) and channel.locked and not perms.manage_threads:
        missing.append(tr(language, "Manage Threads (the thread is locked)"))
    return missing


def problem_entry(
    channel: discord.abc.GuildChannel | discord.Thread | None,
    channel_id: int,
    where: str,
    cause: Cause,
    language: str = "en",
) -> str:
    """The mod-log text for a channel the bot cannot post in: the channel and the cause,
    never which post or whose (in the server's `language`, Discord's permission names as
    its client shows them)."""
    place = f"<#{channel_id}> ({where})"
    if cause == "gone":
        return tr(
            language,
            "{place} no longer exists, so what was waiting to be posted there never will be.",
            place=place,
        )
    if cause == "server":
        return tr(
            language,
            "Discord keeps failing when Circlekeeper posts in {place}. It keeps trying; "
            "nothing is lost.",
            place=place,
        )
    missing = missing_permissions(channel, language) if channel is not None else []
    if missing:
        lacks = tr(language, "it lacks {permissions}", permissions=", ".join(missing))
    else:
        needed = ", ".join(
            tr(language, PERMISSION_NAMES[p])
            for p in (needed_permissions(channel) if channel is not None else ["view_channel"])
        )
        lacks = tr(
            language,
            "Discord refused (Missing Permissions); it needs {permissions}",
            permissions=needed,
        )
    return tr(
        language,
        "Circlekeeper can't post in {place}: {lacks}. What is waiting goes out, in order, "
        "once that is fixed.",
        place=place,
        lacks=lacks,
    )


async def find_message_with(channel: discord.abc.Messageable, custom_id: str) -> int | None:
    """The id of a recent message carrying a button with this custom id, if one went out.
    Raises discord.HTTPException when the history cannot be read."""
    async for message in channel.history(limit=RECOVERY_HISTORY):
        for row in message.components:
            for child in getattr(row, "children", []):
                if getattr(child, "custom_id", None) == custom_id:
                    return message.id
    return None


@dataclass
class _Ack:
    """An author's private acknowledgement, editable while its interaction token lasts.

    Held in memory only: the token lets its holder message the author."""

    interaction: discord.Interaction[Any]
    label: str
    editable_until: datetime
    told: str | None = None


async def own_posts_circle(
    bot: CircleBot, interaction: discord.Interaction[Any], name: str | None, command: str
) -> tuple[Circle, bytes]:
    """The open circle a member asks about their own posts in (`name`, or the thread they
    are in), and their label key there.

    Works from any channel and needs no membership or agreement: the key is recomputed from
    the person asking, so someone who left, was removed, deleted their data or has not
    accepted a new agreement can still find and remove their own posts while it is open.
    """
    member = require_member(interaction)
    language = member_language(interaction)
    if name is not None and name.strip():
        circle = await circles.open_circle_by_name(bot.db, member.guild.id, name)
        if circle is None:
            raise UserFacingError(
                tr(
                    language,
                    "There is no open circle called “{name}”. See `/circle list`.",
                    name=name.strip(),
                )
            )
    else:
        channel = interaction.channel
        found = (
            await circles.circle_for_thread(bot.db, channel.id)
            if isinstance(channel, discord.Thread)
            else None
        )
        if found is None:
            raise UserFacingError(
                tr(
                    language,
                    "Name the circle: `/anon {command} circle:<name>` (or use it in the "
                    "circle's thread).",
                    command=command,
                )
            )
        if not found.is_open:
            raise UserFacingError(N_("This circle is closed, so its anonymous posts are gone."))
        circle = found
    return circle, bot.circle_keys.label_key(circle, member.id)


# --- buttons and forms -------------------------------------------------------------------


class PostModal(ErrorHandlingModal):
    """The only place anonymous text is written: a modal, so nothing is typed in public."""

    def __init__(
        self,
        circle_id: int,
        *,
        reply_to_message_id: int | None = None,
        quote_link: str | None = None,
        draft_token: str | None = None,
        text: str | None = None,
        note: str | None = None,
        head_count: int | None = None,
        language: str = "en",
    ) -> None:
        title = tr(
            language,
            "Reply anonymously" if reply_to_message_id or quote_link else "Post anonymously",
        )
        super().__init__(title=title, timeout=900)
        self.circle_id = circle_id
        self.reply_to_message_id = reply_to_message_id
        self.quote_link = quote_link
        self.draft_token = draft_token
        self.message: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
            label=tr(language, "Your message"),
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="message",
            default=text,
            placeholder=_form_hint(head_count, language),
        )
        self.note: discord.ui.TextInput[PostModal] = content_note_input(
            language, anon.MAX_NOTE, note
        )
        self.add_item(self.message)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await submit_post(
            bot,
            interaction,
            self.circle_id,
            text=self.message.value,
            note=self.note.value or None,
            reply_to_message_id=self.reply_to_message_id,
            quote_link=self.quote_link,
            draft_token=self.draft_token,
            confirmed=False,
        )


class ReplyButton(
    PersistentButton,
    custom_id=ids.REPLY,
    label="Reply anonymously",
):
    """Reply anonymously, on prompts and anonymous posts: the reply references that message.

    Prompts carry the bare `ck:anon:reply`; anonymous posts add the post's token, which lets
    delivery recognise a post that went out just before a crash.
    """

    token: str | None

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here, head_count = await participant_form(bot, interaction)
        target = interaction.message
        await interaction.response.send_modal(
            PostModal(
                here.circle.id,
                head_count=head_count,
                language=member_language(interaction),
                reply_to_message_id=target.id if target else None,
            )
        )


async def _held_draft(bot: CircleBot, token: str) -> AnonPost:
    """The draft behind Post anyway / Edit, while it has not expired."""
    draft = await anon.get_draft(bot.db, token, now=discord.utils.utcnow())
    if draft is None:
        raise UserFacingError(
            N_(
                "That draft has expired or was already handled. Nothing was posted; "
                "use `/anon post` to write it again."
            )
        )
    return draft


class PostAnywayButton(
    PersistentButton,
    custom_id=ids.POST_ANYWAY,
    label="Post anyway",
    style=discord.ButtonStyle.danger,
):
    token: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        draft = await _held_draft(bot, self.token)
        await submit_post(
            bot,
            interaction,
            draft.circle_id,
            text=draft.text or "",
            note=draft.content_note,
            reply_to_message_id=draft.reply_to_message_id,
            quote_link=draft.quote_link,
            draft_token=draft.token,
            confirmed=True,
        )


class EditDraftButton(PersistentButton, custom_id=ids.EDIT_DRAFT, label="Edit"):
    token: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        draft = await _held_draft(bot, self.token)
        await interaction.response.send_modal(
            PostModal(
                draft.circle_id,
                head_count=await circles.head_count(bot.db, draft.circle_id),
                language=member_language(interaction),
                reply_to_message_id=draft.reply_to_message_id,
                quote_link=draft.quote_link,
                draft_token=draft.token,
                text=draft.text,
                note=draft.content_note,
            )
        )


def review_view(token: str, language: str = "en") -> discord.ui.View:
    """Approve, Reject and Block author on a held post in the queue channel (the server's
    `language`)."""
    view = persistent_view()
    add_review_buttons(view, token, language)
    return view


def post_view(token: str, language: str = "en") -> discord.ui.View:
    view = persistent_view()
    view.add_item(ReplyButton(token, label=tr(language, "Reply anonymously")))
    add_post_buttons(view, language)
    return view


class DeleteMineView(ErrorHandlingView):
    """A private picker of the member's own posts, for /anon delete."""

    def __init__(
        self,
        circle: Circle,
        label_key: bytes,
        posts: list[AnonPost],
        problem: Cause | None = None,
        language: str = "en",
    ) -> None:
        super().__init__(timeout=300)
        self.circle = circle
        self.label_key = label_key
        self.language = language
        every = tr(language, "All my posts in this circle")
        options = [discord.SelectOption(label=f"{every} ({len(posts)})", value=DELETE_ALL)]
        options += [
            discord.SelectOption(
                label=(
                    f"{status_words(p, problem, language)} · "
                    f"{short_when(language, p.created_at)} UTC"
                )[:100],
                value=p.token,
            )
            for p in posts[: MAX_CHOICES - 1]
        ]
        self.picker: discord.ui.Select[DeleteMineView] = discord.ui.Select(
            placeholder=tr(language, "Choose a post to delete"), options=options
        )
        self.picker.callback = self.chosen  # type: ignore[method-assign]
        self.add_item(self.picker)

    async def chosen(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        token = self.picker.values[0]
        if token == DELETE_ALL:
            await self.delete_all(bot, interaction)
            return
        post = await anon.get_post(bot.db, token)
        if post is None or post.circle_id != self.circle.id or post.label_key != self.label_key:
            raise UserFacingError(N_("That isn't one of your posts, or it no longer exists."))
        # The message goes first: if Discord refuses, the record stays, so the post can still
        # be found and deleted later.
        if post.message_id is not None:
            thread = await get_thread(bot, self.circle)
            if thread is None:
                raise UserFacingError(
                    N_(
                        "I can't reach this circle's thread to delete the message; nothing "
                        "was deleted. Please try again later."
                    )
                )
            try:
                await thread.get_partial_message(post.message_id).delete()
            except discord.NotFound:
                pass
            except discord.HTTPException:
                raise UserFacingError(
                    N_(
                        "Discord would not let me delete the message, so nothing was deleted. "
                        "Please try again in a moment."
                    )
                ) from None
        if post.status == "sending" and post.deliver_at and post.deliver_at > _now():
            await _take_back_waiting(bot, self.circle, self.label_key, post)
        else:
            await anon.delete_own(bot.db, self.circle.id, self.label_key, token)
        if interaction.guild is not None:
            await delete_queue_messages(bot.db, interaction.guild, [post.review_message_id])
        await interaction.response.edit_message(content=tr(self.language, "Deleted."), view=None)

    async def delete_all(self, bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
        """Delete every post of the member's in this circle: each message first, then the
        records of those whose message is gone, in one step."""
        await interaction.response.defer()
        posts = await anon.posts_by(bot.db, self.circle.id, self.label_key)
        thread = await get_thread(bot, self.circle)
        removable: list[str] = []
        for post in posts:
            if post.status == "sending":
                continue  # on its way: deleting the record now would strand the message
            if post.message_id is not None:
                if thread is None:
                    continue
                try:
                    await thread.get_partial_message(post.message_id).delete()
                except discord.NotFound:
                    pass
                except discord.HTTPException:
                    continue  # the record stays, so it can be found and deleted later
            removable.append(post.token)
        deleted = await anon.delete_own_posts(bot.db, self.circle.id, self.label_key, removable)
        if interaction.guild is not None:
            await delete_queue_messages(
                bot.db, interaction.guild, [p.review_message_id for p in deleted]
            )
        text = tr(
            self.language,
            "Deleted {count} of your posts in “{circle}”.",
            count=len(deleted),
            circle=self.circle.name,
        )
        if len(deleted) < len(posts):
            text += " " + tr(
                self.language,
                "{count} could not be deleted right now (being posted, or Discord refused); "
                "please try again in a moment.",
                count=len(posts) - len(deleted),
            )
        await interaction.edit_original_response(content=text, view=None)


async def _take_back_waiting(
    bot: CircleBot, circle: Circle, label_key: bytes, post: AnonPost
) -> None:
    """Delete a post left 'sending' by a failure that may have reached Discord.

    The outbox waits meanwhile, and the thread is searched first: if the post did go out,
    that message is deleted too, so nothing is left that its author cannot remove."""
    async with bot.outbox.delivering:
        current = await anon.get_post(bot.db, post.token)
        if current is None or current.status != "sending":
            await anon.delete_own(bot.db, circle.id, label_key, post.token)
            return
        thread = await get_thread(bot, circle)
        try:
            found = await find_message_with(thread, ids.REPLY.make(post.token)) if thread else None
            if found is not None and thread is not None:
                await thread.get_partial_message(found).delete()
        except discord.HTTPException:
            raise AnonError(
                N_(
                    "Discord isn't answering right now, so I can't be sure this post hasn't "
                    "gone out. Nothing was deleted; please try again in a few minutes."
                )
            ) from None
        await anon.delete_own(bot.db, circle.id, label_key, post.token, checked_not_sent=True)


# --- the flow ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Accepted:
    """What `submit_post`'s one database unit decided: a stored post (`post`) or a draft
    held back (`draft_token`, with `blocked` when a server rule refuses it as it is), and the
    private answer."""

    content: str
    post: AnonPost | None = None
    draft_token: str | None = None
    blocked: bool = False


async def submit_post(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    circle_id: int,
    *,
    text: str,
    note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    draft_token: str | None,
    confirmed: bool,
) -> AnonPost | None:
    """Check, store and route one anonymous post; acknowledge the author privately.

    The stored post, or None when it is held back as a draft because it may identify someone
    (the author decides on it with the buttons on their acknowledgement). Every check and
    read the post needs runs in one database unit with its storing."""
    member = require_member(interaction)
    # The server's AutoMod rules come from Discord: refreshed here, before the unit.
    if interaction.guild is not None:
        await bot.server_rules.refresh_if_unreadable(interaction.guild)
    accepted = await bot.db.unit(
        lambda db: _accept(
            bot,
            interaction,
            member,
            circle_id,
            text=text,
            note=note,
            reply_to_message_id=reply_to_message_id,
            quote_link=quote_link,
            draft_token=draft_token,
            confirmed=confirmed,
        )
    )
    if accepted.post is None:
        assert accepted.draft_token is not None
        view = persistent_view()
        language = member_language(interaction)
        if not accepted.blocked:
            view.add_item(PostAnywayButton(accepted.draft_token, label=tr(language, "Post anyway")))
        # Blocked by a server rule: the author may edit, never post it as it is.
        view.add_item(EditDraftButton(accepted.draft_token, label=tr(language, "Edit")))
        await _answer(interaction, accepted.content, view)
        return None
    await _answer(interaction, accepted.content)
    await bot.outbox.queued(accepted.post, interaction)
    return accepted.post


async def _accept(
    bot: CircleBot,
    interaction: discord.Interaction[Any],
    member: discord.Member,
    circle_id: int,
    *,
    text: str,
    note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    draft_token: str | None,
    confirmed: bool,
) -> _Accepted:
    """`submit_post`'s checks, storing and answer: awaits only the database."""
    circle = await open_circle(
        bot, circle_id, closed=N_("This circle has closed; nothing was posted.")
    )
    if not await circles.has_current_agreement(bot.db, circle.id, member.id):
        raise UserFacingError(N_("Please accept this circle's agreements before posting."))
    now = discord.utils.utcnow()
    label_key = bot.circle_keys.label_key(circle, member.id)
    # Blocks, rate limits and a closed circle are checked by save_draft and submit.
    cleaned = anon.clean_text(text)
    cleaned_note = (
        anon.clean_text(note, limit=anon.MAX_NOTE, what=N_("The content note"))
        if (note and note.strip())
        else None
    )
    guild = bot.get_guild(circle.guild_id)
    verdict = None
    if guild is not None:
        # The server's own rules, even after "Post anyway": confirming identifying details
        # never gets round them.
        thread = guild.get_thread(circle.thread_id) if circle.thread_id else None
        where = channel_ids(thread) if thread is not None else [circle.thread_id or 0]
        words_posted = cleaned if cleaned_note is None else f"{cleaned}\n{cleaned_note}"
        verdict = await check_member_text(bot, guild, where, words_posted, refresh=False)
    regions = regions_for([str(guild.preferred_locale) if guild else None, str(interaction.locale)])
    blocked = verdict is not None and verdict.action == "block"
    findings = (
        [] if confirmed or blocked else anon.find_identifying_details(cleaned, regions=regions)
    )
    # What the draft and the post store alike.
    words: dict[str, Any] = {
        "text": cleaned,
        "content_note": cleaned_note,
        "reply_to_message_id": reply_to_message_id,
        "quote_link": quote_link,
        "now": now,
    }
    if findings or blocked:
        if draft_token:
            await anon.discard_draft(bot.db, draft_token)
        draft = await anon.save_draft(bot.db, circle, label_key, **words)
        if blocked and verdict is not None:
            notice = verdict_notice(verdict, interaction.locale)
            return _Accepted(notice, draft_token=draft.token, blocked=True)
        return _Accepted(findings_text(findings), draft_token=draft.token)
    config = await get_config(bot.db, circle.guild_id)
    post = await anon.submit(
        bot.db,
        circle,
        label_key,
        **words,
        delay_max_seconds=config.delay_max_seconds,
        draft_token=draft_token,
        held_by=verdict.rule_name if verdict is not None else None,
    )
    language = member_language(interaction)
    when = delay_words(language, config.delay_max_seconds)
    small = small_circle_words(language, await circles.head_count(bot.db, circle.id))
    unseen = small or tr(
        language,
        "Nobody, moderators included, can see that it was you."
        if config.delay_max_seconds > 0
        else NO_DELAY_WARNING,
    )
    if post.status == "review":
        has_queue = guild is not None and text_channel(guild, config.queue_channel_id) is not None
        note = (
            ""
            if has_queue
            else " "
            + tr(
                language,
                "(This server has no moderators' channel, so they will find it in "
                "`/mod queue`; you may want to let a moderator know a post is waiting.)",
            )
        )
        content = (
            tr(
                language,
                "Thank you. Your post (as **{label}**) will be with the moderators {when}, "
                "and appears {when} after one of them approves it. `/anon mine` shows where "
                "it is.",
                label=post.label,
                when=when,
            )
            + f" {unseen}{note}"
        )
    else:
        content = (
            tr(
                language,
                "Thank you. Your post will appear as **{label}** {when}.",
                label=post.label,
                when=when,
            )
            + f" {unseen}"
        )
    return _Accepted(
        content + await unread_line(bot, circle.guild_id, member.id, language), post=post
    )


async def _answer(
    interaction: discord.Interaction[Any], content: str, view: discord.ui.View | None = None
) -> None:
    """A private acknowledgement; replaces the draft message when answering a button on it."""
    if interaction.type is discord.InteractionType.component:
        await interaction.response.edit_message(content=content, view=view)
    elif view is not None:
        await interaction.response.send_message(content, view=view, ephemeral=True)
    else:
        await interaction.response.send_message(content, ephemeral=True)


async def send_for_review(bot: CircleBot, circle: Circle, post: AnonPost) -> None:
    """Post a held post, its random wait over, to the moderators' queue channel with
    Approve / Reject, and record where it went.

    With no queue channel only `/mod queue` lists it. When Discord refuses or fails, the
    outbox tries again (a permission may be granted, an outage ends), moderators get one
    mod-log entry about the channel, and `/mod queue` lists the post meanwhile.
    """
    guild = bot.get_guild(circle.guild_id)
    config = await get_config(bot.db, circle.guild_id)
    channel = text_channel(guild, config.queue_channel_id) if guild else None
    if channel is None or guild is None:
        log.warning("Circle %s holds a post for review but no queue channel is set", circle.id)
        await anon.mark_announced(bot.db, post.id, None)
        return
    # The queue channel is the server's own: its language.
    language = server_language(config, guild)
    embed = post_embed(post.label, post.text or "", post.content_note, post.quote_link, language)
    embed.title = tr(language, "Held for review · {circle}", circle=circle.name)
    if post.held_by:
        embed.set_footer(
            text=tr(language, "Held by the server's rule: {rule}", rule=post.held_by)[:2048]
        )
    ping = ""
    mentions = NO_MENTIONS
    if config.ping_moderators and config.moderator_role_id:
        ping = f"<@&{config.moderator_role_id}>"
        mentions = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(config.moderator_role_id)]
        )
    try:
        found = None
        if post.queue_tries:
            # An earlier try may have reached Discord before it failed.
            found = await find_message_with(channel, ids.REVIEW.make("approve", post.token))
        if found is None:
            message = await channel.send(
                ping,
                embed=embed,
                view=review_view(post.token, language),
                allowed_mentions=mentions,
            )
            found = message.id
    except SEND_ERRORS as error:
        cause, retry_after = failure_cause(error)
        log.warning("Could not post a held post to the queue (%s)", cause)
        record = await _channel_failed(
            bot,
            guild.id,
            channel.id,
            cause,
            problem_entry(
                channel,
                channel.id,
                tr(server_language(config, guild), "the queue channel"),
                cause,
                server_language(config, guild),
            )
            + " "
            + tr(server_language(config, guild), "Held posts wait in `/mod queue` meanwhile."),
        )
        wait = delivery.retry_delay(cause, record.failures, retry_after)
        retry_at = _now() + wait if wait is not None else None
        await anon.review_send_failed(bot.db, post.id, retry_at=retry_at)
        if retry_at is not None:
            bot.outbox.wake(retry_at)
        return
    await _posting_works(bot, guild.id, channel.id)
    if not await anon.mark_announced(bot.db, post.id, found):
        # Deleted or decided while the queue message was on its way: take it down.
        await delete_queue_messages(bot.db, guild, [found])


async def _channel_failed(
    bot: CircleBot, guild_id: int, channel_id: int, cause: Cause, entry: str
) -> delivery.ChannelFailure:
    """Count a failure to post in a channel; the first of its cause goes to the mod log."""
    problems = bot.delivery_problems
    await problems.load(bot.db, guild_id, channel_id)
    record = problems.failed(channel_id, cause)
    guild = bot.get_guild(guild_id)
    if record.log_now and guild is not None:
        await log_action(
            bot.db, guild, moderator_id=None, action=delivery.ACTIONS[cause], details=entry
        )
    return record


async def _posting_works(bot: CircleBot, guild_id: int, channel_id: int) -> None:
    """A send worked: if moderators were told the channel had a problem, tell them it's over."""
    problems = bot.delivery_problems
    await problems.load(bot.db, guild_id, channel_id)
    guild = bot.get_guild(guild_id) if problems.works(channel_id) is not None else None
    if guild is not None:
        await log_action(
            bot.db,
            guild,
            moderator_id=None,
            action=delivery.WORKS_AGAIN,
            details=tr(
                server_language(await get_config(bot.db, guild_id), guild),
                "Circlekeeper can post in {channel} again; what was waiting is going out in order.",
                channel=f"<#{channel_id}>",
            ),
        )


# --- the cog -----------------------------------------------------------------------------


class Outbox(DueLoop):
    """Sends anonymous posts whose random wait is over, in order per circle, and held posts to
    the moderators' queue; retries what Discord refused. One per bot (`bot.outbox`)."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        # Held while delivering, and by anything that must not race a delivery.
        self.delivering = asyncio.Lock()
        self.problems = bot.delivery_problems
        # Authors' acknowledgements by post id, to tell them privately when their post waits.
        self._acks: dict[int, _Ack] = {}
        # Set during a pass when a retry or a backlog changed what falls due next.
        self._retimed = False

    @tasks.loop(seconds=OUTBOX_SECONDS)
    async def loop(self) -> None:
        await self.deliver_due()
        # A backlog still due after this pass goes out a second later, not a whole pass later.
        sleep_until_due(self.loop, await anon.next_delivery_at(self.bot.db), overdue_retry=1)

    async def queued(
        self, post: AnonPost, interaction: discord.Interaction[Any] | None = None
    ) -> None:
        """A post entered the outbox: deliver it now, or make sure the outbox wakes for it.

        With the author's `interaction`, their acknowledgement is edited if the post has to
        wait (the token is held in memory only, and only while Discord accepts it)."""
        if interaction is not None:
            self._acks[post.id] = _Ack(
                interaction, post.label, discord.utils.utcnow() + ACK_EDITABLE
            )
            if self.problems:
                # Its thread is already refusing posts: say so now, not at the next retry.
                circle = await circles.get_circle(self.bot.db, post.circle_id)
                cause = self.problems.cause_of(circle.thread_id or 0) if circle else None
                if cause is not None and cause != "gone":
                    await self._tell_author(post.id, cause)
        if post.deliver_at is None or post.deliver_at <= discord.utils.utcnow():
            await self.deliver_due()
        else:
            self.wake(post.deliver_at)

    @loop.before_loop
    async def _before_outbox(self) -> None:
        await self.bot.wait_until_ready()

    @loop.error
    async def _outbox_error(self, error: BaseException) -> None:
        log.error("The anonymous outbox stopped unexpectedly", exc_info=error)

    async def deliver_due(self) -> None:
        """Deliver every post whose time has come, in order per circle. Safe to call often.

        The pass's reads and the claim of each circle's first post are one database unit;
        each post then costs one more to record it posted."""
        async with self.delivering:
            now = discord.utils.utcnow()
            self._acks = {k: a for k, a in self._acks.items() if a.editable_until > now}
            batch, circles_by_id = await self.bot.db.unit(lambda db: self._read_pass(db, now))
            for review in batch.reviews:
                circle = circles_by_id.get(review.circle_id)
                if circle is not None and circle.is_open:
                    await send_for_review(self.bot, circle, review)
            stalled: dict[int, Cause] = {}
            self._retimed = batch.full or bool(batch.reviews)
            for post in batch.posts:
                if post.circle_id in stalled:
                    # Keep order: nothing overtakes a post that failed to go out, and its
                    # author hears the same reason.
                    await self._tell_author(post.id, stalled[post.circle_id])
                    continue
                cause = await self._deliver(
                    post, now, circles_by_id.get(post.circle_id), post.id in batch.claimed
                )
                if cause is not None:
                    stalled[post.circle_id] = cause
            # A retry or a backlog changed what is due next; otherwise the pass's read says.
            due = await anon.next_delivery_at(self.bot.db) if self._retimed else batch.later
            if due is not None:
                self.wake(due)  # a retry, or a post due later than this pass

    async def _read_pass(
        self, db: Database, now: datetime
    ) -> tuple[anon.OutboxPass, dict[int, Circle]]:
        batch = await anon.begin_pass(db, now=now)
        wanted = {p.circle_id for p in [*batch.reviews, *batch.posts]}
        found = {cid: await circles.get_circle(db, cid) for cid in sorted(wanted)}
        return batch, {cid: c for cid, c in found.items() if c is not None}

    async def _deliver(
        self, post: AnonPost, now: datetime, circle: Circle | None, claimed: bool
    ) -> Cause | None:
        """Try to send one post of `circle` (None: it is gone); `claimed` when the pass
        already marked it sending. None when the circle's next post may follow (it went out,
        or never will); else the cause that holds the circle's posts back."""
        if circle is None:
            await anon.mark_undeliverable(self.bot.db, post.id, now=now)
            return None
        try:
            thread = await get_thread(self.bot, circle, forbidden_means_gone=False)
        except SEND_ERRORS as error:
            return await self._failed(post, circle, None, error, now, may_have_gone_out=False)
        if thread is None:
            return await self._failed(post, circle, None, None, now, may_have_gone_out=False)
        if post.status == "sending":
            try:
                found = await find_message_with(thread, ids.REPLY.make(post.token))
            except SEND_ERRORS as error:
                return await self._failed(post, circle, thread, error, now, may_have_gone_out=True)
            if found is not None:
                await anon.mark_posted(self.bot.db, post.id, found, now=now)
                await self._delivered(post, circle, thread, found)
                return None
        elif not claimed and not await anon.mark_sending(self.bot.db, post.id):
            return None  # deleted, removed or closed since this pass read it: nothing to send
        kwargs: dict[str, Any] = {}
        if post.reply_to_message_id:
            kwargs["reference"] = discord.MessageReference(
                message_id=post.reply_to_message_id,
                channel_id=thread.id,
                fail_if_not_exists=False,
            )
            kwargs["mention_author"] = False
        try:
            message = await thread.send(
                embed=post_embed(
                    post.label,
                    post.text or "",
                    post.content_note,
                    post.quote_link,
                    circle_language(circle),
                ),
                view=post_view(post.token, circle_language(circle)),
                allowed_mentions=NO_MENTIONS,
                **kwargs,
            )
        except SEND_ERRORS as error:
            # A server error may come after Discord created the message: look before resending.
            uncertain = not isinstance(error, discord.HTTPException) or error.status >= 500
            return await self._failed(post, circle, thread, error, now, may_have_gone_out=uncertain)
        recorded = await self.bot.db.unit(
            lambda db: self._record_posted(db, post, circle, message.id, now)
        )
        if not recorded:
            # The record went while the message was on its way (the author deleted it, or
            # the circle closed): take the message down too, so nothing is left unremovable.
            try:
                await message.delete()
            except discord.HTTPException as error:
                log.warning(
                    "Could not take down a post in circle %s (HTTP %s)", circle.id, error.status
                )
            return None
        await self._delivered(post, circle, thread, message.id)
        return None

    async def _record_posted(
        self, db: Database, post: AnonPost, circle: Circle, message_id: int, now: datetime
    ) -> bool:
        """Mark a post posted and pick up what moderators were told about its thread."""
        posted = await anon.mark_posted(db, post.id, message_id, now=now)
        if circle.thread_id:
            await self.problems.load(db, circle.guild_id, circle.thread_id)
        return posted

    async def _failed(
        self,
        post: AnonPost,
        circle: Circle,
        thread: discord.Thread | None,
        error: Exception | None,
        now: datetime,
        *,
        may_have_gone_out: bool,
    ) -> Cause | None:
        """Record why a post did not go out, retry it later (or end it when its thread is
        gone), and tell its author and, once per thread and cause, the moderators."""
        cause, retry_after = failure_cause(error) if error is not None else ("gone", None)
        self._retimed = True
        channel_id = circle.thread_id or 0
        # The mod log is the server's: its language, not the author's.
        language = server_language(
            await get_config(self.bot.db, circle.guild_id), self.bot.get_guild(circle.guild_id)
        )
        status = getattr(error, "status", None)
        log.warning("A post in circle %s is waiting (%s, HTTP %s)", circle.id, cause, status)
        record = (
            await _channel_failed(
                self.bot,
                circle.guild_id,
                channel_id,
                cause,
                problem_entry(
                    thread,
                    channel_id,
                    tr(language, "circle **{name}**", name=circle.name),
                    cause,
                    language,
                ),
            )
            if channel_id
            else delivery.ChannelFailure(cause, 1, log_now=False)
        )
        wait = delivery.retry_delay(cause, record.failures, retry_after)
        if wait is None:
            await anon.mark_undeliverable(self.bot.db, post.id, now=now)
        else:
            await anon.mark_failed(
                self.bot.db,
                post.id,
                retry_at=now + wait,
                may_have_gone_out=may_have_gone_out,
            )
        await self._tell_author(post.id, cause)
        return None if wait is None else cause

    async def _delivered(
        self, post: AnonPost, circle: Circle, thread: discord.Thread, message_id: int
    ) -> None:
        await _posting_works(self.bot, circle.guild_id, thread.id)
        ack = self._acks.pop(post.id, None)
        if ack is not None and ack.told is not None:
            link = f"https://discord.com/channels/{circle.guild_id}/{thread.id}/{message_id}"
            # The edit keeps the acknowledgement's language: its interaction's locale.
            text = tr(
                member_language(ack.interaction),
                "Your post (as **{label}**) has gone out now: {link}",
                label=ack.label,
                link=link,
            )
            await self._edit_ack(ack, text, post.id)

    async def _tell_author(self, post_id: int, cause: Cause) -> None:
        """Edit the author's acknowledgement to say why the post waits (once per cause)."""
        ack = self._acks.get(post_id)
        if ack is None or ack.told == cause:
            return
        if ack.editable_until <= discord.utils.utcnow():
            self._acks.pop(post_id, None)
            return
        ack.told = cause
        # The edit keeps the acknowledgement's language: its interaction's locale.
        language = member_language(ack.interaction)
        text = tr(language, AUTHOR_NOTICES[cause], label=ack.label)
        if cause == "gone":
            self._acks.pop(post_id, None)
            text += " " + tr(language, "`/anon mine` shows it as not posted.")
        else:
            text += " " + tr(language, WAITING_HINT)
        await self._edit_ack(ack, text, post_id)

    async def _edit_ack(self, ack: _Ack, content: str, post_id: int) -> None:
        try:
            await ack.interaction.edit_original_response(content=content, view=None)
        except discord.HTTPException:
            # The token expired early or the message is gone: /anon mine still says it.
            self._acks.pop(post_id, None)


# Buttons the layer places on messages; registered by the bot, whichever cogs are loaded.
LAYER_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ReplyButton,
    PostAnywayButton,
    EditDraftButton,
    ReviewButton,
    HeldPostButton,
    ReportButton,
    ReportDecisionButton,
    BreakButton,
    AskKeeperButton,
)
