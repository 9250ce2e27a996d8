"""Join gates: a member whose Discord account, or whose time in the server, is younger than the
server's gate waits before joining a circle, unless a keeper admits them to that circle.

People join support spaces only to watch and out the members; a gate makes that slower. The
ages come from what Discord sends with every interaction (the account's id carries its creation
time, the member object its join time), so no privileged intent is needed and nothing about the
member is stored. An admission is a named keeper's decision, stored by the member's id until
they delete their data or the circle's records go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import Database
from bot.i18n import N_, tr
from bot.services.config import GuildConfig
from bot.services.errors import Refusal

DAY = timedelta(days=1)


class GateError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


@dataclass(frozen=True, slots=True)
class GateWait:
    """Why a member cannot join yet, and for how long. `wait` is None when their time in the
    server is unknown (Discord sent no join time), so only a keeper can let them in."""

    wait: timedelta | None


def gate_wait(
    config: GuildConfig,
    *,
    account_created: datetime,
    joined_at: datetime | None,
    now: datetime,
) -> GateWait | None:
    """None when the member passes the server's gate; otherwise how long until they do."""
    waits: list[timedelta] = []
    if config.gate_account_days:
        waits.append(account_created + config.gate_account_days * DAY - now)
    if config.gate_server_days:
        if joined_at is None:
            return GateWait(None)
        waits.append(joined_at + config.gate_server_days * DAY - now)
    longest = max(waits, default=timedelta(0))
    return GateWait(longest) if longest > timedelta(0) else None


def describe_wait(wait: timedelta, language: str = "en") -> str:
    """ "in about 3 days", rounded up so a member who comes back then is let in."""
    if wait <= timedelta(hours=1):
        return tr(language, "within the hour")
    if wait < DAY:
        hours = math.ceil(wait / timedelta(hours=1))
        return tr(language, "in about {hours} hours", hours=hours)
    days = math.ceil(wait / DAY)
    return tr(language, "in about 1 day" if days == 1 else "in about {days} days", days=days)


def refusal_text(waiting: GateWait, language: str = "en") -> str:
    """What a member held back by the gate is told, privately (in their `language`)."""
    if waiting.wait is None:
        when = tr(
            language,
            "Discord did not tell me when you joined this server, so I can't let you in by myself.",
        )
    else:
        when = tr(language, "You can join {when}.", when=describe_wait(waiting.wait, language))
    return tr(
        language,
        "This server asks that accounts and server memberships be a little older before they "
        "join a circle, to keep out people who join only to watch. {when} If a keeper of the "
        "circle knows you, they can let you in sooner with `/circle admit`.",
        when=when,
    )


async def is_admitted(db: Database, circle_id: int, user_id: int) -> bool:
    """Read-only."""
    row = await db.fetchone(
        "SELECT 1 FROM circle_admissions WHERE circle_id = ? AND user_id = ?",
        (circle_id, user_id),
    )
    return row is not None


async def admit(db: Database, circle_id: int, user_id: int) -> bool:
    """Let the member into this circle despite the gate. True if newly admitted; GateError
    when they are in the circle already. Changes nothing then."""
    async with db.atomic():
        member = await db.fetchone(
            "SELECT 1 FROM memberships WHERE circle_id = ? AND user_id = ?", (circle_id, user_id)
        )
        if member is not None:
            raise GateError(N_("They are in this circle already; there is nothing to admit."))
        added = await db.execute(
            "INSERT INTO circle_admissions (circle_id, user_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            (circle_id, user_id),
        )
    return added > 0
