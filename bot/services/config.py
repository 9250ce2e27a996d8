"""Per-server configuration: moderator role, queue and mod-log channels, retention, delay."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database
from bot.i18n import N_, Phrase
from bot.services.errors import Refusal

RETENTION_RANGE = (1, 365)
DELAY_RANGE = (0, 600)
GATE_RANGE = (0, 3650)
# A post appears at a random moment up to this long after it is written, unless the server
# chooses otherwise; with no delay a post lands right after its author's other activity.
DEFAULT_DELAY_SECONDS = 120
# The notice each server that had no delay gets once, after the upgrade that turned it on.
DELAY_NOTICE = "delay_default"

# Settable columns, so a column name never comes from user input.
_CHANNEL_COLUMNS = {
    "queue": "queue_channel_id",
    "modlog": "modlog_channel_id",
    "escalation": "escalation_channel_id",
}


@dataclass(frozen=True, slots=True)
class GuildConfig:
    guild_id: int
    moderator_role_id: int | None = None
    queue_channel_id: int | None = None
    modlog_channel_id: int | None = None
    escalation_channel_id: int | None = None
    retention_days: int = 30
    delay_max_seconds: int = DEFAULT_DELAY_SECONDS
    ping_moderators: bool = False
    gate_account_days: int = 0
    gate_server_days: int = 0
    language: str | None = None  # None: the server's preferred locale decides

    @property
    def gated(self) -> bool:
        """True when the server has a join gate on (either age)."""
        return bool(self.gate_account_days or self.gate_server_days)


async def get_config(db: Database, guild_id: int) -> GuildConfig:
    """The server's configuration, or the defaults when nothing was set. Read-only."""
    row = await db.fetchone("SELECT * FROM guild_config WHERE guild_id = ?", (guild_id,))
    if row is None:
        return GuildConfig(guild_id)
    return GuildConfig(
        guild_id=row["guild_id"],
        moderator_role_id=row["moderator_role_id"],
        queue_channel_id=row["queue_channel_id"],
        modlog_channel_id=row["modlog_channel_id"],
        escalation_channel_id=row["escalation_channel_id"],
        retention_days=row["retention_days"],
        delay_max_seconds=row["delay_max_seconds"],
        ping_moderators=bool(row["ping_moderators"]),
        gate_account_days=row["gate_account_days"],
        gate_server_days=row["gate_server_days"],
        language=row["language"],
    )


async def _set(db: Database, guild_id: int, column: str, value: int | str | None) -> GuildConfig:
    await db.execute(
        f"INSERT INTO guild_config (guild_id, {column}) VALUES (?, ?) "
        f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}",
        (guild_id, value),
    )
    return await get_config(db, guild_id)


async def set_moderator_role(db: Database, guild_id: int, role_id: int | None) -> GuildConfig:
    """Idempotent."""
    return await _set(db, guild_id, "moderator_role_id", role_id)


async def set_channel(
    db: Database, guild_id: int, kind: str, channel_id: int | None
) -> GuildConfig:
    """Set the `queue`, `modlog` or `escalation` channel. Idempotent; KeyError on another kind."""
    return await _set(db, guild_id, _CHANNEL_COLUMNS[kind], channel_id)


class OutOfRange(Refusal, ValueError):
    """A setting outside the range it allows; `message` is shown to the user as it is."""


def _check_range(value: int, bounds: tuple[int, int], what: str) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise OutOfRange(
            N_("{what} must be between {low} and {high}."), what=Phrase(what), low=low, high=high
        )


async def set_retention(db: Database, guild_id: int, days: int) -> GuildConfig:
    """Idempotent; ValueError outside 1-365."""
    _check_range(days, RETENTION_RANGE, N_("Retention days"))
    return await _set(db, guild_id, "retention_days", days)


async def set_delay(db: Database, guild_id: int, max_seconds: int) -> GuildConfig:
    """Idempotent; ValueError outside 0-600."""
    _check_range(max_seconds, DELAY_RANGE, N_("The delay"))
    return await _set(db, guild_id, "delay_max_seconds", max_seconds)


async def set_join_gate(
    db: Database, guild_id: int, account_days: int, server_days: int
) -> GuildConfig:
    """Set both join-gate ages at once (0 = that age is not checked). Idempotent; OutOfRange
    outside 0-3650 days, and then neither is changed."""
    _check_range(account_days, GATE_RANGE, N_("The account age gate, in days,"))
    _check_range(server_days, GATE_RANGE, N_("The time-in-server gate, in days,"))
    await db.execute(
        "INSERT INTO guild_config (guild_id, gate_account_days, gate_server_days) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id) DO UPDATE SET gate_account_days = excluded.gate_account_days,"
        " gate_server_days = excluded.gate_server_days",
        (guild_id, account_days, server_days),
    )
    return await get_config(db, guild_id)


async def set_ping_moderators(db: Database, guild_id: int, enabled: bool) -> GuildConfig:
    """Idempotent."""
    return await _set(db, guild_id, "ping_moderators", int(enabled))


async def set_language(db: Database, guild_id: int, language: str | None) -> GuildConfig:
    """The server's language (a shipped one, checked by the caller). Idempotent."""
    return await _set(db, guild_id, "language", language)


def describe_delay(seconds: int) -> str:
    """When a post appears, in the words of an acknowledgement: "within about 2 minutes"."""
    if seconds <= 0:
        return "straight away"
    if seconds < 90:
        return f"within about {seconds} seconds"
    minutes = round(seconds / 60)
    return f"within about {minutes} minutes"


async def pending_notices(db: Database, kind: str) -> list[int]:
    """The servers still owed a notice of this kind, in id order. Read-only."""
    rows = await db.fetchall(
        "SELECT guild_id FROM pending_notices WHERE kind = ? ORDER BY guild_id", (kind,)
    )
    return [r["guild_id"] for r in rows]


async def clear_notice(db: Database, guild_id: int, kind: str) -> bool:
    """Mark a notice as given. True the first time; idempotent."""
    return (
        await db.execute(
            "DELETE FROM pending_notices WHERE guild_id = ? AND kind = ?", (guild_id, kind)
        )
        > 0
    )
