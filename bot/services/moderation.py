"""Moderation records: members' reports, their rate limit, and named records about members.

Reports keep no reporter id unless the reporter agreed to be contacted. The rate limit on
reports lives in memory only (`ReportLimits`), keyed by an HMAC of the server and reporter id
under a random key made when the process starts: a stored row per report, written with it,
would let someone holding the database group reports by who sent them, and one report whose
reporter agreed to be contacted would then name them all.

Warnings, timeouts and private notes are named: they keep the member's id.

All times are timezone-aware UTC datetimes passed in by the caller, stored as fixed-width ISO
strings so that string order is time order.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.i18n import N_, Phrase
from bot.services import times
from bot.services.errors import Refusal

REPORT_LIMIT = 5
REPORT_WINDOW = timedelta(hours=1)
SNAPSHOT_CHARS = 300
MAX_REASON = 1000
MAX_NOTE = 1000
BLOCK_DAYS = (1, 365)
TIMEOUT_MINUTES = (1, 40320)  # Discord allows timeouts of up to 28 days
SLOWMODE_SECONDS = (0, 21600)
TOKEN_BYTES = 16

REPORT_STATUSES = ("removed", "dismissed", "handled")
RECORD_KINDS = ("warning", "timeout", "note")


class ModerationError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class ReportLimited(ModerationError):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "You have sent several reports in the last hour, which is the most I accept for "
                "now. If something is urgent, please contact a moderator directly."
            )
        )


# --- pure helpers --------------------------------------------------------------------------


def clean_text(text: str, *, what: str, limit: int) -> str:
    """`text` stripped, or ModerationError when it is empty or longer than `limit`."""
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise ModerationError(N_("{what} is empty. Please write a few words."), what=Phrase(what))
    if len(cleaned) > limit:
        raise ModerationError(
            N_("{what} is {count} characters long; the limit is {limit}. Please shorten it."),
            what=Phrase(what),
            count=len(cleaned),
            limit=limit,
        )
    return cleaned


def snapshot(text: str) -> str:
    """The start of a reported message, as much as the queue shows of it."""
    cleaned = text.strip()
    if not cleaned:
        return "(no text: attachments or embeds only)"
    if len(cleaned) <= SNAPSHOT_CHARS:
        return cleaned
    return cleaned[: SNAPSHOT_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message named by a moderator: from a link (server, channel, message) or a bare id."""

    message_id: int
    guild_id: int | None = None
    channel_id: int | None = None


_LINK = re.compile(
    r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>\d{1,20})/(?P<channel>\d{1,20})/(?P<message>\d{1,20})/?"
)
_ID = re.compile(r"\d{15,20}")


def parse_message_ref(text: str) -> MessageRef | None:
    """A message link or id, or None when `text` is neither."""
    cleaned = text.strip().strip("<>")
    match = _LINK.fullmatch(cleaned)
    if match is not None:
        return MessageRef(
            message_id=int(match["message"]),
            guild_id=int(match["guild"]),
            channel_id=int(match["channel"]),
        )
    if _ID.fullmatch(cleaned):
        return MessageRef(message_id=int(cleaned))
    return None


def block_expiry(now: datetime, days: int | None) -> datetime | None:
    """When a block of `days` days ends (None: until lifted). ModerationError outside 1-365."""
    if days is None:
        return None
    low, high = BLOCK_DAYS
    if not low <= days <= high:
        raise ModerationError(
            N_("A block lasts between {low} and {high} days."), low=low, high=high
        )
    return now + timedelta(days=days)


def timeout_refusal(
    *,
    bot_can_moderate: bool,
    bot_top_position: int,
    target_top_position: int,
    target_is_owner: bool,
    target_is_admin: bool,
    target_is_bot: bool,
    target_is_self: bool,
) -> str | None:
    """Why the bot cannot time this member out, in words a moderator can act on; else None.

    Mirrors Discord's own rules, so the moderator gets the reason rather than a bare
    "Missing Permissions".
    """
    if target_is_self:
        return N_("You can't time yourself out.")
    if target_is_bot:
        return N_("Bots can't be timed out.")
    if target_is_owner:
        return N_("The server owner can't be timed out.")
    if target_is_admin:
        return N_("Members with the Administrator permission can't be timed out.")
    if not bot_can_moderate:
        return N_(
            "I don't have the Timeout Members permission. A server admin can grant it to my "
            "role in Server Settings → Roles, then try again."
        )
    if target_top_position >= bot_top_position:
        return N_(
            "Their highest role is at or above mine, so Discord won't let me time them out. "
            "A server admin can move my role above theirs in Server Settings → Roles."
        )
    return None


# --- reports -------------------------------------------------------------------------------


class ReportLimits:
    """How many reports each person sent in the last REPORT_WINDOW, in memory only.

    Kept by HMAC(a random key made for this process, server id and reporter id), never by id,
    and never written to the database. The honest cost: a restart forgets the counts, so
    someone could send up to REPORT_LIMIT more reports after each restart. Not safe across
    threads; each method runs without awaiting, so within one event loop it is atomic.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._sent: dict[bytes, deque[datetime]] = {}

    def key(self, guild_id: int, user_id: int) -> bytes:
        """The reporter's key in this server, for this process only."""
        message = f"reports:{guild_id}:{user_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def take(self, reporter: bytes, now: datetime) -> None:
        """Count one report; ReportLimited (counting nothing) after REPORT_LIMIT in the window."""
        self.purge(now)
        sent = self._sent.setdefault(reporter, deque())
        if len(sent) >= REPORT_LIMIT:
            raise ReportLimited()
        sent.append(now)

    def give_back(self, reporter: bytes, when: datetime) -> None:
        """Uncount a report taken at `when` that never reached the moderators. Idempotent."""
        sent = self._sent.get(reporter)
        if sent is not None and when in sent:
            sent.remove(when)
            if not sent:
                del self._sent[reporter]

    def purge(self, now: datetime) -> int:
        """Forget reports older than the window; return how many were forgotten."""
        cutoff = now - REPORT_WINDOW
        gone = 0
        for reporter in list(self._sent):
            sent = self._sent[reporter]
            while sent and sent[0] <= cutoff:
                sent.popleft()
                gone += 1
            if not sent:
                del self._sent[reporter]
        return gone

    def counted(self) -> int:
        """How many reports are counted now, over everyone."""
        return sum(len(sent) for sent in self._sent.values())


@dataclass(frozen=True, slots=True)
class Report:
    """A member's report. `snapshot` and `reason` are None once it is decided."""

    id: int
    token: str
    guild_id: int
    channel_id: int
    message_id: int
    anonymous: bool
    escalated: bool
    snapshot: str | None
    reason: str | None
    contact_user_id: int | None
    queue_channel_id: int | None
    queue_message_id: int | None
    status: str
    created_at: datetime
    decided_at: datetime | None

    @property
    def jump_url(self) -> str:
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_id}"


@dataclass(frozen=True, slots=True)
class FiledReport:
    """A new report and what it counted against its reporter's limit, kept only in memory so
    a report that could not be delivered can be withdrawn."""

    report: Report
    reporter: bytes
    counted_at: datetime


def _report(r: sqlite3.Row) -> Report:
    return Report(
        id=r["id"],
        token=r["token"],
        guild_id=r["guild_id"],
        channel_id=r["channel_id"],
        message_id=r["message_id"],
        anonymous=bool(r["anonymous"]),
        escalated=bool(r["escalated"]),
        snapshot=r["snapshot"],
        reason=r["reason"],
        contact_user_id=r["contact_user_id"],
        queue_channel_id=r["queue_channel_id"],
        queue_message_id=r["queue_message_id"],
        status=r["status"],
        created_at=times.read(r["created_at"]),
        decided_at=times.read_optional(r["decided_at"]),
    )


async def file_report(
    db: Database,
    *,
    guild_id: int,
    channel_id: int,
    message_id: int,
    anonymous: bool,
    escalated: bool,
    snapshot_text: str,
    reason: str,
    contact_user_id: int | None,
    limits: ReportLimits,
    reporter: bytes,
    now: datetime,
) -> FiledReport:
    """Store a report and count it against the reporter's limit.

    `reporter` is `limits.key(...)`; `contact_user_id` is set only when the reporter agreed
    to be contacted. Raises ReportLimited after REPORT_LIMIT reports in REPORT_WINDOW, and
    ModerationError for an empty or too long reason; neither stores or counts anything.
    """
    cleaned = clean_text(reason, what=N_("The reason"), limit=MAX_REASON)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    limits.take(reporter, now)
    try:
        await db.insert(
            "INSERT INTO reports (token, guild_id, channel_id, message_id, anonymous, escalated,"
            " snapshot, reason, contact_user_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token,
                guild_id,
                channel_id,
                message_id,
                int(anonymous),
                int(escalated),
                snapshot(snapshot_text),
                cleaned,
                contact_user_id,
                times.stored(now),
            ),
        )
    except BaseException:
        limits.give_back(reporter, now)
        raise
    report = await get_report(db, token)
    assert report is not None
    return FiledReport(report, reporter, now)


async def withdraw_report(db: Database, limits: ReportLimits, filed: FiledReport) -> None:
    """Undo `file_report` for a report that never reached the moderators. Idempotent."""
    if await db.execute("DELETE FROM reports WHERE id = ?", (filed.report.id,)):
        db.scrub_soon()  # the reported text and the reason
    limits.give_back(filed.reporter, filed.counted_at)


async def set_report_message(
    db: Database, report_id: int, channel_id: int, message_id: int
) -> None:
    """Remember where the report was posted for moderators. Idempotent."""
    await db.execute(
        "UPDATE reports SET queue_channel_id = ?, queue_message_id = ? WHERE id = ?",
        (channel_id, message_id, report_id),
    )


async def get_report(db: Database, token: str) -> Report | None:
    row = await db.fetchone("SELECT * FROM reports WHERE token = ?", (token,))
    return _report(row) if row else None


async def open_reports(db: Database, guild_id: int) -> list[Report]:
    """The server's undecided reports, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM reports WHERE guild_id = ? AND status = 'open' ORDER BY created_at, id",
        (guild_id,),
    )
    return [_report(r) for r in rows]


async def decide_report(db: Database, token: str, status: str, *, now: datetime) -> Report:
    """Close an open report as removed, dismissed or handled, and drop its text.

    ModerationError if it is not open (another moderator was quicker) or does not exist.
    """
    if status not in REPORT_STATUSES:
        raise ValueError(f"unknown report status {status!r}")
    changed = await db.execute(
        "UPDATE reports SET status = ?, snapshot = NULL, reason = NULL, decided_at = ?"
        " WHERE token = ? AND status = 'open'",
        (status, times.stored(now), token),
    )
    if changed:
        db.scrub_soon()  # the reported text and the reason
    report = await get_report(db, token) if changed else None
    if report is None:
        raise ModerationError(N_("That report was already handled or no longer exists."))
    return report


async def purge_old_reports(db: Database, *, now: datetime) -> list[Report]:
    """Delete reports older than their server's retention window; return the deleted open
    ones, whose queue messages still show their text, so the caller can delete those."""
    rows = await db.fetchall(
        "SELECT DISTINCT r.guild_id, coalesce(c.retention_days, 30) AS days FROM reports r"
        " LEFT JOIN guild_config c ON c.guild_id = r.guild_id"
    )
    still_open: list[Report] = []
    for row in rows:
        cutoff = times.stored(now - timedelta(days=row["days"]))
        async with db.transaction():
            found = await db.fetchall(
                "SELECT * FROM reports WHERE guild_id = ? AND created_at < ? AND status = 'open'",
                (row["guild_id"], cutoff),
            )
            if await db.execute(
                "DELETE FROM reports WHERE guild_id = ? AND created_at < ?",
                (row["guild_id"], cutoff),
            ):
                db.scrub_soon()
        still_open.extend(_report(r) for r in found)
    return still_open


# --- named records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModRecord:
    """A warning, timeout or private note about a member."""

    id: int
    guild_id: int
    kind: str
    target_user_id: int | None
    moderator_id: int | None
    text: str
    minutes: int | None
    dm_delivered: bool | None
    created_at: datetime


def _record(r: sqlite3.Row) -> ModRecord:
    return ModRecord(
        id=r["id"],
        guild_id=r["guild_id"],
        kind=r["kind"],
        target_user_id=r["target_user_id"],
        moderator_id=r["moderator_id"],
        text=r["text"],
        minutes=r["minutes"],
        dm_delivered=None if r["dm_delivered"] is None else bool(r["dm_delivered"]),
        created_at=times.read(r["created_at"]),
    )


async def add_record(
    db: Database,
    *,
    guild_id: int,
    kind: str,
    target_user_id: int,
    moderator_id: int,
    text: str,
    now: datetime,
    minutes: int | None = None,
    dm_delivered: bool | None = None,
) -> ModRecord:
    """Store a warning, timeout or note. Not idempotent: each call is a new record."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    record_id = await db.insert(
        "INSERT INTO mod_records (guild_id, kind, target_user_id, moderator_id, text, minutes,"
        " dm_delivered, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guild_id,
            kind,
            target_user_id,
            moderator_id,
            text,
            minutes,
            None if dm_delivered is None else int(dm_delivered),
            times.stored(now),
        ),
    )
    row = await db.fetchone("SELECT * FROM mod_records WHERE id = ?", (record_id,))
    assert row is not None
    return _record(row)


async def records_about(db: Database, guild_id: int, user_id: int) -> list[ModRecord]:
    """Warnings, timeouts and notes about a member in this server, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM mod_records WHERE guild_id = ? AND target_user_id = ?"
        " ORDER BY created_at DESC, id DESC",
        (guild_id, user_id),
    )
    return [_record(r) for r in rows]
