"""Member safety and privacy: server resources, what the bot holds about a member (export and
delete), retention of moderation records, and backups of the database.

`USER_ID_COLUMNS` lists every column that can hold a member's id and what deleting a member's
data does to it. A test finds every such column in the schema and fails if one is missing here,
so a new table cannot quietly keep ids after a member asked for their data to be deleted.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from bot.db import Database
from bot.decks import Resource, ResourceError, parse_resource
from bot.files import PRIVATE_FILE, create_private_file, make_private_folders
from bot.i18n import N_
from bot.services import times
from bot.services.errors import Refusal

MAX_SERVER_RESOURCES = 15

# What `delete_member_data` does to each column that can hold a member id:
# "delete" removes the row; "forget" keeps the row (a moderation record) with the id cleared.
Treatment = Literal["delete", "forget"]
USER_ID_COLUMNS: dict[tuple[str, str], Treatment] = {
    ("memberships", "user_id"): "delete",
    ("circle_keepers", "user_id"): "delete",
    ("round_turns", "user_id"): "delete",
    ("circle_admissions", "user_id"): "delete",
    ("mod_log", "moderator_id"): "forget",
    ("mod_log", "target_user_id"): "forget",
    ("mod_records", "moderator_id"): "forget",
    ("mod_records", "target_user_id"): "forget",
    ("reports", "contact_user_id"): "forget",
}


# How each of those tables' rows are limited to one server.
_IN_CIRCLE_OF_GUILD = "circle_id IN (SELECT id FROM circles WHERE guild_id = ?)"
_IN_GUILD = {
    "memberships": _IN_CIRCLE_OF_GUILD,
    "circle_keepers": _IN_CIRCLE_OF_GUILD,
    "round_turns": _IN_CIRCLE_OF_GUILD,
    "circle_admissions": _IN_CIRCLE_OF_GUILD,
    "mod_log": "guild_id = ?",
    "mod_records": "guild_id = ?",
    "reports": "guild_id = ?",
}


class SafetyError(Refusal):
    """A refusal of a request made in Discord, answered in the reader's language."""


class BackupError(Exception):
    """A backup that cannot be made, told to whoever runs `python -m bot backup` (never
    shown in Discord, so in English)."""


# --- server resources --------------------------------------------------------------------


async def add_resource(
    db: Database, guild_id: int, data: Mapping[str, object], *, now: datetime
) -> Resource:
    """Validate and store a server's own resource. SafetyError names the bad field."""
    try:
        resource = parse_resource(data, place="the resource")
    except ResourceError as error:
        raise SafetyError(str(error)) from None
    count = await db.fetchval(
        "SELECT count(*) FROM guild_resources WHERE guild_id = ?", (guild_id,)
    )
    if count >= MAX_SERVER_RESOURCES:
        raise SafetyError(
            N_("This server already has {count} resources; remove one first."),
            count=MAX_SERVER_RESOURCES,
        )
    await db.insert(
        "INSERT INTO guild_resources (guild_id, name, contact, url, region, confidentiality,"
        " police, police_cases, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guild_id,
            resource.name,
            resource.contact,
            resource.url,
            resource.region,
            resource.confidentiality,
            resource.police,
            resource.police_cases,
            times.stored(now),
        ),
    )
    return resource


async def server_resources(db: Database, guild_id: int) -> list[tuple[int, Resource]]:
    """The server's own resources with their ids, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM guild_resources WHERE guild_id = ? ORDER BY id", (guild_id,)
    )
    return [
        (
            r["id"],
            Resource(
                name=r["name"],
                contact=r["contact"],
                url=r["url"],
                region=r["region"],
                confidentiality=r["confidentiality"],
                checked=None,
                police=r["police"],
                police_cases=r["police_cases"],
            ),
        )
        for r in rows
    ]


async def remove_resource(db: Database, guild_id: int, resource_id: int) -> bool:
    """True if the server had that resource."""
    removed = await db.execute(
        "DELETE FROM guild_resources WHERE guild_id = ? AND id = ?", (guild_id, resource_id)
    )
    return removed > 0


# --- what the bot holds about a member ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberData:
    """Everything linked to one member, for `/mydata export`."""

    user_id: int
    guild_id: int
    memberships: list[dict[str, Any]] = field(default_factory=list)
    keeper_of: list[str] = field(default_factory=list)
    admitted_past_join_gate: list[str] = field(default_factory=list)
    removed_from: list[str] = field(default_factory=list)
    moderation_records: list[dict[str, Any]] = field(default_factory=list)
    private_notes_about_you: int = 0
    mod_log_entries_about_you: int = 0
    reports_you_agreed_to_be_contacted_about: int = 0
    actions_taken_as_moderator: int = 0
    anonymous_posts: list[dict[str, Any]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.has_named_data() or self.anonymous_posts)

    def has_named_data(self) -> bool:
        """True if anything stored by the member's id is held (what `/mydata delete` removes)."""
        return bool(
            self.memberships
            or self.keeper_of
            or self.admitted_past_join_gate
            or self.removed_from
            or self.moderation_records
            or self.private_notes_about_you
            or self.mod_log_entries_about_you
            or self.reports_you_agreed_to_be_contacted_about
            or self.actions_taken_as_moderator
        )

    def anonymous_posts_per_circle(self) -> dict[str, int]:
        """How many anonymous posts the member has in each open circle, by circle name."""
        counts: dict[str, int] = {}
        for post in self.anonymous_posts:
            counts[post["circle"]] = counts.get(post["circle"], 0) + 1
        return counts

    def as_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["note"] = (
            "This is everything Circlekeeper stores that is linked to you in this server. "
            "Your anonymous posts are listed only for circles that are still open; they were "
            "found by recomputing your anonymous key, not by a stored link."
        )
        return data


async def collect_member_data(
    db: Database,
    guild_id: int,
    user_id: int,
    label_keys: Mapping[int, bytes],
    *,
    removal_key: bytes | None = None,
) -> MemberData:
    """Gather what the bot holds about a member in a server. Read-only.

    `label_keys` maps each open circle of the server to the member's label key there (the
    caller computes them; strict circles after a restart simply have other keys);
    `removal_key` finds the circles a keeper removed them from (`circles.removal_key`).
    """
    memberships = await db.fetchall(
        "SELECT c.name, c.state, m.agreed_at FROM memberships m JOIN circles c"
        " ON c.id = m.circle_id WHERE m.user_id = ? AND c.guild_id = ? ORDER BY c.id",
        (user_id, guild_id),
    )
    keeper_of = await db.fetchall(
        "SELECT c.name FROM circle_keepers k JOIN circles c ON c.id = k.circle_id"
        " WHERE k.user_id = ? AND c.guild_id = ? ORDER BY c.id",
        (user_id, guild_id),
    )
    admitted = await db.fetchall(
        "SELECT c.name FROM circle_admissions a JOIN circles c ON c.id = a.circle_id"
        " WHERE a.user_id = ? AND c.guild_id = ? ORDER BY c.id",
        (user_id, guild_id),
    )
    removed = await db.fetchall(
        "SELECT c.name FROM circle_removals r JOIN circles c ON c.id = r.circle_id"
        " WHERE r.member_key = ? AND c.guild_id = ? ORDER BY c.id",
        (removal_key or b"", guild_id),
    )
    records = await db.fetchall(
        "SELECT kind, text, minutes, created_at FROM mod_records WHERE guild_id = ?"
        " AND target_user_id = ? AND kind IN ('warning', 'timeout') ORDER BY id",
        (guild_id, user_id),
    )
    notes = await db.fetchval(
        "SELECT count(*) FROM mod_records WHERE guild_id = ? AND target_user_id = ?"
        " AND kind = 'note'",
        (guild_id, user_id),
    )
    logged_about = await db.fetchval(
        "SELECT count(*) FROM mod_log WHERE guild_id = ? AND target_user_id = ?",
        (guild_id, user_id),
    )
    contact_reports = await db.fetchval(
        "SELECT count(*) FROM reports WHERE guild_id = ? AND contact_user_id = ?",
        (guild_id, user_id),
    )
    as_moderator = await db.fetchval(
        "SELECT count(*) FROM mod_log WHERE guild_id = ? AND moderator_id = ?",
        (guild_id, user_id),
    )
    posts: list[dict[str, Any]] = []
    for circle_id, label_key in label_keys.items():
        rows = await db.fetchall(
            "SELECT p.label, p.status, p.created_at, p.message_id, c.name FROM anon_posts p"
            " JOIN circles c ON c.id = p.circle_id WHERE p.circle_id = ? AND p.label_key = ?"
            " AND p.status != 'draft' ORDER BY p.id",
            (circle_id, label_key),
        )
        posts.extend(
            {
                "circle": r["name"],
                "label": r["label"],
                "status": r["status"],
                "created_at": r["created_at"],
                "message_id": r["message_id"],
            }
            for r in rows
        )
    return MemberData(
        user_id=user_id,
        guild_id=guild_id,
        memberships=[
            {"circle": r["name"], "circle_state": r["state"], "agreed_at": r["agreed_at"]}
            for r in memberships
        ],
        keeper_of=[r["name"] for r in keeper_of],
        admitted_past_join_gate=[r["name"] for r in admitted],
        removed_from=[r["name"] for r in removed],
        moderation_records=[
            {"kind": r["kind"], "reason": r["text"], "minutes": r["minutes"], "at": r["created_at"]}
            for r in records
        ],
        private_notes_about_you=int(notes or 0),
        mod_log_entries_about_you=int(logged_about or 0),
        reports_you_agreed_to_be_contacted_about=int(contact_reports or 0),
        actions_taken_as_moderator=int(as_moderator or 0),
        anonymous_posts=posts,
    )


async def delete_member_data(
    db: Database, guild_id: int | None, user_id: int, *, dry_run: bool = False
) -> dict[tuple[str, str], int]:
    """Remove every named row in this server (every server when `guild_id` is None) linked
    to the member; return how many rows each (table, column) of `USER_ID_COLUMNS` changed.

    Rows in `USER_ID_COLUMNS` marked "delete" go; moderation records stay with the id
    cleared (the moderator's own text is kept). Anonymous rows are never touched: nothing in
    the records links them to the member, and removing them in the same moment would itself
    be that link in two copies of the files. The member removes them with `/anon delete`.
    Other servers' rows are left alone: a member deletes their data server by server, as they
    export it. The WAL is emptied afterwards, so the deleted rows are gone from the files.
    `dry_run` counts what would change and changes nothing. Idempotent.
    """
    changed: dict[tuple[str, str], int] = {}
    async with db.transaction():
        for (table, column), treatment in USER_ID_COLUMNS.items():
            where = f"{column} = ?"
            params: tuple[int, ...] = (user_id,)
            if guild_id is not None:
                where += f" AND {_IN_GUILD[table]}"
                params = (user_id, guild_id)
            if dry_run:
                count = await db.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", params)
            elif treatment == "delete":
                count = await db.execute(f"DELETE FROM {table} WHERE {where}", params)
            else:
                count = await db.execute(
                    f"UPDATE {table} SET {column} = NULL WHERE {where}", params
                )
            changed[(table, column)] = int(count or 0)
    if not dry_run:
        await db.scrub()
    return changed


# --- retention ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expired:
    """What a retention pass removed. The caller deletes `queue_messages` from Discord:
    (channel id, or None for the server's queue channel, message id)."""

    guild_id: int
    queue_messages: list[tuple[int | None, int]]
    rows: int


async def purge_expired_records(
    db: Database, guild_id: int, retention_days: int, *, now: datetime
) -> Expired:
    """Delete this server's review items, decided or removed post records, reports and mod-log
    rows older than its retention window. Published anonymous posts are kept until their circle
    closes or a moderator removes them. Idempotent.
    """
    cutoff = times.stored(now - timedelta(days=retention_days))
    circle_filter = "circle_id IN (SELECT id FROM circles WHERE guild_id = ?)"
    rows = await db.fetchall(
        f"SELECT review_message_id FROM anon_posts WHERE {circle_filter}"
        " AND status IN ('review', 'rejected', 'removed') AND created_at < ?"
        " AND review_message_id IS NOT NULL",
        (guild_id, cutoff),
    )
    queue_messages: list[tuple[int | None, int]] = [(None, r["review_message_id"]) for r in rows]
    reports = await db.fetchall(
        "SELECT queue_channel_id, queue_message_id FROM reports WHERE guild_id = ?"
        " AND created_at < ? AND queue_message_id IS NOT NULL",
        (guild_id, cutoff),
    )
    queue_messages += [(r["queue_channel_id"], r["queue_message_id"]) for r in reports]
    async with db.transaction():
        count = await db.execute(
            f"DELETE FROM anon_posts WHERE {circle_filter}"
            " AND status IN ('review', 'rejected', 'removed') AND created_at < ?",
            (guild_id, cutoff),
        )
        count += await db.execute(
            "DELETE FROM reports WHERE guild_id = ? AND created_at < ?", (guild_id, cutoff)
        )
        count += await db.execute(
            "DELETE FROM mod_log WHERE guild_id = ? AND created_at < ?", (guild_id, cutoff)
        )
    if count:
        db.scrub_soon()
    return Expired(guild_id, queue_messages, count)


async def guilds_with_data(db: Database) -> list[tuple[int, int]]:
    """(guild id, retention days) for every server the bot holds records for."""
    rows = await db.fetchall(
        "SELECT g.guild_id, coalesce(c.retention_days, 30) AS days FROM"
        " (SELECT guild_id FROM circles UNION SELECT guild_id FROM mod_log) g"
        " LEFT JOIN guild_config c ON c.guild_id = g.guild_id"
    )
    return [(r["guild_id"], r["days"]) for r in rows]


# --- backups -----------------------------------------------------------------------------


def default_backup_path(database: Path, now: datetime) -> Path:
    return database.parent / "backups" / f"{database.stem}-{now:%Y%m%d-%H%M%S}.db"


def backup_database(source: Path, target: Path) -> Path:
    """Copy the live database consistently (SQLite's online backup) to `target`.

    Writes to a temporary file beside `target` and renames it, so a failed backup never leaves
    a half-written file. The source is opened read-only and never changed. The copy is 0600
    and a folder made for it 0700: it holds what the database held when it was taken. Raises
    BackupError with a plain message when the source is missing or the target cannot be
    written.
    """
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    try:
        make_private_folders(target.parent)
    except OSError as error:
        raise BackupError(f"Cannot create {target.parent}: {error.strerror}.") from None
    if target.resolve() == source.resolve():
        raise BackupError("The backup must go to a different file from the live database.")
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        create_private_file(partial)
        partial.chmod(PRIVATE_FILE)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dest = sqlite3.connect(partial)
            try:
                src.backup(dest)
            finally:
                dest.close()
        finally:
            src.close()
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Cannot write the backup to {target}: {error}.") from None
    return target


def table_counts(path: Path, tables: Sequence[str]) -> dict[str, int]:
    """Row counts per table, for checking a backup."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()
