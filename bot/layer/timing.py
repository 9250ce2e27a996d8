"""Background loops that wake when work falls due instead of polling on a short interval.

A `discord.ext.tasks` loop calls `sleep_until_due` at the end of each pass with the time of
its next piece of work; code that creates earlier work calls `wake_by` so the loop does not
oversleep. A long idle interval remains as a safety net (for example after a restart).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord.ext import tasks

IDLE_SECONDS = 3600.0
MIN_SECONDS = 1.0


def _seconds_until(due: datetime) -> float:
    # The loop counts from the start of its current pass, a moment ago, so this errs early;
    # an early pass finds nothing due and sleeps again.
    return min(IDLE_SECONDS, max(MIN_SECONDS, (due - discord.utils.utcnow()).total_seconds()))


def sleep_until_due(
    loop: tasks.Loop[Any], due: datetime | None, *, overdue_retry: float = 30.0
) -> None:
    """Call at the end of a loop pass: run again at `due`, or after the idle interval.

    Work still due after the pass (it failed, say) is retried after `overdue_retry` seconds
    rather than in a tight loop.
    """
    if due is None:
        seconds = IDLE_SECONDS
    elif due <= discord.utils.utcnow():
        seconds = overdue_retry
    else:
        seconds = _seconds_until(due)
    loop.change_interval(seconds=seconds)


def wake_by(loop: tasks.Loop[Any], due: datetime) -> None:
    """Make a sleeping loop run no later than `due`."""
    upcoming = loop.next_iteration
    if not loop.is_running() or upcoming is None or upcoming <= due:
        return
    loop.change_interval(seconds=_seconds_until(due))


class DueLoop:
    """Owns a `tasks.loop` named `loop` (declared by the subclass) that sleeps until its next
    piece of work: `start` and `stop` it, and `wake` it when earlier work appears."""

    loop: tasks.Loop[Any]

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.cancel()

    def wake(self, due: datetime) -> None:
        """Make sure the loop runs by `due`."""
        wake_by(self.loop, due)
