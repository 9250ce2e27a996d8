"""Why something the bot posts on a member's behalf has not gone out, and when to try again.

Posts, replies, anonymous round shares and check-out takeaways go to a circle's thread; held
posts go to the moderators' queue channel. When Discord refuses one, the caller names the
cause, waits as `retry_delay` says, and records the failure against the channel with
`ChannelProblems`, so moderators get one mod-log entry per channel and cause, however many
retries follow, and one more when posting there works again.

Nothing here is stored but those mod-log entries, and they name a channel and a cause only:
never a post or a label, so the log cannot point at the post (or its author) that ran into
the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.db import Database

Cause = Literal["forbidden", "server", "rate_limited", "gone"]

# Server errors are usually over within seconds; a missing permission needs a person, so it
# is retried more slowly; a rate limit waits as long as Discord says.
SERVER_BACKOFF = (2, 4, 8, 16, 32, 60)
FORBIDDEN_BACKOFF = (60, 120, 300)
# A brief Discord hiccup is not worth a moderator's attention; a run of failures is.
SERVER_FAILURES_BEFORE_LOG = 3
# A rate limit is Discord pacing the bot: never a mod-log entry.
_LOGGED_CAUSES = ("forbidden", "server", "gone")


def retry_delay(cause: Cause, failures: int, retry_after: float | None = None) -> timedelta | None:
    """How long to wait after the `failures`-th failure in a row (1 for the first); None
    for a cause that never clears by waiting (the thread is gone)."""
    if cause == "gone":
        return None
    step = max(1, failures) - 1
    if cause == "rate_limited" and retry_after is not None:
        # A little over what Discord asked, so the retry does not arrive a moment early.
        return timedelta(seconds=max(1.0, retry_after + 0.5))
    backoff = FORBIDDEN_BACKOFF if cause == "forbidden" else SERVER_BACKOFF
    return timedelta(seconds=backoff[min(step, len(backoff) - 1)])


# The mod-log action for each cause moderators hear about, and for the all-clear.
ACTIONS: dict[str, str] = {
    "forbidden": "posting blocked",
    "server": "posting failing",
    "gone": "channel gone",
}
WORKS_AGAIN = "posting works again"


@dataclass(frozen=True, slots=True)
class ChannelFailure:
    """The state after a failure: `failures` in a row with this cause, and whether a
    mod-log entry is due now (only once per channel and cause)."""

    cause: Cause
    failures: int
    log_now: bool


@dataclass(slots=True)
class _Problem:
    cause: Cause
    failures: int
    logged: bool


class ChannelProblems:
    """Channels the bot cannot post in right now, held in memory (one object per process).

    Whether moderators were already told survives a restart through the mod log itself:
    the first time a channel comes up in a process, `load` reads the channel's last
    delivery entry there.
    """

    def __init__(self) -> None:
        self._problems: dict[int, _Problem] = {}
        self._loaded: set[int] = set()

    def __repr__(self) -> str:
        return f"<ChannelProblems channels={len(self._problems)}>"

    def __bool__(self) -> bool:
        return bool(self._problems)

    def cause_of(self, channel_id: int) -> Cause | None:
        problem = self._problems.get(channel_id)
        return problem.cause if problem is not None else None

    async def load(self, db: Database, guild_id: int, channel_id: int) -> None:
        """Once per channel and process: pick up an entry moderators got before a restart."""
        if channel_id in self._loaded:
            return
        self._loaded.add(channel_id)
        told = await told_moderators(db, guild_id, channel_id)
        if told is not None and channel_id not in self._problems:
            self._problems[channel_id] = _Problem(told, 0, logged=True)

    def failed(self, channel_id: int, cause: Cause) -> ChannelFailure:
        """Count one failure to post in the channel. A different cause from the one held
        starts a new count (and a new mod-log entry when it is logged). Call `load` first."""
        held = self._problems.get(channel_id)
        if held is None or held.cause != cause:
            held = self._problems[channel_id] = _Problem(cause, 0, logged=False)
        held.failures += 1
        log_now = (
            not held.logged
            and cause in ACTIONS
            and (cause != "server" or held.failures >= SERVER_FAILURES_BEFORE_LOG)
        )
        held.logged = held.logged or log_now
        return ChannelFailure(cause, held.failures, log_now)

    def works(self, channel_id: int) -> Cause | None:
        """Posting in the channel worked: forget its problem. Returns the cause when
        moderators were told about it (so they should hear it is fixed). Idempotent."""
        held = self._problems.pop(channel_id, None)
        return held.cause if held is not None and held.logged else None


async def told_moderators(db: Database, guild_id: int, channel_id: int) -> Cause | None:
    """The cause named by the channel's last delivery entry in the mod log, or None when
    there is none or the last one says posting works again."""
    actions = [*ACTIONS.values(), WORKS_AGAIN]
    row = await db.fetchone(
        "SELECT action FROM mod_log WHERE guild_id = ? AND moderator_id IS NULL"
        f" AND action IN ({', '.join('?' for _ in actions)}) AND details LIKE ?"
        " ORDER BY id DESC LIMIT 1",
        (guild_id, *actions, f"%<#{channel_id}>%"),
    )
    if row is None:
        return None
    for cause, action in ACTIONS.items():
        if row["action"] == action:
            return cause  # type: ignore[return-value]
    return None
