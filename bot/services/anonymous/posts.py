"""Anonymous posts from draft to delivery: submitting, review, the outbox, own posts."""

from __future__ import annotations

import random
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.i18n import N_
from bot.services import times
from bot.services.anonymous.labels import label_for
from bot.services.anonymous.rules import (
    DRAFT_TTL,
    MAX_NOTE,
    RATE_LIMIT,
    RATE_WINDOW,
    TOKEN_BYTES,
    AnonError,
    Blocked,
    CircleClosed,
    NotFound,
    RateLimited,
)
from bot.services.anonymous.text import clean_text
from bot.services.circles import Circle

# Where delivery delays are drawn from; tests put a seeded generator here.
DELAY_RANDOM: random.Random = secrets.SystemRandom()

# Posts that count towards the rate limit: drafts are not submitted yet, and rejected or
# removed posts already cost the author their post.
_COUNTED = ("review", "queued", "sending", "posted")
# --- posts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnonPost:
    """One anonymous post. `text` and `content_note` are None once it is posted or decided.

    `decided_at` is when a moderator approved, rejected or removed it, or else when it was
    delivered or found undeliverable. A post that could never be delivered (its thread was
    gone) ends 'rejected' but keeps its `deliver_at`, which a moderator's rejection clears:
    see `undeliverable`.
    """

    id: int
    token: str
    circle_id: int
    label: str
    label_key: bytes
    status: str
    text: str | None
    content_note: str | None
    reply_to_message_id: int | None
    quote_link: str | None
    message_id: int | None
    review_message_id: int | None
    created_at: datetime
    deliver_at: datetime | None
    decided_at: datetime | None
    queue_tries: int = 0  # failed sends of a held post to the moderators' queue channel
    held_by: str | None = None  # the server rule that held it for review, if one did

    @property
    def undeliverable(self) -> bool:
        """It was on its way but could never go out: nobody rejected it."""
        return self.status == "rejected" and self.deliver_at is not None


@dataclass(frozen=True, slots=True)
class AnonBlock:
    """A block on one label key in one circle; nobody learns whose key it is."""

    id: int
    circle_id: int
    label: str
    reason: str
    created_at: datetime
    expires_at: datetime | None


def _post(r: sqlite3.Row) -> AnonPost:
    return AnonPost(
        id=r["id"],
        token=r["token"],
        circle_id=r["circle_id"],
        label=r["label"],
        label_key=bytes(r["label_key"]),
        status=r["status"],
        text=r["text"],
        content_note=r["content_note"],
        reply_to_message_id=r["reply_to_message_id"],
        quote_link=r["quote_link"],
        message_id=r["message_id"],
        review_message_id=r["review_message_id"],
        created_at=times.read(r["created_at"]),
        deliver_at=times.read_optional(r["deliver_at"]),
        decided_at=times.read_optional(r["decided_at"]),
        queue_tries=r["queue_tries"],
        held_by=r["held_by"],
    )


def _block(r: sqlite3.Row) -> AnonBlock:
    return AnonBlock(
        id=r["id"],
        circle_id=r["circle_id"],
        label=r["label"],
        reason=r["reason"],
        created_at=times.read(r["created_at"]),
        expires_at=times.read_optional(r["expires_at"]),
    )


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


async def _post_where(db: Database, condition: str, params: Sequence[object]) -> AnonPost | None:
    row = await db.fetchone(f"SELECT * FROM anon_posts WHERE {condition}", params)
    return _post(row) if row else None


async def check_can_post(db: Database, circle: Circle, label_key: bytes, *, now: datetime) -> None:
    """Raise CircleClosed, Blocked or RateLimited if this author may not post now.

    The circle's state is read again from the database, so a post cannot slip into a
    circle that closed after the caller loaded it.
    """
    if not circle.is_open or circle.salt is None:
        raise CircleClosed()
    # The circle's state and a block on the author, in one statement.
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM circles WHERE id = ? AND state = 'open'"
        " AND salt IS NOT NULL), EXISTS (SELECT 1 FROM anon_blocks WHERE circle_id = ?"
        " AND label_key = ? AND (expires_at IS NULL OR expires_at > ?))",
        (circle.id, circle.id, label_key, times.stored(now)),
    )
    assert row is not None
    if not row[0]:
        raise CircleClosed()
    if row[1]:
        raise Blocked()
    rows = await db.fetchall(
        f"SELECT created_at FROM anon_posts WHERE circle_id = ? AND label_key = ?"
        f" AND status IN ({_placeholders(_COUNTED)}) AND created_at > ? ORDER BY created_at",
        (circle.id, label_key, *_COUNTED, times.stored(now - RATE_WINDOW)),
    )
    if len(rows) >= RATE_LIMIT:
        # The post that must age out of the window before the count drops below the limit.
        oldest = times.read(rows[len(rows) - RATE_LIMIT]["created_at"])
        raise RateLimited(oldest + RATE_WINDOW, now=now)


def _clean_note(content_note: str | None) -> str | None:
    if content_note is None or not content_note.strip():
        return None
    return clean_text(content_note, limit=MAX_NOTE, what=N_("The content note"))


async def save_draft(
    db: Database,
    circle: Circle,
    label_key: bytes,
    *,
    text: str,
    content_note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    now: datetime,
) -> AnonPost:
    """Hold a post whose text has identifying details until its author confirms it.

    Runs the same checks as `submit`, so the author is not asked to confirm a post that
    would then be refused. The draft expires after DRAFT_TTL.
    """
    cleaned = clean_text(text)
    note = _clean_note(content_note)
    token = secrets.token_urlsafe(TOKEN_BYTES)

    async def store(db: Database) -> AnonPost:
        await check_can_post(db, circle, label_key, now=now)
        label = await label_for(db, circle.id, label_key, circle.language)
        row = await db.fetchone(
            "INSERT INTO anon_posts (token, circle_id, label, label_key, status, text,"
            " content_note, reply_to_message_id, quote_link, created_at)"
            " VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?) RETURNING *",
            (
                token,
                circle.id,
                label,
                label_key,
                cleaned,
                note,
                reply_to_message_id,
                quote_link,
                times.to_minute(now),
            ),
        )
        assert row is not None
        return _post(row)

    return await db.unit(store)


async def get_draft(db: Database, token: str, *, now: datetime) -> AnonPost | None:
    """The draft with this token, or None when there is none or it has expired."""
    return await _post_where(
        db,
        "token = ? AND status = 'draft' AND created_at > ?",
        (token, times.stored(now - DRAFT_TTL)),
    )


async def discard_draft(db: Database, token: str) -> bool:
    """Delete a draft, and ask for its text to be scrubbed from the WAL soon. True if there
    was one. Idempotent."""
    deleted = (
        await db.execute("DELETE FROM anon_posts WHERE token = ? AND status = 'draft'", (token,))
        > 0
    )
    if deleted:
        db.scrub_soon()
    return deleted


async def submit(
    db: Database,
    circle: Circle,
    label_key: bytes,
    *,
    text: str,
    content_note: str | None,
    reply_to_message_id: int | None,
    quote_link: str | None,
    now: datetime,
    delay_max_seconds: int,
    draft_token: str | None = None,
    rng: random.Random | None = None,
    held_by: str | None = None,
) -> AnonPost:
    """Store a post for review (review circles) or delivery; return it as stored.

    In the queue, a post waits a random time up to `delay_max_seconds`, so its timing does
    not point at whoever was just active, but never leaves before a post queued earlier in
    the same circle. A post held for review waits its own random time before it reaches
    the moderators' queue (`deliver_at` until then; see `due_reviews`), since a queue
    message's timestamp would otherwise be the moment it was written. With `draft_token`,
    that (unexpired) draft of this author becomes the post, keeping its token; NotFound if
    it is gone. Identifying details are not checked here: the caller does that first and
    saves a draft instead. `held_by` names a server rule that wants it reviewed: it is held
    for review in any circle.
    """
    cleaned = clean_text(text)
    note = _clean_note(content_note)
    delay = _random_delay(delay_max_seconds, rng)

    async def store(db: Database) -> AnonPost:
        await check_can_post(db, circle, label_key, now=now)
        label = await label_for(db, circle.id, label_key, circle.language)
        if circle.review or held_by is not None:
            status, deliver_at = "review", now + (delay or timedelta())
        else:
            status, deliver_at = "queued", await _deliver_at(db, circle.id, now, delay)
        values = (
            label,
            status,
            cleaned,
            note,
            reply_to_message_id,
            quote_link,
            times.to_minute(now),
            None if deliver_at is None else times.to_second(deliver_at),
            held_by,
        )
        if draft_token is None:
            row = await db.fetchone(
                "INSERT INTO anon_posts (label, status, text, content_note, reply_to_message_id,"
                " quote_link, created_at, deliver_at, held_by, token, circle_id, label_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (*values, secrets.token_urlsafe(TOKEN_BYTES), circle.id, label_key),
            )
        else:
            # created_at moves to the moment of submitting: the rate limit counts posts
            # from then, and the draft's own time only served its expiry.
            row = await db.fetchone(
                "UPDATE anon_posts SET label = ?, status = ?, text = ?, content_note = ?,"
                " reply_to_message_id = ?, quote_link = ?, created_at = ?, deliver_at = ?,"
                " held_by = ? WHERE token = ? AND circle_id = ? AND label_key = ?"
                " AND status = 'draft'"
                " AND created_at > ? RETURNING *",
                (*values, draft_token, circle.id, label_key, times.stored(now - DRAFT_TTL)),
            )
            if row is None:
                raise NotFound(N_("That draft has expired. Please write your post again."))
        assert row is not None
        return _post(row)

    return await db.unit(store)


def _random_delay(delay_max_seconds: int, rng: random.Random | None) -> timedelta | None:
    if not delay_max_seconds:
        return None
    source = rng if rng is not None else DELAY_RANDOM
    # At least a second: due times are stored to the second (rounded down), so a shorter
    # wait could be due at once and the post appear as its author submitted it.
    return timedelta(seconds=source.uniform(1, max(delay_max_seconds, 1)))


async def _deliver_at(
    db: Database, circle_id: int, now: datetime, delay: timedelta | None
) -> datetime:
    wanted = now + delay if delay is not None else now
    latest = await db.fetchval(
        "SELECT max(deliver_at) FROM anon_posts WHERE circle_id = ?"
        " AND status IN ('queued', 'sending')",
        (circle_id,),
    )
    if latest is not None:
        wanted = max(wanted, times.read(latest))
    return wanted


# --- review --------------------------------------------------------------------------------


async def pending_reviews(db: Database, guild_circle_ids: Sequence[int]) -> list[AnonPost]:
    """Posts waiting for a moderator in these circles, oldest first.

    Only those whose wait before reaching the queue is over: listing one earlier would give
    away when it was written.
    """
    if not guild_circle_ids:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM anon_posts WHERE status = 'review'"
        f" AND (deliver_at IS NULL OR queue_tries > 0)"
        f" AND circle_id IN ({_placeholders(guild_circle_ids)}) ORDER BY created_at, id",
        tuple(guild_circle_ids),
    )
    return [_post(r) for r in rows]


async def review_send_failed(db: Database, post_id: int, *, retry_at: datetime | None) -> bool:
    """A held post could not be sent to the moderators' queue channel: try again at
    `retry_at` (None: not by itself, e.g. the channel is gone). It stays held and listed in
    /mod queue meanwhile (its wait is over); `queue_tries` counts the failed sends, so the
    next try looks for it in the channel first. False if it is no longer held or already in
    the queue channel."""
    changed = await db.execute(
        "UPDATE anon_posts SET deliver_at = ?, queue_tries = queue_tries + 1"
        " WHERE id = ? AND status = 'review' AND review_message_id IS NULL",
        (None if retry_at is None else times.stored(retry_at), post_id),
    )
    return changed > 0


async def due_reviews(db: Database, *, now: datetime, limit: int = 50) -> list[AnonPost]:
    """Held posts due to be sent to the moderators' queue channel: their random wait is
    over, or an earlier send failed and its retry is due."""
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE status = 'review' AND review_message_id IS NULL"
        " AND deliver_at <= ? ORDER BY id LIMIT ?",
        (times.stored(now), limit),
    )
    return [_post(r) for r in rows]


async def mark_announced(db: Database, post_id: int, message_id: int | None) -> bool:
    """Record that a held post reached the queue (`message_id` None: only `/mod queue` lists
    it, as when no queue channel is set). False when it is no longer held or was already
    announced; idempotent."""
    changed = await db.execute(
        "UPDATE anon_posts SET deliver_at = NULL,"
        " review_message_id = coalesce(?, review_message_id)"
        " WHERE id = ? AND status = 'review' AND deliver_at IS NOT NULL",
        (message_id, post_id),
    )
    return changed > 0


async def approve(
    db: Database,
    token: str,
    *,
    now: datetime,
    delay_max_seconds: int = 0,
    rng: random.Random | None = None,
) -> AnonPost:
    """Send a post in review to the outbox: after a random wait up to `delay_max_seconds`,
    as any post, and behind any post of its circle that is still waiting to go out, so the
    approval's moment does not become the post's. NotFound if it is not in review: already
    decided by another moderator, deleted, or its circle closed."""
    delay = _random_delay(delay_max_seconds, rng)
    async with db.transaction():
        circle_id = await db.fetchval(
            "SELECT circle_id FROM anon_posts WHERE token = ? AND status = 'review'", (token,)
        )
        changed = 0
        if circle_id is not None:
            deliver_at = await _deliver_at(db, circle_id, now, delay)
            changed = await db.execute(
                "UPDATE anon_posts SET status = 'queued', deliver_at = ?, decided_at = ?"
                " WHERE token = ? AND status = 'review'",
                (times.to_second(deliver_at), times.to_minute(now), token),
            )
    return await _decided(db, token, changed)


async def reject(db: Database, token: str, *, now: datetime) -> AnonPost:
    """Reject a post in review and drop its text. NotFound if it is not in review."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'rejected', text = NULL, content_note = NULL,"
        " held_by = NULL, deliver_at = NULL, decided_at = ? WHERE token = ? AND status = 'review'",
        (times.to_minute(now), token),
    )
    if changed:
        db.scrub_soon()
    return await _decided(db, token, changed)


async def _decided(db: Database, token: str, changed: int) -> AnonPost:
    post = await get_post(db, token) if changed else None
    if post is None:
        raise NotFound(N_("That post was already handled or no longer exists."))
    return post


# --- outbox --------------------------------------------------------------------------------


async def due_posts(db: Database, *, now: datetime, limit: int = 50) -> list[AnonPost]:
    """Posts to deliver now, by circle and in the order they were submitted.

    Includes posts left in 'sending' by a crash or by a failure that may have reached
    Discord: the caller checks whether Discord already has them before sending again.
    """
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE status IN ('queued', 'sending')"
        " AND coalesce(deliver_at, '') <= ? ORDER BY circle_id, id LIMIT ?",
        (times.stored(now), limit),
    )
    return [_post(r) for r in rows]


@dataclass(frozen=True, slots=True)
class OutboxPass:
    """What one pass of the outbox works on, read at once (see `begin_pass`)."""

    reviews: list[AnonPost]  # held posts due to reach the moderators' queue
    posts: list[AnonPost]  # posts due to be delivered, by circle and in order
    claimed: frozenset[int]  # ids of posts `begin_pass` already marked 'sending'
    later: datetime | None  # the earliest due time after this pass's moment
    full: bool  # more was due than one pass takes


async def begin_pass(db: Database, *, now: datetime, limit: int = 50) -> OutboxPass:
    """One pass's due reviews and posts, and the claim (`mark_sending`) of the first waiting
    post of each circle, which the pass sends first: run it in one unit (`Database.unit`).
    A post left 'sending' (a crash, an uncertain failure) is not claimed again: the caller
    looks for it in Discord first, and the circle's next post waits for it."""
    reviews = await due_reviews(db, now=now, limit=limit)
    posts = await due_posts(db, now=now, limit=limit)
    claimed: set[int] = set()
    seen: set[int] = set()
    for post in posts:
        if post.circle_id in seen:
            continue
        seen.add(post.circle_id)
        if post.status == "queued" and await mark_sending(db, post.id):
            claimed.add(post.id)
    value = await db.fetchval(
        "SELECT min(deliver_at) FROM anon_posts WHERE deliver_at > ? AND"
        " (status IN ('queued', 'sending') OR (status = 'review' AND review_message_id IS NULL))",
        (times.stored(now),),
    )
    return OutboxPass(
        reviews,
        posts,
        frozenset(claimed),
        None if value is None else times.read(value),
        len(posts) >= limit or len(reviews) >= limit,
    )


async def next_delivery_at(db: Database) -> datetime | None:
    """When the earliest waiting post falls due (to its thread, or a held post to the
    queue channel after its wait or a failed send), or None when there is none."""
    value = await db.fetchval(
        "SELECT min(deliver_at) FROM anon_posts WHERE status IN ('queued', 'sending')"
        " OR (status = 'review' AND review_message_id IS NULL)"
    )
    return None if value is None else times.read(value)


async def mark_sending(db: Database, post_id: int) -> bool:
    """Claim a queued post for delivery. True if it was queued; False when it is already
    sending (idempotent) or no longer waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'sending' WHERE id = ? AND status = 'queued'", (post_id,)
    )
    return changed > 0


async def mark_posted(db: Database, post_id: int, message_id: int, *, now: datetime) -> bool:
    """Record delivery and drop the text. Idempotent: False if it was not waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'posted', message_id = ?, text = NULL,"
        " content_note = NULL, held_by = NULL, decided_at = coalesce(decided_at, ?)"
        " WHERE id = ? AND status IN ('queued', 'sending')",
        (message_id, times.to_minute(now), post_id),
    )
    if changed:
        db.scrub_soon()  # the text is still in the WAL's older frames until then
    return changed > 0


async def mark_failed(
    db: Database,
    post_id: int,
    *,
    retry_at: datetime,
    may_have_gone_out: bool = False,
) -> bool:
    """Put a post whose delivery failed for now back in the queue until `retry_at`.

    With `may_have_gone_out` (a server error: Discord may have posted it before failing)
    it stays 'sending', so the next try looks for it before sending again. Later posts of
    the same circle wait until `retry_at` too, so they do not overtake it. Idempotent:
    False if the post was not waiting.
    """
    async with db.transaction():
        row = await db.fetchone(
            "SELECT circle_id FROM anon_posts WHERE id = ? AND status IN ('queued', 'sending')",
            (post_id,),
        )
        if row is None:
            return False
        when = times.to_second(retry_at)
        await db.execute(
            "UPDATE anon_posts SET status = ?, deliver_at = max(coalesce(deliver_at, ?), ?)"
            " WHERE id = ?",
            ("sending" if may_have_gone_out else "queued", when, when, post_id),
        )
        await db.execute(
            "UPDATE anon_posts SET deliver_at = ? WHERE circle_id = ? AND id > ?"
            " AND status = 'queued' AND deliver_at < ?",
            (when, row["circle_id"], post_id, when),
        )
    return True


async def mark_undeliverable(db: Database, post_id: int, *, now: datetime) -> bool:
    """Give up on a post that can never be delivered (its thread is gone) and drop its
    text. It keeps its `deliver_at`, which marks it `undeliverable` rather than rejected.
    Idempotent: False if it was not waiting."""
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'rejected', text = NULL, content_note = NULL,"
        " held_by = NULL, decided_at = ? WHERE id = ? AND status IN ('queued', 'sending')",
        (times.to_minute(now), post_id),
    )
    if changed:
        db.scrub_soon()
    return changed > 0


# --- the author's own posts ----------------------------------------------------------------


async def posts_by(db: Database, circle_id: int, label_key: bytes) -> list[AnonPost]:
    """This author's posts in the circle (not drafts), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM anon_posts WHERE circle_id = ? AND label_key = ? AND status != 'draft'"
        " ORDER BY created_at DESC, id DESC",
        (circle_id, label_key),
    )
    return [_post(r) for r in rows]


async def delete_own(
    db: Database,
    circle_id: int,
    label_key: bytes,
    token: str,
    *,
    checked_not_sent: bool = False,
) -> AnonPost:
    """Delete one of the author's posts and return what it was, so the caller can delete
    its Discord message.

    A post in 'sending' is refused unless the caller holds the outbox and has made sure no
    message of it went out (`checked_not_sent`). NotFound unless the post belongs to this
    key in this circle; the message does not say whether someone else's post with that
    token exists.
    """
    post = await _post_where(
        db, "token = ? AND circle_id = ? AND label_key = ?", (token, circle_id, label_key)
    )
    if post is None:
        raise NotFound(N_("That isn't one of your posts, or it no longer exists."))
    if post.status == "sending" and not checked_not_sent:
        # Deleting now would leave the message that is on its way with no record to
        # delete it by.
        raise AnonError(N_("That post is being delivered right now. Please try again in a moment."))
    deleted = await db.execute(
        "DELETE FROM anon_posts WHERE id = ? AND (status != 'sending' OR ?)",
        (post.id, checked_not_sent),
    )
    if not deleted:  # delivery began between the read and the delete
        raise AnonError(N_("That post is being delivered right now. Please try again in a moment."))
    await db.scrub()
    return post


async def delete_own_posts(
    db: Database, circle_id: int, label_key: bytes, tokens: Sequence[str]
) -> list[AnonPost]:
    """Delete these posts of the author's at once ("all my posts in this circle"); return
    those deleted. Tokens that are not this key's posts in this circle, or are being
    delivered right now, are left alone. Idempotent.
    """
    deleted: list[AnonPost] = []
    async with db.transaction():
        for token in tokens:
            post = await _post_where(
                db,
                "token = ? AND circle_id = ? AND label_key = ? AND status != 'sending'",
                (token, circle_id, label_key),
            )
            if post is not None:
                await db.execute("DELETE FROM anon_posts WHERE id = ?", (post.id,))
                deleted.append(post)
    if deleted:
        await db.scrub()
    return deleted


# --- lookups -------------------------------------------------------------------------------


async def post_for_message(db: Database, message_id: int) -> AnonPost | None:
    """The anonymous post that this Discord message is, if any."""
    return await _post_where(db, "message_id = ?", (message_id,))


async def get_post(db: Database, token: str) -> AnonPost | None:
    return await _post_where(db, "token = ?", (token,))
