"""Contact conversations in Discord: the form a member writes to the moderators in, the
moderators' Reply / Close / Block, the member's inbox, and the `ContactDesk` that brings a
member's words to the moderators' channel after a random wait and ends old conversations.

Used by `/anon contact` and `/anon inbox` (cogs.anonymous), the circle card and the resource
card (the Contact moderators button), and the posting flow (the "new replies" line).

Rules this module keeps (the same as anonymous posts): a member's words are composed only in
a modal and reach the moderators as a separate message sent later by the bot, never as an
interaction response; every message goes out with no mentions allowed; nothing stored or
logged holds the member's id (their conversations are found again by recomputing the key);
custom ids hold random tokens. The mod log names conversations by pseudonym only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from babel.dates import format_datetime
from discord.ext import tasks

from bot.i18n import ENGLISH, N_
from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.discord_utils import log_action, require_member, require_moderator, text_channel
from bot.layer.errors import NO_MENTIONS, ErrorHandlingModal, UserFacingError
from bot.layer.i18n import delay_words, member_language, server_language, tr
from bot.layer.resource_card import resource_embed
from bot.layer.timing import DueLoop, sleep_until_due
from bot.services import anonymous as anon
from bot.services import circles
from bot.services import contact as contact_service
from bot.services.config import get_config
from bot.services.contact import ContactKeys, Conversation, MemberMemory, PostReply

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

CONTACT_COLOUR = discord.Colour.from_rgb(150, 140, 185)
# The moderators' buttons on a member's message, labelled in the server's language.
MODERATOR_BUTTONS = {"reply": N_("Reply"), "close": N_("Close"), "block": N_("Block")}
DESK_SECONDS = 60
RETRY_SECONDS = 300  # a channel the bot cannot post in is tried again this often
SEND_ERRORS = (discord.HTTPException, TimeoutError)
INBOX_CONVERSATIONS = 5  # two buttons each, within Discord's 25
INBOX_REPLIES = 10
NOT_EMERGENCY = N_(
    "The moderators are people from this server, not an emergency service, and they may not "
    "answer quickly. If you are in danger now, `/resources` lists services that can help "
    "(each says first what it does about police)."
)
UNSEEN = N_(
    "Nobody, moderators included, can see that it was you: they see only a name made for "
    "this conversation alone."
)


# --- what moderators and members see ------------------------------------------------------


def member_message_embed(
    conversation: Conversation, text: str, language: str = ENGLISH
) -> discord.Embed:
    """A member's words in the moderators' channel (the bot's words in the server's language;
    the member's own never translated)."""
    embed = discord.Embed(description=text, colour=CONTACT_COLOUR)
    embed.set_author(name=tr(language, "Contact · {pseudonym}", pseudonym=conversation.pseudonym))
    embed.set_footer(
        text=tr(
            language,
            "A member wrote to the moderators. Reply, Close or Block below; nobody can see "
            "who it is.",
        )
    )
    return embed


def moderators_view(token: str, language: str = ENGLISH) -> discord.ui.View:
    view = persistent_view()
    for action in ("reply", "close", "block"):
        view.add_item(
            ModeratorsButton(action, token, label=tr(language, MODERATOR_BUTTONS[action]))
        )
    return view


def _reach_note(channel_ok: bool, language: str = ENGLISH) -> str:
    if channel_ok:
        return ""
    return "\n\n" + tr(
        language,
        "Your message could not reach the moderators yet: this server's contact channel "
        "is missing or Circlekeeper can't post there. It waits, and they will see it as soon "
        "as that is fixed; nothing is lost.",
    )


def short_when(language: str, when: datetime, *, time: bool = True) -> str:
    """A date (and time) as lists show it: "03 Jan 14:05" in English, "03 ene 14:05" in
    Spanish; times are UTC."""
    if language == ENGLISH:
        return f"{when:%d %b %H:%M}" if time else f"{when:%d %b}"
    pattern = "dd MMM HH:mm" if time else "dd MMM"
    return format_datetime(when, pattern, tzinfo=UTC, locale=language.replace("-", "_"))


def contact_view(language: str = ENGLISH) -> discord.ui.View:
    """The Contact moderators button alone, for cards, labelled in `language`."""
    view = persistent_view()
    view.add_item(ContactButton(label=tr(language, "Contact moderators")))
    return view


# --- forms and buttons ---------------------------------------------------------------------


class ContactModal(ErrorHandlingModal):
    """Writing to the moderators: a text block (forms cannot hold buttons) says they are
    peers, not an emergency service, then the message."""

    def __init__(
        self, token: str | None = None, pseudonym: str | None = None, language: str = ENGLISH
    ) -> None:
        title = (
            tr(language, "Answer as {pseudonym}", pseudonym=pseudonym)[:45]
            if pseudonym
            else tr(language, "Contact the moderators")
        )
        super().__init__(title=title, timeout=900)
        self.token = token
        self.add_item(discord.ui.TextDisplay(tr(language, NOT_EMERGENCY)))
        self.message: discord.ui.TextInput[ContactModal] = discord.ui.TextInput(
            label=tr(language, "Your message"),
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="message",
            placeholder=tr(language, "Shown to the moderators without your name."),
        )
        self.add_item(self.message)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        member = require_member(interaction)
        desk = bot.contact
        now = discord.utils.utcnow()
        language = member_language(interaction)
        config = await get_config(bot.db, member.guild.id)
        if self.token is None:
            desk.members.check_new(member.id, now=now)
            conversation, message = await contact_service.open_conversation(
                bot.db,
                desk.keys,
                member.guild.id,
                member.id,
                text=self.message.value,
                now=now,
                delay_max_seconds=config.delay_max_seconds,
            )
            desk.members.opened(member.id, now=now)
            head = tr(
                language,
                "Sent. Your message reaches the moderators {when}, as **{pseudonym}**. "
                "{unseen} Their answers appear in `/anon inbox`; Circlekeeper sends no DM, "
                "since that would need your id kept beside the conversation.",
                when=delay_words(language, config.delay_max_seconds),
                pseudonym=conversation.pseudonym,
                unseen=tr(language, UNSEEN),
            )
        else:
            conversation, message = await contact_service.member_writes(
                bot.db,
                desk.keys,
                self.token,
                member.id,
                text=self.message.value,
                now=now,
                delay_max_seconds=config.delay_max_seconds,
            )
            head = tr(
                language,
                "Sent as **{pseudonym}**; it reaches the moderators {when}.",
                pseudonym=conversation.pseudonym,
                when=delay_words(language, config.delay_max_seconds),
            )
        channel_ok = await desk.channel_works(member.guild)
        view = persistent_view()
        view.add_item(ResourcesButton(label=tr(language, "Resources")))
        await interaction.response.send_message(
            head + "\n\n" + tr(language, NOT_EMERGENCY) + _reach_note(channel_ok, language),
            view=view,
            ephemeral=True,
        )
        if message.deliver_at is not None:
            desk.wake(message.deliver_at)
        if message.deliver_at is None or message.deliver_at <= discord.utils.utcnow():
            await desk.deliver_due()


class ModeratorReplyModal(ErrorHandlingModal):
    def __init__(self, token: str, pseudonym: str, language: str = ENGLISH) -> None:
        super().__init__(
            title=tr(language, "Reply to {pseudonym}", pseudonym=pseudonym)[:45], timeout=900
        )
        self.token = token
        self.message: discord.ui.TextInput[ModeratorReplyModal] = discord.ui.TextInput(
            label=tr(language, "Your reply (seen in their /anon inbox)"),
            style=discord.TextStyle.paragraph,
            max_length=anon.MAX_TEXT,
            custom_id="message",
        )
        self.add_item(self.message)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await require_moderator(bot.db, interaction)
        member = require_member(interaction)
        conversation, _ = await contact_service.moderators_write(
            bot.db, self.token, text=self.message.value, now=discord.utils.utcnow()
        )
        await interaction.response.send_message(
            tr(
                member_language(interaction),
                "Sent to **{pseudonym}**. They will see it in `/anon inbox` the next time they "
                "look; there is no notification.",
                pseudonym=conversation.pseudonym,
            ),
            ephemeral=True,
        )
        # A note for the other moderators, in the server's language.
        shared = server_language(await get_config(bot.db, member.guild.id), member.guild)
        embed = discord.Embed(description=self.message.value.strip(), colour=CONTACT_COLOUR)
        embed.set_author(
            name=tr(shared, "Moderators → {pseudonym}", pseudonym=conversation.pseudonym)
        )
        embed.set_footer(text=tr(shared, "Replied by {name}", name=member.display_name))
        await _post_in(interaction, embed=embed)
        await log_action(
            bot.db,
            member.guild,
            moderator_id=member.id,
            action="contact reply",
            target_label=conversation.pseudonym,
        )


async def _post_in(interaction: discord.Interaction[Any], **kwargs: Any) -> None:
    """A note for the other moderators in the channel the button was pressed in."""
    channel = interaction.channel
    if isinstance(channel, discord.TextChannel | discord.Thread):
        try:
            await channel.send(allowed_mentions=NO_MENTIONS, **kwargs)
        except discord.HTTPException as error:
            log.warning("Could not post a contact note (HTTP %s)", error.status)


class ContactButton(
    PersistentButton,
    custom_id=ids.CONTACT_OPEN,
    label="Contact moderators",
):
    """Opens the contact form, from the circle card or the resource card."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        require_member(interaction)
        await interaction.response.send_modal(ContactModal(language=member_language(interaction)))


class ResourcesButton(PersistentButton, custom_id=ids.RESOURCES, label="Resources"):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        guild_id = interaction.guild.id if interaction.guild else None
        await interaction.response.send_message(
            embed=await resource_embed(bot, guild_id, member_language(interaction)),
            ephemeral=True,
        )


class ModeratorsButton(PersistentButton, custom_id=ids.CONTACT_MODERATORS):
    """Reply, Close or Block on a member's message in the moderators' channel."""

    action: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        style = {
            "reply": discord.ButtonStyle.primary,
            "close": discord.ButtonStyle.secondary,
            "block": discord.ButtonStyle.danger,
        }[self.action]
        return MODERATOR_BUTTONS[self.action], style

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await require_moderator(bot.db, interaction)
        member = require_member(interaction)
        conversation = await contact_service.get_conversation(bot.db, self.token)
        if conversation is None:
            raise UserFacingError(N_("That conversation has ended and its text was purged."))
        language = member_language(interaction)
        if self.action == "reply":
            if not conversation.is_open:
                raise contact_service.ContactClosed()
            await interaction.response.send_modal(
                ModeratorReplyModal(conversation.token, conversation.pseudonym, language)
            )
            return
        if self.action == "close":
            closed = await contact_service.close(bot.db, bot.contact.keys, self.token)
            action, words = "contact close", "closed"
        else:
            closed = await contact_service.block(bot.db, self.token)
            action, words = "contact block", "blocked"
        await interaction.response.send_message(
            tr(
                language,
                "**{pseudonym}** is blocked. They cannot answer here or open new "
                "conversations; nobody is told who they are. `/mod blocks` lists it and "
                "`/mod unblock` lifts it."
                if words == "blocked"
                else "**{pseudonym}** is closed.",
                pseudonym=closed.pseudonym,
            ),
            ephemeral=True,
        )
        shared = server_language(await get_config(bot.db, member.guild.id), member.guild)
        await _post_in(
            interaction,
            content=tr(
                shared,
                "Conversation **{pseudonym}** was blocked by a moderator."
                if words == "blocked"
                else "Conversation **{pseudonym}** was closed by a moderator.",
                pseudonym=closed.pseudonym,
            ),
        )
        await log_action(
            bot.db,
            member.guild,
            moderator_id=member.id,
            action=action,
            target_label=closed.pseudonym,
        )


class MemberButton(PersistentButton, custom_id=ids.CONTACT_MEMBER):
    """Answer or Close in the member's inbox; only the conversation's member can use it
    (checked by recomputing their key, never by a stored id)."""

    action: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        if self.action == "answer":
            return "Answer", discord.ButtonStyle.primary
        return "Close", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        member = require_member(interaction)
        conversation = await contact_service.get_conversation(bot.db, self.token)
        if conversation is None or conversation.state == "closed":
            raise contact_service.ContactClosed()
        if not bot.contact.keys.is_member(conversation, member.id):
            raise contact_service.ContactNotFound()
        if conversation.state == "blocked":
            raise contact_service.ContactBlocked()
        language = member_language(interaction)
        if self.action == "answer":
            await interaction.response.send_modal(
                ContactModal(conversation.token, conversation.pseudonym, language)
            )
            return
        closed = await contact_service.close(bot.db, bot.contact.keys, self.token)
        await interaction.response.send_message(
            tr(
                language,
                "Closed **{pseudonym}**. It can no longer be linked to you, even by "
                "Circlekeeper; what the moderators wrote goes when its time is up.",
                pseudonym=closed.pseudonym,
            ),
            ephemeral=True,
        )
        # Moderators are not told at this moment: the note would time the member's click.
        # Reply says it is closed.


# --- the inbox -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxConversation:
    conversation: Conversation
    unread: list[tuple[str, str]]  # (read-state key, moderators' text)


@dataclass(frozen=True, slots=True)
class Inbox:
    conversations: list[InboxConversation]
    replies: list[tuple[PostReply, bool]]  # (reply, unread)
    circles: dict[int, circles.Circle]

    @property
    def unread_keys(self) -> list[str]:
        keys = [key for c in self.conversations for key, _ in c.unread]
        return keys + [reply.key for reply, new in self.replies if new]


async def gather_inbox(bot: CircleBot, guild_id: int, user_id: int) -> Inbox:
    """The member's open conversations with unread replies, and replies to their anonymous
    posts in open circles: all found by recomputing their keys, never by a stored id."""
    desk = bot.contact
    found: list[InboxConversation] = []
    for conversation in await contact_service.conversations_of(
        bot.db, desk.keys, guild_id, user_id
    ):
        said = [
            (f"c{m.id}", m.text or "")
            for m in await contact_service.messages(bot.db, conversation.id)
            if m.sender == "moderators"
        ]
        fresh = set(desk.members.unread(user_id, [key for key, _ in said]))
        found.append(InboxConversation(conversation, [s for s in said if s[0] in fresh]))
    open_circles = {c.id: c for c in await circles.open_circles(bot.db, guild_id)}
    replies = await contact_service.replies_to_posts(
        bot.db, [(c.id, bot.circle_keys.label_key(c, user_id)) for c in open_circles.values()]
    )
    fresh = set(desk.members.unread(user_id, [r.key for r in replies]))
    return Inbox(found, [(r, r.key in fresh) for r in replies], open_circles)


async def unread_line(bot: CircleBot, guild_id: int, user_id: int, language: str) -> str:
    """ " N new replies — /anon inbox" while there are unread ones, else ""."""
    count = len((await gather_inbox(bot, guild_id, user_id)).unread_keys)
    if not count:
        return ""
    return "\n" + tr(
        language,
        "1 new reply — `/anon inbox`" if count == 1 else "{count} new replies — `/anon inbox`",
        count=count,
    )


async def _reply_text(
    bot: CircleBot, circle: circles.Circle, reply: PostReply, language: str = ENGLISH
) -> str:
    """An anonymous reply's words, read back from the bot's own message (its text is not
    kept once posted); a member's Discord reply is only linked."""
    link = f"https://discord.com/channels/{circle.guild_id}/{circle.thread_id}/{reply.message_id}"
    if reply.label is None:
        return "• " + tr(
            language,
            "A member replied on Discord in **{circle}**: {link}",
            circle=circle.name,
            link=link,
        )
    words = ""
    guild = bot.get_guild(circle.guild_id)
    thread = guild.get_thread(circle.thread_id) if guild and circle.thread_id else None
    if thread is not None:
        try:
            message = await thread.fetch_message(reply.message_id)
            if message.embeds and message.embeds[0].description:
                words = message.embeds[0].description[:300]
        except discord.HTTPException:
            words = ""
    quoted = f"\n> {words.replace(chr(10), chr(10) + '> ')}" if words else ""
    said = tr(
        language,
        "**{label}** replied anonymously in **{circle}**: {link}",
        label=reply.label,
        circle=circle.name,
        link=link,
    )
    return f"• {said}{quoted}"


async def show_inbox(bot: CircleBot, interaction: discord.Interaction[Any]) -> None:
    """`/anon inbox`: privately, then everything shown is marked read (in memory only)."""
    member = require_member(interaction)
    language = member_language(interaction)
    inbox = await gather_inbox(bot, member.guild.id, member.id)
    parts: list[str] = []
    view = persistent_view()
    if inbox.conversations:
        parts.append("**" + tr(language, "Your conversations with the moderators") + "**")
        for entry in inbox.conversations[:INBOX_CONVERSATIONS]:
            c = entry.conversation
            line = tr(
                language,
                "**{pseudonym}** (opened {opened}, ends {ends})",
                pseudonym=c.pseudonym,
                opened=short_when(language, c.opened_at, time=False),
                ends=short_when(language, c.ends_at, time=False),
            )
            if entry.unread:
                # The moderators' own words, never translated.
                line += ":" + "".join(
                    "\n> "
                    + tr(language, "Moderators: {text}", text=text.replace(chr(10), chr(10) + "> "))
                    for _, text in entry.unread
                )
            else:
                line += ": " + tr(language, "no new replies.")
            parts.append(line)
            answer = tr(language, "Answer {pseudonym}", pseudonym=c.pseudonym)
            close = tr(language, "Close {pseudonym}", pseudonym=c.pseudonym)
            view.add_item(MemberButton("answer", c.token, label=answer[:80]))
            view.add_item(MemberButton("close", c.token, label=close[:80]))
    new_replies = [(reply, new) for reply, new in inbox.replies if new]
    if new_replies:
        parts.append("**" + tr(language, "New replies to your anonymous posts") + "**")
        for reply, _ in new_replies[:INBOX_REPLIES]:
            parts.append(await _reply_text(bot, inbox.circles[reply.circle_id], reply, language))
    if not parts:
        parts.append(
            tr(
                language,
                "Nothing new: no open conversations with the moderators and no new replies to "
                "your anonymous posts. `/anon contact` writes to the moderators.",
            )
        )
    parts.append(
        "-# "
        + tr(language, "Only you can see this. What you have read is remembered until a restart.")
    )
    text = "\n\n".join(parts)[:2000]
    if view.children:
        await interaction.response.send_message(
            text, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    bot.contact.members.mark_read(member.id, inbox.unread_keys)


# --- delivery ------------------------------------------------------------------------------


class ContactDesk(DueLoop):
    """Brings members' messages to the moderators' channel when their random wait is over,
    ends conversations when their time is up, and holds what lives in memory only (the
    keys of memory-keyed conversations, rate limits, read state). One per bot."""

    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self.keys = ContactKeys(bot.settings.secret)
        self.members = MemberMemory()
        self._refused: set[int] = set()  # servers whose moderators were told the channel fails
        self._delivering = asyncio.Lock()

    async def prepare(self) -> None:
        """At start, before any interaction: memory-keyed conversations of an earlier
        process can never be reached again, so they go."""
        await contact_service.forget_memory_keyed(self.bot.db)

    @tasks.loop(seconds=DESK_SECONDS)
    async def loop(self) -> None:
        await self.deliver_due()
        sleep_until_due(self.loop, await contact_service.next_due(self.bot.db), overdue_retry=5)

    @loop.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()

    @loop.error
    async def _error(self, error: BaseException) -> None:
        log.error("The contact desk stopped unexpectedly", exc_info=error)

    async def channel_for(self, guild: discord.Guild) -> discord.TextChannel | None:
        settings = await contact_service.get_settings(self.bot.db, guild.id)
        config = await get_config(self.bot.db, guild.id)
        return text_channel(guild, settings.channel_id or config.queue_channel_id)

    async def channel_works(self, guild: discord.Guild) -> bool:
        channel = await self.channel_for(guild)
        if channel is None:
            return False
        perms = channel.permissions_for(guild.me)
        return perms.view_channel and perms.send_messages and perms.embed_links

    async def deliver_due(self) -> None:
        """End what is over, then send what is due, once each (a lock keeps a pass from
        overlapping one started by a member's submit)."""
        async with self._delivering:
            now = discord.utils.utcnow()
            await contact_service.end_expired(self.bot.db, self.keys, now=now)
            for message in await contact_service.due_messages(self.bot.db, now=now):
                conversation = await contact_service.conversation_by_id(
                    self.bot.db, message.conversation_id
                )
                guild = self.bot.get_guild(conversation.guild_id) if conversation else None
                if conversation is None or guild is None:
                    continue
                await self._deliver(guild, conversation, message, now)
        due = await contact_service.next_due(self.bot.db)
        if due is not None:
            self.wake(due)

    async def _deliver(
        self,
        guild: discord.Guild,
        conversation: Conversation,
        message: contact_service.ContactMessage,
        now: datetime,
    ) -> None:
        channel = await self.channel_for(guild)
        language = server_language(await get_config(self.bot.db, guild.id), guild)
        try:
            if channel is None:
                raise LookupError("no contact channel")
            sent = await channel.send(
                embed=member_message_embed(conversation, message.text or "", language),
                view=moderators_view(conversation.token, language),
                allowed_mentions=NO_MENTIONS,
            )
        except (*SEND_ERRORS, LookupError):
            log.warning("A contact message waits: the moderators' channel refused or is unset")
            await contact_service.held_back(
                self.bot.db, message.id, retry_at=now + timedelta(seconds=RETRY_SECONDS)
            )
            if guild.id not in self._refused:
                self._refused.add(guild.id)
                await log_action(
                    self.bot.db,
                    guild,
                    moderator_id=None,
                    action="contact waiting",
                    details=tr(
                        language,
                        "A member's message to the moderators is waiting: the contact channel "
                        "(`/setup contact channel`, else the queue channel) is missing or "
                        "Circlekeeper can't post there (it needs View Channel, Send Messages "
                        "and Embed Links). It goes out once that is fixed.",
                    ),
                )
            return
        self._refused.discard(guild.id)
        await contact_service.delivered(self.bot.db, message.id, sent.id)

    async def channel_set(self, guild: discord.Guild) -> None:
        """The contact channel was set: what waits goes out now."""
        await contact_service.wake_waiting(self.bot.db, guild.id, now=discord.utils.utcnow())
        await self.deliver_due()


# Buttons this module places on messages; registered by the bot.
CONTACT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ContactButton,
    ResourcesButton,
    ModeratorsButton,
    MemberButton,
)
