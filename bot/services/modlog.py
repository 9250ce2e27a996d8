"""The moderation log: every moderator or keeper action, stored and later posted.

Named actions keep the member's id; actions on anonymous posts keep only the label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db import Database
from bot.services import times


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    guild_id: int
    moderator_id: int | None
    action: str
    target_user_id: int | None
    target_label: str | None
    details: str
    created_at: datetime


async def record(
    db: Database,
    *,
    guild_id: int,
    moderator_id: int | None,
    action: str,
    now: datetime,
    target_user_id: int | None = None,
    target_label: str | None = None,
    details: str = "",
) -> LogEntry:
    """Store one action. Not idempotent: each call is a new entry."""
    entry_id = await db.insert(
        "INSERT INTO mod_log (guild_id, moderator_id, action, target_user_id, target_label,"
        " details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild_id, moderator_id, action, target_user_id, target_label, details, times.stored(now)),
    )
    return LogEntry(
        entry_id, guild_id, moderator_id, action, target_user_id, target_label, details, now
    )


async def recent(db: Database, guild_id: int, limit: int = 20) -> list[LogEntry]:
    """The newest entries first."""
    rows = await db.fetchall(
        "SELECT * FROM mod_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit)
    )
    return [
        LogEntry(
            r["id"],
            r["guild_id"],
            r["moderator_id"],
            r["action"],
            r["target_user_id"],
            r["target_label"],
            r["details"],
            times.read(r["created_at"]),
        )
        for r in rows
    ]
