"""The circles' clock: runs timed work (pauses and turns ending) when it falls due.

One per bot (`bot.clock`). The circles cog hands it the work when it loads; anything that sets
an end time calls `wake(due)` so the clock does not oversleep.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from discord.ext import tasks

from bot.layer.timing import DueLoop, sleep_until_due
from bot.services import structure

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

# The clock wakes when the next pause or turn ends; this is only its first interval.
CLOCK_SECONDS = 15

Work = Callable[[], Awaitable[None]]


class Clock(DueLoop):
    def __init__(self, bot: CircleBot) -> None:
        self.bot = bot
        self._tick: Work | None = None
        self._first: Work | None = None

    def start(self, tick: Work | None = None, *, first: Work | None = None) -> None:
        """Run `tick` whenever something falls due; `first` once, when the bot is ready."""
        self._tick = tick
        self._first = first
        super().start()

    @tasks.loop(seconds=CLOCK_SECONDS)
    async def loop(self) -> None:
        try:
            if self._tick is not None:
                await self._tick()
        except Exception:
            # One bad tick must not stop the clock: a stopped clock leaves threads locked.
            log.exception("The circle clock failed on this tick")
        sleep_until_due(self.loop, await structure.next_due(self.bot.db))

    @loop.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()
        if self._first is None:
            return
        try:
            await self._first()
        except Exception:
            log.exception("Could not end the rounds a restart made unusable")
