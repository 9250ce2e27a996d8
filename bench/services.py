"""Service-level scaffolding: a migrated database with circles and members, and a stand-in
for Discord that records what the bot's real delivery code sends."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import discord

from bench.common import BENCH_SECRET
from bot.db import Database
from bot.layer.posting import Outbox
from bot.services import circles
from bot.services.anonymous import CircleKeys
from bot.services.circles import Circle
from bot.services.delivery import ChannelProblems

GUILD_ID = 900_000_000_000_000_001
CHANNEL_ID = 900_000_000_000_000_002
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
REPLY_PREFIX = "ck:anon:reply:"  # an anonymous post's Reply button carries its token
_ids = itertools.count(910_000_000_000_000_000)


def member_id(n: int) -> int:
    """A Discord-sized user id for member number `n`."""
    return 800_000_000_000_000_000 + n


def keys() -> CircleKeys:
    return CircleKeys(bytes.fromhex(BENCH_SECRET))


async def open_db(path: Path) -> Database:
    return await Database.open(path)


async def make_circle(db: Database, name: str, *, thread_id: int | None = None) -> Circle:
    """An open circle with its thread recorded, as `/circle create` leaves it."""
    circle = await circles.create_circle(
        db,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        name=name,
        deck_id="essay",
        keeper_id=member_id(0),
        default_agreements=[],
        now=NOW,
    )
    return await circles.attach_thread(
        db, circle.id, thread_id=thread_id or next(_ids), card_message_id=None
    )


@dataclass(frozen=True, slots=True)
class Sent:
    """One message the bot sent, as the stand-in Discord saw it."""

    id: int
    token: str
    author: str


@dataclass
class RecordingThread:
    """Plays a circle's thread: `send` records the post and answers like Discord would."""

    id: int
    sent: list[Sent] = field(default_factory=list)

    async def send(self, *, embed: discord.Embed, view: discord.ui.View, **_: Any) -> Sent:
        custom_ids = [
            str(component.get("custom_id", ""))
            for row in view.to_components()
            for component in row.get("components", [])
        ]
        reply = next(c for c in custom_ids if c.startswith(REPLY_PREFIX))
        message = Sent(next(_ids), reply.removeprefix(REPLY_PREFIX), embed.author.name or "")
        self.sent.append(message)
        return message


@dataclass
class _Guild:
    threads: dict[int, RecordingThread]

    def get_thread(self, thread_id: int) -> RecordingThread | None:
        return self.threads.get(thread_id)


@dataclass
class StandInBot:
    """Just enough of the bot for `Outbox.deliver_due`: its database and a guild whose
    threads are all cached (so the delivery never needs to fetch one)."""

    db: Database
    guild: _Guild
    delivery_problems: ChannelProblems = field(default_factory=ChannelProblems)

    def get_guild(self, guild_id: int) -> _Guild | None:
        return self.guild if guild_id == GUILD_ID else None


def outbox(db: Database, threads: list[RecordingThread]) -> Outbox:
    """The real outbox around a stand-in bot: its `deliver_due` is the real delivery
    loop (due posts in order, mark sending, send, mark posted)."""
    bot = StandInBot(db, _Guild({thread.id: thread for thread in threads}))
    return Outbox(cast(Any, bot))
