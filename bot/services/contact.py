"""Contact conversations: a member writes to the moderators and hears back, under a pseudonym.

No row holds the member's id. A conversation knows its member only by `member_key`,
HMAC-SHA256(conversation key, member id), and the conversation key is
HMAC-SHA256(master secret, "contact" + a random salt of that conversation alone), so two
conversations of one member share no stored value and a copy of the database alone links
none of them to anyone. A member finds their conversations by asking: the key is recomputed
under each open conversation's salt. Closing destroys the salt and the key.

A block keeps the blocked conversation's salt and key (and nothing of what was said): a
member opening a new conversation is checked by recomputing their key under each blocked
salt, so nothing common to a member's conversations is ever stored and moderators never
learn who is blocked or which other conversations are theirs.

Memory-keyed conversations (a server's choice) have a random key held only in memory
(`ContactKeys`): not even the operator can link them, and they end at a restart, blocks
included (`forget_memory_keyed`).

What lives in memory only: the rate limit on new conversations and which replies a member
has read (`MemberMemory`), keyed by an HMAC under a key made fresh at each start.

A member's words are kept only until they reach the moderators' channel; moderators' replies
until the conversation's text is purged, when it ends (the server's period, 30 days by
default, from its opening).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.i18n import N_
from bot.services import times
from bot.services.anonymous.rules import KEY_BYTES, MAX_TEXT, TOKEN_BYTES
from bot.services.anonymous.text import clean_text
from bot.services.errors import Refusal
from bot.services.wordlists import ADJECTIVES, NOUNS

DEFAULT_DAYS = 30
DAYS_RANGE = (1, 365)
NEW_LIMIT = 3  # new conversations per member in NEW_WINDOW (in memory)
NEW_WINDOW = timedelta(hours=1)
_PSEUDONYM_TRIES = 20

# Where delivery delays are drawn from; tests put a seeded generator here.
DELAY_RANDOM: random.Random = secrets.SystemRandom()


# --- refusals ------------------------------------------------------------------------------


class ContactError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class ContactClosed(ContactError):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "This conversation is closed, so nothing more can be sent in it. "
                "`/anon contact` opens a new one."
            )
        )


class ContactBlocked(ContactError):
    # Worded not to accuse, as for circle blocks.
    def __init__(self) -> None:
        super().__init__(
            N_(
                "Contacting the moderators through Circlekeeper isn't available to you right "
                "now. `/resources` lists services outside this server."
            )
        )


class ContactNotFound(ContactError):
    def __init__(self) -> None:
        super().__init__(N_("That conversation no longer exists or isn't yours."))


class TooManyConversations(ContactError):
    def __init__(self, minutes: int) -> None:
        super().__init__(
            N_(
                "You have opened several conversations just now. You can open another in "
                "1 minute, or answer in one you have from `/anon inbox`."
            )
            if minutes == 1
            else N_(
                "You have opened several conversations just now. You can open another in "
                "{minutes} minutes, or answer in one you have from `/anon inbox`."
            ),
            minutes=minutes,
        )


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    token: str
    guild_id: int
    pseudonym: str
    salt: bytes | None
    member_key: bytes | None
    memory_keyed: bool
    state: str
    opened_at: datetime
    ends_at: datetime

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True, slots=True)
class ContactMessage:
    id: int
    conversation_id: int
    sender: str  # 'member' or 'moderators'
    text: str | None
    created_at: datetime
    deliver_at: datetime | None
    channel_message: int | None


@dataclass(frozen=True, slots=True)
class ContactSettings:
    guild_id: int
    channel_id: int | None = None
    retention_days: int = DEFAULT_DAYS
    memory_keyed: bool = False


def _conversation(r: sqlite3.Row) -> Conversation:
    return Conversation(
        id=r["id"],
        token=r["token"],
        guild_id=r["guild_id"],
        pseudonym=r["pseudonym"],
        salt=None if r["salt"] is None else bytes(r["salt"]),
        member_key=None if r["member_key"] is None else bytes(r["member_key"]),
        memory_keyed=bool(r["memory_keyed"]),
        state=r["state"],
        opened_at=times.read(r["opened_at"]),
        ends_at=times.read(r["ends_at"]),
    )


def _message(r: sqlite3.Row) -> ContactMessage:
    return ContactMessage(
        id=r["id"],
        conversation_id=r["conversation_id"],
        sender=r["sender"],
        text=r["text"],
        created_at=times.read(r["created_at"]),
        deliver_at=times.read_optional(r["deliver_at"]),
        channel_message=r["channel_message"],
    )


# --- keys ----------------------------------------------------------------------------------


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


class ContactKeys:
    """Computes conversation keys; holds memory-keyed conversations' keys. One per process."""

    def __init__(self, master_secret: bytes) -> None:
        if not master_secret:
            raise ValueError("the master secret is empty")
        self._master = master_secret
        self._memory: dict[int, bytes] = {}

    def __repr__(self) -> str:
        return f"<ContactKeys memory_keyed={len(self._memory)}>"

    def _key(self, conversation: Conversation) -> bytes | None:
        if conversation.memory_keyed:
            return self._memory.get(conversation.id)
        if conversation.salt is None:
            return None
        return _hmac(self._master, b"contact" + conversation.salt)

    def member_key(self, salt: bytes, user_id: int) -> bytes:
        """The member's key under a salt (a conversation stored with its salt)."""
        return _hmac(_hmac(self._master, b"contact" + salt), str(user_id).encode())

    def is_member(self, conversation: Conversation, user_id: int) -> bool:
        """True if `user_id` opened this conversation (recomputed, never looked up)."""
        key = self._key(conversation)
        if key is None or conversation.member_key is None:
            return False
        return hmac.compare_digest(_hmac(key, str(user_id).encode()), conversation.member_key)

    def remember(self, conversation_id: int, key: bytes) -> None:
        self._memory[conversation_id] = key

    def forget(self, conversation_id: int) -> None:
        """Drop a memory-keyed conversation's key. Idempotent."""
        self._memory.pop(conversation_id, None)


class MemberMemory:
    """What is kept about members in memory only, keyed by an HMAC under a key made at each
    start: the times they opened conversations (the rate limit) and what they have read.

    Read state lives here, not in the database: one open of the inbox marks replies in
    several circles and conversations read at once, and two copies of a stored read state
    would link them. After a restart a member may see the "new replies" line once more.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(KEY_BYTES)
        self._opened: dict[bytes, deque[datetime]] = {}
        self._read: dict[bytes, set[str]] = {}

    def __repr__(self) -> str:
        return f"<MemberMemory members={len(self._read)}>"

    def _who(self, user_id: int) -> bytes:
        return _hmac(self._key, str(user_id).encode())

    def check_new(self, user_id: int, *, now: datetime) -> None:
        """Raise TooManyConversations if this member opened NEW_LIMIT in the window."""
        opened = self._opened.get(self._who(user_id))
        if opened is None:
            return
        while opened and opened[0] <= now - NEW_WINDOW:
            opened.popleft()
        if len(opened) >= NEW_LIMIT:
            wait = opened[0] + NEW_WINDOW - now
            raise TooManyConversations(max(1, -(-int(wait.total_seconds()) // 60)))

    def opened(self, user_id: int, *, now: datetime) -> None:
        self._opened.setdefault(self._who(user_id), deque()).append(now)

    def unread(self, user_id: int, items: Iterable[str]) -> list[str]:
        seen = self._read.get(self._who(user_id), set())
        return [item for item in items if item not in seen]

    def mark_read(self, user_id: int, items: Iterable[str]) -> None:
        self._read.setdefault(self._who(user_id), set()).update(items)


# --- settings ------------------------------------------------------------------------------


async def get_settings(db: Database, guild_id: int) -> ContactSettings:
    """The server's contact settings, or the defaults. Read-only."""
    row = await db.fetchone("SELECT * FROM contact_settings WHERE guild_id = ?", (guild_id,))
    if row is None:
        return ContactSettings(guild_id)
    return ContactSettings(
        guild_id, row["channel_id"], row["retention_days"], bool(row["memory_keyed"])
    )


async def _set(db: Database, guild_id: int, column: str, value: int | None) -> ContactSettings:
    await db.execute(
        f"INSERT INTO contact_settings (guild_id, {column}) VALUES (?, ?)"
        f" ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}",
        (guild_id, value),
    )
    return await get_settings(db, guild_id)


async def set_channel(db: Database, guild_id: int, channel_id: int | None) -> ContactSettings:
    """Idempotent. None: conversations go to the queue channel."""
    return await _set(db, guild_id, "channel_id", channel_id)


async def set_retention(db: Database, guild_id: int, days: int) -> ContactSettings:
    """Idempotent. ContactError outside 1-365. Applies to conversations opened from now."""
    low, high = DAYS_RANGE
    if not low <= days <= high:
        raise ContactError(N_("Days must be between {low} and {high}."), low=low, high=high)
    return await _set(db, guild_id, "retention_days", days)


async def set_memory_keyed(db: Database, guild_id: int, enabled: bool) -> ContactSettings:
    """Idempotent. Applies to conversations opened from now."""
    return await _set(db, guild_id, "memory_keyed", int(enabled))


# --- opening and writing -------------------------------------------------------------------


def clean_message(text: str) -> str:
    """The message as stored; ContactError-like InvalidText when empty or too long."""
    return clean_text(text, limit=MAX_TEXT, what=N_("Your message"))


def _random_delay(delay_max_seconds: int, rng: random.Random | None) -> timedelta:
    if not delay_max_seconds:
        return timedelta()
    source = rng if rng is not None else DELAY_RANDOM
    return timedelta(seconds=source.uniform(1, max(delay_max_seconds, 1)))


def _pseudonym() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(NOUNS)}"


async def _blocked(db: Database, keys: ContactKeys, guild_id: int, user_id: int) -> bool:
    rows = await db.fetchall(
        "SELECT * FROM contact_conversations WHERE guild_id = ? AND state = 'blocked'",
        (guild_id,),
    )
    return any(keys.is_member(_conversation(r), user_id) for r in rows)


async def check_can_open(db: Database, keys: ContactKeys, guild_id: int, user_id: int) -> None:
    """Raise ContactBlocked when a blocked conversation of this member is on record."""
    if await _blocked(db, keys, guild_id, user_id):
        raise ContactBlocked()


async def open_conversation(
    db: Database,
    keys: ContactKeys,
    guild_id: int,
    user_id: int,
    *,
    text: str,
    now: datetime,
    delay_max_seconds: int,
    rng: random.Random | None = None,
) -> tuple[Conversation, ContactMessage]:
    """Open a conversation with its first message, which waits a random time before it
    reaches the moderators. ContactBlocked when the member is blocked; InvalidText when
    the message is empty or too long. The caller checks the in-memory rate limit."""
    cleaned = clean_message(text)
    settings = await get_settings(db, guild_id)
    memory_key = secrets.token_bytes(KEY_BYTES) if settings.memory_keyed else None
    salt = None if memory_key is not None else secrets.token_bytes(KEY_BYTES)
    member_key = (
        _hmac(memory_key, str(user_id).encode())
        if memory_key is not None
        else keys.member_key(salt or b"", user_id)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    ends_at = now + timedelta(days=settings.retention_days)
    async with db.transaction():
        if await _blocked(db, keys, guild_id, user_id):
            raise ContactBlocked()
        conversation_id = None
        for _ in range(_PSEUDONYM_TRIES):
            try:
                conversation_id = await db.insert(
                    "INSERT INTO contact_conversations (token, guild_id, pseudonym, salt,"
                    " member_key, memory_keyed, state, opened_at, ends_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (
                        token,
                        guild_id,
                        _pseudonym(),
                        salt,
                        member_key,
                        int(memory_key is not None),
                        times.to_minute(now),
                        times.to_minute(ends_at),
                    ),
                )
                break
            except sqlite3.IntegrityError:
                continue
        if conversation_id is None:
            raise ContactError(N_("Too many conversations are open at once. Please try again."))
        message_id = await _add_message(
            db, conversation_id, "member", cleaned, now, delay_max_seconds, rng
        )
    if memory_key is not None:
        keys.remember(conversation_id, memory_key)
    conversation = await get_conversation(db, token)
    message = await get_message(db, message_id)
    assert conversation is not None and message is not None
    return conversation, message


async def _add_message(
    db: Database,
    conversation_id: int,
    sender: str,
    text: str,
    now: datetime,
    delay_max_seconds: int,
    rng: random.Random | None,
) -> int:
    deliver_at = None
    if sender == "member":
        wanted = times.to_second(now + _random_delay(delay_max_seconds, rng))
        # Never ahead of the member's earlier message that is still waiting.
        latest = await db.fetchval(
            "SELECT max(deliver_at) FROM contact_messages WHERE conversation_id = ?"
            " AND channel_message IS NULL",
            (conversation_id,),
        )
        deliver_at = max(wanted, latest) if latest is not None else wanted
    return await db.insert(
        "INSERT INTO contact_messages (conversation_id, sender, text, created_at, deliver_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (conversation_id, sender, text, times.to_minute(now), deliver_at),
    )


async def member_writes(
    db: Database,
    keys: ContactKeys,
    token: str,
    user_id: int,
    *,
    text: str,
    now: datetime,
    delay_max_seconds: int,
    rng: random.Random | None = None,
) -> tuple[Conversation, ContactMessage]:
    """The member answers in their conversation. ContactNotFound unless it is theirs;
    ContactBlocked or ContactClosed when it no longer takes messages."""
    cleaned = clean_message(text)
    async with db.transaction():
        conversation = await get_conversation(db, token)
        if conversation is None or conversation.state == "closed":
            # A closed conversation has no key left to tell whose it was.
            raise ContactClosed() if conversation is not None else ContactNotFound()
        if not keys.is_member(conversation, user_id):
            raise ContactNotFound()
        if conversation.state == "blocked":
            raise ContactBlocked()
        message_id = await _add_message(
            db, conversation.id, "member", cleaned, now, delay_max_seconds, rng
        )
    message = await get_message(db, message_id)
    assert message is not None
    return conversation, message


async def moderators_write(
    db: Database, token: str, *, text: str, now: datetime
) -> tuple[Conversation, ContactMessage]:
    """A moderator replies. ContactClosed when the conversation is closed or blocked."""
    cleaned = clean_message(text)
    async with db.transaction():
        conversation = await get_conversation(db, token)
        if conversation is None:
            raise ContactNotFound()
        if not conversation.is_open:
            raise ContactClosed()
        message_id = await _add_message(db, conversation.id, "moderators", cleaned, now, 0, None)
    message = await get_message(db, message_id)
    assert message is not None
    return conversation, message


async def close(db: Database, keys: ContactKeys, token: str) -> Conversation:
    """Close a conversation: its salt and key are destroyed, so it can never be linked to
    anyone again; what moderators wrote stays until its end, then goes. A member's message
    still waiting to reach the channel goes now. ContactNotFound when not open."""
    async with db.transaction():
        conversation = await get_conversation(db, token)
        if conversation is None or not conversation.is_open:
            raise ContactNotFound() if conversation is None else ContactClosed()
        await db.execute(
            "UPDATE contact_conversations SET state = 'closed', salt = NULL, member_key = NULL"
            " WHERE id = ?",
            (conversation.id,),
        )
        await db.execute(
            "DELETE FROM contact_messages WHERE conversation_id = ? AND channel_message IS NULL"
            " AND sender = 'member'",
            (conversation.id,),
        )
    keys.forget(conversation.id)
    await db.scrub()
    closed = await get_conversation(db, token)
    assert closed is not None
    return closed


async def block(db: Database, token: str) -> Conversation:
    """Block the conversation's member: it keeps its salt and key, and nothing of what was
    said, which goes at once. ContactNotFound when it is not open."""
    async with db.transaction():
        conversation = await get_conversation(db, token)
        if conversation is None:
            raise ContactNotFound()
        if conversation.state == "blocked":
            raise ContactError(N_("That conversation is blocked already."))
        if conversation.member_key is None:
            raise ContactError(
                N_(
                    "That conversation is closed: nobody can tell any more whose it was, so it "
                    "cannot be blocked."
                )
            )
        await db.execute(
            "UPDATE contact_conversations SET state = 'blocked' WHERE id = ?", (conversation.id,)
        )
        await db.execute(
            "DELETE FROM contact_messages WHERE conversation_id = ?", (conversation.id,)
        )
    await db.scrub()
    blocked = await get_conversation(db, token)
    assert blocked is not None
    return blocked


async def blocks(db: Database, guild_id: int) -> list[Conversation]:
    """The server's blocked conversations, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM contact_conversations WHERE guild_id = ? AND state = 'blocked' ORDER BY id",
        (guild_id,),
    )
    return [_conversation(r) for r in rows]


async def unblock(db: Database, keys: ContactKeys, guild_id: int, conversation_id: int) -> bool:
    """Lift a contact block (the row goes with its salt and key). True if it was lifted."""
    changed = await db.execute(
        "DELETE FROM contact_conversations WHERE id = ? AND guild_id = ? AND state = 'blocked'",
        (conversation_id, guild_id),
    )
    keys.forget(conversation_id)
    return changed > 0


# --- reading -------------------------------------------------------------------------------


async def get_conversation(db: Database, token: str) -> Conversation | None:
    row = await db.fetchone("SELECT * FROM contact_conversations WHERE token = ?", (token,))
    return _conversation(row) if row else None


async def conversation_by_id(db: Database, conversation_id: int) -> Conversation | None:
    row = await db.fetchone("SELECT * FROM contact_conversations WHERE id = ?", (conversation_id,))
    return _conversation(row) if row else None


async def get_message(db: Database, message_id: int) -> ContactMessage | None:
    row = await db.fetchone("SELECT * FROM contact_messages WHERE id = ?", (message_id,))
    return _message(row) if row else None


async def messages(db: Database, conversation_id: int) -> list[ContactMessage]:
    rows = await db.fetchall(
        "SELECT * FROM contact_messages WHERE conversation_id = ? ORDER BY id",
        (conversation_id,),
    )
    return [_message(r) for r in rows]


async def conversations_of(
    db: Database, keys: ContactKeys, guild_id: int, user_id: int
) -> list[Conversation]:
    """The member's open conversations here, found by recomputing their key under each."""
    rows = await db.fetchall(
        "SELECT * FROM contact_conversations WHERE guild_id = ? AND state = 'open' ORDER BY id",
        (guild_id,),
    )
    found = [_conversation(r) for r in rows]
    return [c for c in found if keys.is_member(c, user_id)]


# --- delivery to the moderators' channel ---------------------------------------------------


async def due_messages(db: Database, *, now: datetime, limit: int = 50) -> list[ContactMessage]:
    """Members' messages whose wait is over and which have not reached the channel."""
    rows = await db.fetchall(
        "SELECT m.* FROM contact_messages m JOIN contact_conversations c"
        " ON c.id = m.conversation_id WHERE m.sender = 'member' AND m.channel_message IS NULL"
        " AND m.deliver_at <= ? AND c.state = 'open' ORDER BY m.id LIMIT ?",
        (times.stored(now), limit),
    )
    return [_message(r) for r in rows]


async def waiting_in(db: Database, guild_id: int) -> int:
    """How many members' messages of this server wait to reach the channel."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM contact_messages m JOIN contact_conversations c"
            " ON c.id = m.conversation_id WHERE c.guild_id = ? AND m.sender = 'member'"
            " AND m.channel_message IS NULL AND c.state = 'open'",
            (guild_id,),
        )
    )


async def next_due(db: Database) -> datetime | None:
    """When the next member's message or a conversation's end falls due."""
    value = await db.fetchval(
        "SELECT min(t) FROM (SELECT min(deliver_at) AS t FROM contact_messages"
        " WHERE sender = 'member' AND channel_message IS NULL"
        " UNION ALL SELECT min(ends_at) FROM contact_conversations WHERE state != 'blocked')"
    )
    return None if value is None else times.read(value)


async def delivered(db: Database, message_id: int, channel_message: int) -> bool:
    """Record that a member's message reached the channel, and drop its words (the channel
    holds them). Idempotent: False if it had been recorded or is gone."""
    changed = await db.execute(
        "UPDATE contact_messages SET channel_message = ?, text = NULL, deliver_at = NULL"
        " WHERE id = ? AND channel_message IS NULL",
        (channel_message, message_id),
    )
    if changed:
        db.scrub_soon()
    return changed > 0


async def held_back(db: Database, message_id: int, *, retry_at: datetime) -> None:
    """A member's message could not reach the channel: it waits until `retry_at`."""
    await db.execute(
        "UPDATE contact_messages SET deliver_at = ? WHERE id = ? AND channel_message IS NULL",
        (times.to_second(retry_at), message_id),
    )


async def wake_waiting(db: Database, guild_id: int, *, now: datetime) -> None:
    """The channel may work now (it was set): what waits is due at once."""
    await db.execute(
        "UPDATE contact_messages SET deliver_at = ? WHERE channel_message IS NULL"
        " AND sender = 'member' AND deliver_at > ? AND conversation_id IN"
        " (SELECT id FROM contact_conversations WHERE guild_id = ?)",
        (times.to_second(now), times.stored(now), guild_id),
    )


# --- ending --------------------------------------------------------------------------------


async def end_expired(db: Database, keys: ContactKeys, *, now: datetime) -> int:
    """Conversations past their end close by themselves and their text is purged: open and
    closed ones go entirely. Blocks stay until lifted. Return how many went."""
    async with db.transaction():
        rows = await db.fetchall(
            "SELECT id FROM contact_conversations WHERE state != 'blocked' AND ends_at <= ?",
            (times.stored(now),),
        )
        ids = [r["id"] for r in rows]
        await _delete(db, ids)
    for conversation_id in ids:
        keys.forget(conversation_id)
    if ids:
        await db.scrub()
    return len(ids)


async def forget_memory_keyed(db: Database) -> int:
    """At start: memory-keyed conversations (and their blocks) lost their keys with the last
    process, so nothing could ever reach or recognise their members again. They go."""
    rows = await db.fetchall("SELECT id FROM contact_conversations WHERE memory_keyed = 1")
    ids = [r["id"] for r in rows]
    if ids:
        async with db.transaction():
            await _delete(db, ids)
        await db.scrub()
    return len(ids)


async def _delete(db: Database, ids: Sequence[int]) -> None:
    for conversation_id in ids:
        await db.execute(
            "DELETE FROM contact_messages WHERE conversation_id = ?", (conversation_id,)
        )
        await db.execute("DELETE FROM contact_conversations WHERE id = ?", (conversation_id,))


# --- replies to a member's anonymous posts -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostReply:
    """A reply to one of the member's anonymous posts: an anonymous post made through
    Circlekeeper (`label` set), or a member's own Discord reply (`label` None)."""

    key: str  # what the in-memory read state remembers
    circle_id: int
    message_id: int
    replied_to: int
    label: str | None


# Authors per statement: three parameters each, far below SQLite's limit on parameters.
_AUTHORS_PER_QUERY = 300


async def replies_to_posts(db: Database, authors: Sequence[tuple[int, bytes]]) -> list[PostReply]:
    """Replies to an author's posted anonymous posts, for each (circle id, label key) the caller
    recomputed: circle by circle in the order given, in each the anonymous replies oldest
    first, then the members' Discord replies. Their own replies to their own posts are left
    out. One statement for all the circles."""
    found: list[PostReply] = []
    for start in range(0, len(authors), _AUTHORS_PER_QUERY):
        chunk = authors[start : start + _AUTHORS_PER_QUERY]
        values = ", ".join("(?, ?, ?)" for _ in chunk)
        params = [v for place, (c, key) in enumerate(chunk) for v in (c, key, place)]
        rows = await db.fetchall(
            f"WITH author (circle_id, label_key, place) AS (VALUES {values})"
            " SELECT 0 AS kind, a.place, r.id AS n, r.circle_id, r.message_id, r.label,"
            " p.message_id AS replied_to FROM author a"
            " CROSS JOIN anon_posts p ON p.circle_id = a.circle_id AND p.label_key = a.label_key"
            " JOIN anon_posts r"
            " ON r.circle_id = p.circle_id AND r.reply_to_message_id = p.message_id"
            " WHERE p.status = 'posted' AND r.status = 'posted' AND r.label_key != a.label_key"
            " UNION ALL"
            " SELECT 1, a.place, x.message_id, p.circle_id, x.message_id, NULL, p.message_id"
            " FROM author a"
            " CROSS JOIN anon_posts p ON p.circle_id = a.circle_id AND p.label_key = a.label_key"
            " JOIN anon_replies x ON x.post_id = p.id WHERE p.status = 'posted'"
            " ORDER BY 2, 1, 3",
            params,
        )
        found += [
            PostReply(
                f"d{r['message_id']}" if r["kind"] else f"a{r['n']}",
                r["circle_id"],
                r["message_id"],
                r["replied_to"],
                r["label"],
            )
            for r in rows
        ]
    return found


async def record_reply(db: Database, replied_to_message: int, message_id: int) -> bool:
    """A member replied on Discord to a message: if it is a posted anonymous post, remember
    the reply for its author's inbox. True if it was one. Idempotent."""
    changed = await db.execute(
        "INSERT OR IGNORE INTO anon_replies (post_id, message_id)"
        " SELECT id, ? FROM anon_posts WHERE message_id = ? AND status = 'posted'",
        (message_id, replied_to_message),
    )
    return changed > 0
