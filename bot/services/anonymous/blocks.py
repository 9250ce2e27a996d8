"""What moderators do to anonymous posts and their authors: removal and blocks (by label key)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db import Database
from bot.i18n import N_
from bot.services import times
from bot.services.anonymous.posts import (
    AnonBlock,
    AnonPost,
    _block,
    _placeholders,
    approve,
    get_post,
    reject,
)
from bot.services.anonymous.rules import DRAFT_TTL, AnonError, NotFound

# --- moderation ----------------------------------------------------------------------------


async def mark_removed(db: Database, post_id: int, *, now: datetime) -> bool:
    """Mark a post removed by a moderator and drop its text.

    The label and key stay, so the author can still be blocked and sees the post as
    removed in their list. Idempotent: False if it was already removed or is a draft.
    """
    changed = await db.execute(
        "UPDATE anon_posts SET status = 'removed', text = NULL, content_note = NULL,"
        " held_by = NULL, decided_at = ? WHERE id = ? AND status NOT IN ('removed', 'draft')",
        (times.to_minute(now), post_id),
    )
    if changed:
        await db.scrub()
    return changed > 0


async def block(
    db: Database,
    circle_id: int,
    label_key: bytes,
    label: str,
    *,
    reason: str,
    now: datetime,
    expires_at: datetime | None,
) -> int:
    """Block an author (by key) from posting anonymously in one circle; return the block id.

    An expired block is replaced; an active one raises AnonError.
    """
    async with db.atomic():
        await db.execute(
            "DELETE FROM anon_blocks WHERE circle_id = ? AND label_key = ?"
            " AND expires_at IS NOT NULL AND expires_at <= ?",
            (circle_id, label_key, times.stored(now)),
        )
        try:
            return await db.insert(
                "INSERT INTO anon_blocks (circle_id, label_key, label, reason, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    circle_id,
                    label_key,
                    label,
                    reason.strip(),
                    times.to_minute(now),
                    None if expires_at is None else times.to_minute(expires_at),
                ),
            )
        except sqlite3.IntegrityError:
            raise AnonError(N_("That author is already blocked in this circle.")) from None


@dataclass(frozen=True, slots=True)
class HeldDecision:
    """What a moderator's decision on a held post did."""

    post: AnonPost
    decided: bool  # False: another moderator decided on the post first (it was blocked anyway)
    block_id: int | None = None


async def decide_held(
    db: Database,
    token: str,
    decision: str,
    *,
    now: datetime,
    delay_max_seconds: int,
    block_reason: str,
) -> HeldDecision:
    """Approve, reject, or block the author of and reject, a post held for review.

    Approve and reject raise NotFound when another moderator decided first. Block puts the
    block and the rejection in one transaction, so no approval can land between them; when
    the post was decided already, the author is blocked all the same (`decided` is False).
    """
    if decision == "approve":
        # Through the same random delay as any post: the approval's moment is visible.
        post = await approve(db, token, now=now, delay_max_seconds=delay_max_seconds)
        return HeldDecision(post, decided=True)
    if decision == "reject":
        return HeldDecision(await reject(db, token, now=now), decided=True)
    async with db.transaction():
        held = await get_post(db, token)
        if held is None:
            raise NotFound(N_("That post was already handled or no longer exists."))
        block_id = await block(
            db,
            held.circle_id,
            held.label_key,
            held.label,
            reason=block_reason,
            now=now,
            expires_at=None,
        )
        try:
            return HeldDecision(await reject(db, token, now=now), True, block_id)
        except NotFound:
            return HeldDecision(held, False, block_id)


async def unblock(db: Database, block_id: int, circle_ids: Sequence[int]) -> bool:
    """Lift a block, only if it belongs to one of `circle_ids` (the moderator's server).
    True if it was lifted."""
    if not circle_ids:
        return False
    changed = await db.execute(
        f"DELETE FROM anon_blocks WHERE id = ? AND circle_id IN ({_placeholders(circle_ids)})",
        (block_id, *circle_ids),
    )
    return changed > 0


async def blocks(db: Database, circle_ids: Sequence[int], *, now: datetime) -> list[AnonBlock]:
    """Active blocks in these circles, oldest first."""
    if not circle_ids:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM anon_blocks WHERE circle_id IN ({_placeholders(circle_ids)})"
        " AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, id",
        (*circle_ids, times.stored(now)),
    )
    return [_block(r) for r in rows]


async def purge_expired(db: Database, *, now: datetime) -> int:
    """Delete expired drafts and blocks; return how many rows went."""
    async with db.transaction():
        drafts = await db.execute(
            "DELETE FROM anon_posts WHERE status = 'draft' AND created_at <= ?",
            (times.stored(now - DRAFT_TTL),),
        )
        expired = await db.execute(
            "DELETE FROM anon_blocks WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (times.stored(now),),
        )
    if drafts:
        db.scrub_soon()
    return drafts + expired
