"""`/anon` and "Reply anonymously": posting in a circle without a name.

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
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.buttons import TOKEN, PersistentButton, one_of, persistent_view
from bot.client import CircleBot
from bot.discord_utils import (
    delete_queue_messages,
    require_member,
    text_channel,
)
from bot.errors import NO_MENTIONS, ErrorHandlingModal, ErrorHandlingView, UserFacingError
from bot.services import anonymous as anon
from bot.services import circles
from bot.services.anonymous import AnonError, AnonPost
from bot.services.circles import Circle
from bot.services.config import get_config
from bot.timing import sleep_until_due, wake_by
from cogs.circles.access import Here, open_circle, participant_here
from cogs.circles.cog import get_thread

log = logging.getLogger(__name__)

# The outbox then sleeps until the next post falls due; this is only its first interval.
OUTBOX_SECONDS = 15
RETRY_AFTER_SERVER_ERROR = timedelta(seconds=30)
RETRY_AFTER_FORBIDDEN = timedelta(minutes=5)
RECOVERY_HISTORY = 50  # how far back to look for a post that may have gone out before a crash
POST_COLOUR = discord.Colour.from_rgb(143, 161, 179)
DELETE_ALL = "all"  # the picker's "all my posts" choice; post tokens are never this short
MAX_CHOICES = 25  # Discord's limit for a picker and for autocomplete
STATUS_WORDS = {
    "review": "waiting for a moderator",
    "queued": "waiting to be posted",
    "sending": "being posted",
    "posted": "posted",
    "rejected": "not posted (rejected)",
    "removed": "removed by a moderator",
}


# --- pure helpers ------------------------------------------------------------------------


def post_embed(label: str, text: str, note: str | None, quote_link: str | None) -> discord.Embed:
    """How an anonymous post looks: the content note first, then the text."""
    parts = []
    if note:
        parts.append(f"**Content note:** {note}")
    if quote_link:
        parts.append(f"Replying to {quote_link}")
    parts.append(text)
    embed = discord.Embed(description="\n\n".join(parts), colour=POST_COLOUR)
    embed.set_author(name=f"Anonymous · {label}")
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


def _user_message(error: AnonError) -> UserFacingError:
    return UserFacingError(error.message)


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
    if name is not None and name.strip():
        circle = await circles.open_circle_by_name(bot.db, member.guild.id, name)
        if circle is None:
            raise UserFacingError(
                f"There is no open circle called “{name.strip()}”. See `/circle list`."
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
                f"Name the circle: `/anon {command} circle:<name>` (or use it in the "
                "circle's thread)."
            )
        if not found.is_open:
            raise UserFacingError("This circle is closed, so its anonymous posts are gone.")
        circle = found
    try:
        return circle, bot.circle_keys.label_key(circle, member.id)
    except AnonError as error:
        raise _user_message(error) from None


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
    ) -> None:
        title = "Reply anonymously" if reply_to_message_id or quote_link else "Post anonymously"
        super().__init__(title=title, timeout=900)
        self.circle_id = circle_id
        self.reply_to_message_id = reply_to_message_id
        self.quote_link = quote_link
        self.draft_token = draft_token
        self.message: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
            label="Your message",
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="message",
            default=text,
            placeholder="Shown without your name. Only you can see this while you write.",
        )
        self.note: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
            label="Content note (optional)",
            style=discord.TextStyle.short,
            max_length=anon.MAX_NOTE,
            required=False,
            custom_id="content_note",
            default=note,
            placeholder="e.g. violence, policing",
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
    prefix="ck:anon:reply",
    fields={"token": TOKEN},
    optional_last=True,
    label="Reply anonymously",
):
    """Reply anonymously, on prompts and anonymous posts: the reply references that message.

    Prompts carry the bare `ck:anon:reply`; anonymous posts add the post's token, which lets
    delivery recognise a post that went out just before a crash.
    """

    token: str | None

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        here = await participant_here(bot, interaction)
        target = interaction.message
        await interaction.response.send_modal(
            PostModal(here.circle.id, reply_to_message_id=target.id if target else None)
        )


async def _held_draft(bot: CircleBot, token: str) -> AnonPost:
    """The draft behind Post anyway / Edit, while it has not expired."""
    draft = await anon.get_draft(bot.db, token, now=discord.utils.utcnow())
    if draft is None:
        raise UserFacingError(
            "That draft has expired or was already handled. Nothing was posted; "
            "use `/anon post` to write it again."
        )
    return draft


class PostAnywayButton(
    PersistentButton,
    prefix="ck:anon:confirm",
    fields={"token": TOKEN},
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


class EditDraftButton(
    PersistentButton, prefix="ck:anon:edit", fields={"token": TOKEN}, label="Edit"
):
    token: str

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        draft = await _held_draft(bot, self.token)
        await interaction.response.send_modal(
            PostModal(
                draft.circle_id,
                reply_to_message_id=draft.reply_to_message_id,
                quote_link=draft.quote_link,
                draft_token=draft.token,
                text=draft.text,
                note=draft.content_note,
            )
        )


class ReviewButton(
    PersistentButton,
    prefix="ck:anon",
    fields={"decision": one_of("approve", "reject"), "token": TOKEN},
):
    """Approve / Reject on a held post in the moderators' queue."""

    decision: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        approve = self.decision == "approve"
        style = discord.ButtonStyle.success if approve else discord.ButtonStyle.danger
        return self.decision.title(), style

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        # The same decision as the buttons in /mod queue: one implementation for both.
        from cogs.moderation import decide_held_post

        await decide_held_post(interaction.client, interaction, self.token, self.decision)


def review_view(token: str) -> discord.ui.View:
    # Imported here because cogs.moderation imports this module.
    from cogs.moderation import add_review_buttons

    view = persistent_view()
    view.add_item(ReviewButton("approve", token))
    view.add_item(ReviewButton("reject", token))
    add_review_buttons(view, token)
    return view


def post_view(token: str) -> discord.ui.View:
    from cogs.moderation import add_post_buttons

    view = persistent_view()
    view.add_item(ReplyButton(token))
    add_post_buttons(view)
    return view


class DeleteMineView(ErrorHandlingView):
    """A private picker of the member's own posts, for /anon delete."""

    def __init__(self, circle: Circle, label_key: bytes, posts: list[AnonPost]) -> None:
        super().__init__(timeout=300)
        self.circle = circle
        self.label_key = label_key
        options = [
            discord.SelectOption(
                label=f"All my posts in this circle ({len(posts)})", value=DELETE_ALL
            )
        ]
        options += [
            discord.SelectOption(
                label=f"{STATUS_WORDS.get(p.status, p.status)} · {p.created_at:%d %b %H:%M} UTC",
                value=p.token,
            )
            for p in posts[: MAX_CHOICES - 1]
        ]
        self.picker: discord.ui.Select[DeleteMineView] = discord.ui.Select(
            placeholder="Choose a post to delete", options=options
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
            raise UserFacingError("That isn't one of your posts, or it no longer exists.")
        # The message goes first: if Discord refuses, the record stays, so the post can still
        # be found and deleted later.
        if post.message_id is not None:
            thread = await get_thread(bot, self.circle)
            if thread is None:
                raise UserFacingError(
                    "I can't reach this circle's thread to delete the message; nothing was "
                    "deleted. Please try again later."
                )
            try:
                await thread.get_partial_message(post.message_id).delete()
            except discord.NotFound:
                pass
            except discord.HTTPException:
                raise UserFacingError(
                    "Discord would not let me delete the message, so nothing was deleted. "
                    "Please try again in a moment."
                ) from None
        try:
            await anon.delete_own(bot.db, self.circle.id, self.label_key, token)
        except AnonError as error:
            raise _user_message(error) from None
        if interaction.guild is not None:
            await delete_queue_messages(bot.db, interaction.guild, [post.review_message_id])
        await interaction.response.edit_message(content="Deleted.", view=None)

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
        text = f"Deleted {len(deleted)} of your posts in “{self.circle.name}”."
        if len(deleted) < len(posts):
            text += (
                f" {len(posts) - len(deleted)} could not be deleted right now (being posted, "
                "or Discord refused); please try again in a moment."
            )
        await interaction.edit_original_response(content=text, view=None)


# --- the flow ----------------------------------------------------------------------------


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
) -> None:
    """Check, store and route one anonymous post; acknowledge the author privately."""
    member = require_member(interaction)
    circle = await open_circle(bot, circle_id, closed="This circle has closed; nothing was posted.")
    if not await circles.has_current_agreement(bot.db, circle.id, member.id):
        raise UserFacingError("Please accept this circle's agreements before posting.")
    now = discord.utils.utcnow()
    try:
        label_key = bot.circle_keys.label_key(circle, member.id)
        # Blocks, rate limits and a closed circle are checked by save_draft and submit.
        cleaned = anon.clean_text(text)
        cleaned_note = (
            anon.clean_text(note, limit=anon.MAX_NOTE, what="The content note")
            if (note and note.strip())
            else None
        )
        findings = [] if confirmed else anon.find_identifying_details(cleaned)
        if findings:
            if draft_token:
                await anon.discard_draft(bot.db, draft_token)
            draft = await anon.save_draft(
                bot.db,
                circle,
                label_key,
                text=cleaned,
                content_note=cleaned_note,
                reply_to_message_id=reply_to_message_id,
                quote_link=quote_link,
                now=now,
            )
            view = persistent_view()
            view.add_item(PostAnywayButton(draft.token))
            view.add_item(EditDraftButton(draft.token))
            await _answer(interaction, findings_text(findings), view)
            return
        config = await get_config(bot.db, circle.guild_id)
        post = await anon.submit(
            bot.db,
            circle,
            label_key,
            text=cleaned,
            content_note=cleaned_note,
            reply_to_message_id=reply_to_message_id,
            quote_link=quote_link,
            now=now,
            delay_max_seconds=config.delay_max_seconds,
            draft_token=draft_token,
        )
    except AnonError as error:
        raise _user_message(error) from None
    if post.status == "review":
        queued = await send_for_review(bot, circle, post)
        note = (
            ""
            if queued
            else " (The moderators' channel couldn't be reached, so they will find it in "
            "`/mod queue`; you may want to let a moderator know a post is waiting.)"
        )
        await _answer(
            interaction,
            f"Thank you. Your post (as **{post.label}**) is with the moderators and will appear "
            f"once one of them approves it. `/anon mine` shows where it is.{note}",
        )
        return
    waiting = " after a short random delay" if config.delay_max_seconds else ""
    await _answer(
        interaction,
        f"Thank you. Your post will appear as **{post.label}**{waiting}. Nobody, moderators "
        "included, can see that it was you.",
    )
    cog = bot.get_cog("Anonymous")
    if isinstance(cog, Anonymous):
        await cog.queued(post)


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


async def send_for_review(bot: CircleBot, circle: Circle, post: AnonPost) -> bool:
    """Post a held post to the moderators' queue channel, with Approve / Reject.

    False when it could not be (no queue channel, or Discord refused): the post stays held
    and `/mod queue` still lists it.
    """
    guild = bot.get_guild(circle.guild_id)
    config = await get_config(bot.db, circle.guild_id)
    channel = text_channel(guild, config.queue_channel_id) if guild else None
    if channel is None:
        log.warning("Circle %s holds a post for review but no queue channel is set", circle.id)
        return False
    embed = post_embed(post.label, post.text or "", post.content_note, post.quote_link)
    embed.title = f"Held for review · {circle.name}"
    ping = ""
    mentions = NO_MENTIONS
    if config.ping_moderators and config.moderator_role_id:
        ping = f"<@&{config.moderator_role_id}>"
        mentions = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(config.moderator_role_id)]
        )
    try:
        message = await channel.send(
            ping, embed=embed, view=review_view(post.token), allowed_mentions=mentions
        )
    except discord.HTTPException as error:
        log.warning("Could not post a held post to the queue (HTTP %s)", error.status)
        return False
    await anon.set_review_message(bot.db, post.id, message.id)
    return True


# --- the cog -----------------------------------------------------------------------------


@app_commands.guild_only()
class Anonymous(commands.GroupCog, group_name="anon"):
    """Post in a circle without your name."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self._delivering = asyncio.Lock()
        self.reply_menu = app_commands.ContextMenu(
            name="Reply anonymously", callback=self.reply_to_message
        )
        self.reply_menu.guild_only = True
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.reply_menu)
        self.outbox.start()

    async def cog_unload(self) -> None:
        self.outbox.cancel()
        self.bot.tree.remove_command(self.reply_menu.name, type=self.reply_menu.type)

    def _label_key(self, here: Here) -> bytes:
        """The member's label key in this circle, recomputed: it is never stored by id."""
        try:
            return self.bot.circle_keys.label_key(here.circle, here.member.id)
        except AnonError as error:
            raise _user_message(error) from None

    # commands ------------------------------------------------------------------------------

    @app_commands.command(name="post")
    async def post(self, interaction: discord.Interaction[Any]) -> None:
        """Write a post that appears in this circle without your name."""
        here = await participant_here(self.bot, interaction)
        await interaction.response.send_modal(PostModal(here.circle.id))

    async def reply_to_message(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """Reply anonymously to any message in a circle."""
        here = await participant_here(self.bot, interaction)
        me = self.bot.user
        if me is not None and message.author.id == me.id:
            modal = PostModal(here.circle.id, reply_to_message_id=message.id)
        else:
            # A reply reference would notify the member who wrote it: quote a link instead.
            modal = PostModal(here.circle.id, quote_link=message.jump_url)
        await interaction.response.send_modal(modal)

    @app_commands.command(name="whoami")
    async def whoami(self, interaction: discord.Interaction[Any]) -> None:
        """Privately show the label your anonymous posts carry in this circle."""
        here = await participant_here(self.bot, interaction)
        label_key = self._label_key(here)
        label = await anon.label_for(self.bot.db, here.circle.id, label_key)
        note = (
            " This is a strict circle, so your label changes whenever the bot restarts."
            if here.circle.strict
            else ""
        )
        await interaction.response.send_message(
            f"In this circle your anonymous posts appear as **{label}**. Only you can see "
            f"this message.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="mine")
    @app_commands.describe(circle="The circle to look in (default: the thread you are in)")
    async def mine(self, interaction: discord.Interaction[Any], circle: str | None = None) -> None:
        """Privately list your anonymous posts in a circle and what happened to them."""
        target, label_key = await own_posts_circle(self.bot, interaction, circle, "mine")
        posts = await anon.posts_by(self.bot.db, target.id, label_key)
        if not posts:
            await interaction.response.send_message(
                "You have no anonymous posts in this circle.", ephemeral=True
            )
            return
        lines = []
        for p in posts[:20]:
            where = (
                f" — https://discord.com/channels/{target.guild_id}/{target.thread_id}/"
                f"{p.message_id}"
                if p.message_id and p.status == "posted"
                else ""
            )
            lines.append(
                f"• {p.created_at:%d %b %H:%M} UTC: {STATUS_WORDS.get(p.status, p.status)}{where}"
            )
        await interaction.response.send_message(
            "Your anonymous posts here (only you can see this):\n" + "\n".join(lines),
            ephemeral=True,
        )

    @app_commands.command(name="delete")
    @app_commands.describe(circle="The circle to delete in (default: the thread you are in)")
    async def delete(
        self, interaction: discord.Interaction[Any], circle: str | None = None
    ) -> None:
        """Delete one or all of your anonymous posts in a circle (messages and records)."""
        target, label_key = await own_posts_circle(self.bot, interaction, circle, "delete")
        posts = await anon.posts_by(self.bot.db, target.id, label_key)
        if not posts:
            raise UserFacingError("You have no anonymous posts in this circle.")
        await interaction.response.send_message(
            f"Which post in “{target.name}” should I delete?",
            view=DeleteMineView(target, label_key, posts),
            ephemeral=True,
        )

    @mine.autocomplete("circle")
    @delete.autocomplete("circle")
    async def _circle_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # The same names /circle list shows anyone in the server.
        if interaction.guild is None:
            return []
        wanted = current.casefold()
        return [
            app_commands.Choice(name=c.name[:100], value=c.name)
            for c in await circles.open_circles(self.bot.db, interaction.guild.id)
            if wanted in c.name.casefold()
        ][:MAX_CHOICES]

    # delivery ------------------------------------------------------------------------------

    @tasks.loop(seconds=OUTBOX_SECONDS)
    async def outbox(self) -> None:
        await self.deliver_due()
        # A backlog still due after this pass goes out a second later, not a whole pass later.
        sleep_until_due(self.outbox, await anon.next_delivery_at(self.bot.db), overdue_retry=1)

    async def queued(self, post: AnonPost) -> None:
        """A post entered the outbox: deliver it now, or make sure the outbox wakes for it."""
        if post.deliver_at is None or post.deliver_at <= discord.utils.utcnow():
            await self.deliver_due()
        else:
            wake_by(self.outbox, post.deliver_at)

    @outbox.before_loop
    async def _before_outbox(self) -> None:
        await self.bot.wait_until_ready()

    @outbox.error
    async def _outbox_error(self, error: BaseException) -> None:
        log.error("The anonymous outbox stopped unexpectedly", exc_info=error)

    async def deliver_due(self) -> None:
        """Deliver every post whose time has come, in order per circle. Safe to call often."""
        async with self._delivering:
            now = discord.utils.utcnow()
            stalled: set[int] = set()
            for post in await anon.due_posts(self.bot.db, now=now):
                if post.circle_id in stalled:
                    continue  # keep order: nothing overtakes a post that failed to go out
                if not await self._deliver(post, now):
                    stalled.add(post.circle_id)
            due = await anon.next_delivery_at(self.bot.db)
            if due is not None:
                wake_by(self.outbox, due)  # a retry, or a post due later than this pass

    async def _deliver(self, post: AnonPost, now: Any) -> bool:
        circle = await circles.get_circle(self.bot.db, post.circle_id)
        thread = await get_thread(self.bot, circle) if circle else None
        if circle is None or thread is None:
            await anon.mark_undeliverable(self.bot.db, post.id, now=now)
            log.warning("Dropped anonymous post %s: its circle's thread is gone", post.id)
            return True
        if post.status == "sending":
            found = await self._find_sent(thread, post.token)
            if found is not None:
                await anon.mark_posted(self.bot.db, post.id, found, now=now)
                return True
        if post.status == "queued" and not await anon.mark_sending(self.bot.db, post.id):
            return True  # deleted, removed or closed since this pass read it: nothing to send
        reference = (
            discord.MessageReference(
                message_id=post.reply_to_message_id,
                channel_id=thread.id,
                fail_if_not_exists=False,
            )
            if post.reply_to_message_id
            else None
        )
        try:
            kwargs: dict[str, Any] = {}
            if reference is not None:
                kwargs["reference"] = reference
                kwargs["mention_author"] = False
            message = await thread.send(
                embed=post_embed(post.label, post.text or "", post.content_note, post.quote_link),
                view=post_view(post.token),
                allowed_mentions=NO_MENTIONS,
                **kwargs,
            )
        except discord.HTTPException as error:
            wait = (
                RETRY_AFTER_FORBIDDEN
                if isinstance(error, discord.Forbidden)
                else RETRY_AFTER_SERVER_ERROR
            )
            await anon.mark_failed(self.bot.db, post.id, retry_at=now + wait)
            log.warning(
                "Anonymous post %s not delivered yet (HTTP %s); will retry", post.id, error.status
            )
            return False
        if not await anon.mark_posted(self.bot.db, post.id, message.id, now=now):
            # The record went while the message was on its way (the author deleted it, or
            # the circle closed): take the message down too, so nothing is left unremovable.
            try:
                await message.delete()
            except discord.HTTPException as error:
                log.warning("Could not take down post %s (HTTP %s)", post.id, error.status)
        return True

    async def _find_sent(self, thread: discord.Thread, token: str) -> int | None:
        """The id of a message already carrying this post's token, if one went out."""
        wanted = f"ck:anon:reply:{token}"
        try:
            async for message in thread.history(limit=RECOVERY_HISTORY):
                for row in message.components:
                    for child in getattr(row, "children", []):
                        if getattr(child, "custom_id", None) == wanted:
                            return message.id
        except discord.HTTPException:
            return None
        return None


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(ReplyButton, PostAnywayButton, EditDraftButton, ReviewButton)
    await bot.add_cog(Anonymous(bot))
