"""A clean departure: when the bot leaves a server, everything it holds about that server is
deleted after a grace period, so an accidental kick loses nothing and a removal leaves nothing.

The departure is a row (`guild_departures`), so a restart during the grace period keeps it;
coming back within the grace period deletes the row and keeps everything. The purge deletes
every row of the server: every table with a `guild_id` column, and every table with a
`circle_id` column for the server's circles (found from the schema, so a table added later is
covered without being listed here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.services import times

GRACE = timedelta(days=7)
_DEPARTURES = "guild_departures"


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge removed: the server's circles (whose keys in memory the caller forgets)
    and how many rows each table lost, cascades not counted."""

    guild_id: int
    circle_ids: list[int]
    rows: dict[str, int]


def owns_guild(guild_id: int, shard_count: int | None, shard_ids: Sequence[int] | None) -> bool:
    """True if this process's shards would hold the server (Discord's rule: (id >> 22) %
    shard count). Without sharding it holds every server."""
    if not shard_count or shard_ids is None:
        return True
    return (guild_id >> 22) % shard_count in set(shard_ids)


async def _columns(db: Database) -> dict[str, set[str]]:
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    )
    found: dict[str, set[str]] = {}
    for table in tables:
        name = table["name"]
        columns = await db.fetchall("SELECT name FROM pragma_table_info(?)", (name,))
        found[name] = {c["name"] for c in columns}
    return found


async def guilds_with_data(db: Database) -> set[int]:
    """Every server the database holds any row for. Read-only."""
    found: set[int] = set()
    for table, columns in (await _columns(db)).items():
        if "guild_id" in columns and table != _DEPARTURES:
            rows = await db.fetchall(f"SELECT DISTINCT guild_id FROM {table}")
            found.update(r["guild_id"] for r in rows)
    return found


async def schedule(db: Database, guild_id: int, *, now: datetime) -> datetime | None:
    """Schedule the server's purge for `now + GRACE`, if it has data. Returns when the purge
    falls due (an earlier schedule is kept, so a second notice never postpones it), or None
    when there is nothing to delete."""
    if guild_id not in await guilds_with_data(db):
        return None
    await db.execute(
        "INSERT INTO guild_departures (guild_id, left_at, purge_at) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id) DO NOTHING",
        (guild_id, times.stored(now), times.stored(now + GRACE)),
    )
    due = await db.fetchval("SELECT purge_at FROM guild_departures WHERE guild_id = ?", (guild_id,))
    return times.read(due)


async def cancel(db: Database, guild_id: int) -> bool:
    """The bot is back in the server: keep everything. True if a purge was pending."""
    return await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,)) > 0


async def pending(db: Database) -> dict[int, datetime]:
    """Every scheduled purge: server id to when it falls due. Read-only."""
    rows = await db.fetchall("SELECT guild_id, purge_at FROM guild_departures")
    return {r["guild_id"]: times.read(r["purge_at"]) for r in rows}


async def next_due(db: Database) -> datetime | None:
    """When the next purge falls due, if any. Read-only."""
    value = await db.fetchval("SELECT min(purge_at) FROM guild_departures")
    return times.read_optional(value)


async def due(db: Database, *, now: datetime) -> list[int]:
    """Servers whose grace period is over, in id order. Read-only."""
    rows = await db.fetchall(
        "SELECT guild_id FROM guild_departures WHERE purge_at <= ? ORDER BY guild_id",
        (times.stored(now),),
    )
    return [r["guild_id"] for r in rows]


async def purge(db: Database, guild_id: int) -> Purged:
    """Delete every row of the server, and its departure, in one transaction; then empty the
    WAL so the rows are gone from the files. Idempotent."""
    columns = await _columns(db)
    rows: dict[str, int] = {}
    async with db.transaction():
        # Checked at commit, when every row of the server is gone, whatever order tables
        # referring to each other are emptied in.
        await db.execute("PRAGMA defer_foreign_keys = ON")
        circle_rows = await db.fetchall("SELECT id FROM circles WHERE guild_id = ?", (guild_id,))
        circle_ids = [r["id"] for r in circle_rows]
        for table in _ordered(columns):
            if table == "circles":
                continue
            if "circle_id" in columns[table] and circle_ids:
                rows[table] = rows.get(table, 0) + await db.execute(
                    f"DELETE FROM {table} WHERE circle_id IN"
                    " (SELECT id FROM circles WHERE guild_id = ?)",
                    (guild_id,),
                )
            if "guild_id" in columns[table]:
                rows[table] = rows.get(table, 0) + await db.execute(
                    f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,)
                )
        rows["circles"] = await db.execute("DELETE FROM circles WHERE guild_id = ?", (guild_id,))
    await db.scrub()
    return Purged(guild_id, circle_ids, {t: n for t, n in rows.items() if n})


def _ordered(columns: dict[str, set[str]]) -> Iterable[str]:
    return sorted(t for t, cols in columns.items() if {"guild_id", "circle_id"} & cols)
