"""Times the bot's own interaction handlers, and simcord's idle waits, inside the process.

`HandlerClock` wraps the four places where discord.py hands an interaction to bot code (the
command tree, a modal's submit, a view's button, a persistent dynamic button) and adds up
`time.perf_counter()` from entry to exit: the bot's handling including its REST calls into the
simulated Discord, without the driver's side (building the interaction, the gateway round trip,
simcord's settling). It counts round trips to aiosqlite's database thread, each a hop between
threads and back, where the bot makes them (`Database._call`, its one way there once the
connection is open), and, of the time handlers wait for them, how much the statements and
service code took on the database thread; the rest is handing the work over and back (the
thread waiting for the interpreter lock while the event loop runs other work, the loop waking
up again). Of that wait it also times the other work the event loop ran meanwhile (every
`asyncio` callback that ran while the handler was suspended on the round trip: in these
benchmarks, simcord's settling).

It also times simcord's idle waits. After every member action simcord settles: it loops until
none of the bot's work is left to run, and when the only thing left is a callback already queued
(or a task parked on a recognised wait, such as a view's expiry timer) it waits out a whole poll
interval (0.05 s) instead of one loop turn. `idle_seconds` adds up those waits of simcord's
settle loop during which no handler of the bot ran, no database round trip happened and no task
finished: dead time of the simulation, which falls on bots whose handlers finish within one
turn of the event loop (the bare bot) far more than on bots that await a database (ours).
"""

from __future__ import annotations

import asyncio
import functools
import time
import types
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import discord
import simcord.env
from discord import app_commands
from discord.ui.view import ViewStore

from bot.db import Database

_HOOKS: tuple[tuple[type, str], ...] = (
    (app_commands.CommandTree, "_call"),
    (discord.ui.Modal, "_scheduled_task"),
    (discord.ui.View, "_scheduled_task"),
    (ViewStore, "schedule_dynamic_item_call"),
)

AsyncFunction = Callable[..., Coroutine[Any, Any, Any]]


class _TimedAsyncio(types.ModuleType):
    """`asyncio` as simcord's settle loop sees it, with its sleeps timed."""

    def __init__(self, clock: HandlerClock) -> None:
        super().__init__("asyncio")
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        if delay <= 0:
            return await asyncio.sleep(delay, result)
        with self._clock.idle_unless_busy():
            return await asyncio.sleep(delay, result)

    async def wait(self, tasks: Any, **options: Any) -> Any:
        with self._clock.idle_unless_busy() as outcome:
            done, pending = await asyncio.wait(tasks, **options)
            outcome.append(bool(done))
        return done, pending


class HandlerClock:
    """Handler time, handled interactions, database round trips (the time handlers waited for
    them, and how much of it was the database thread's work) and simcord's idle waits,
    counted while `installed()`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.db_round_trips = 0
        self.db_seconds = 0.0
        self.db_work_seconds = 0.0
        self.db_elsewhere_seconds = 0.0
        self.idle_seconds = 0.0
        self._running = 0
        # Time in finished event-loop callbacks, and when the one running now began.
        self._loop_seconds = 0.0
        self._callback_began = 0.0

    def reset(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.db_round_trips = 0
        self.db_seconds = 0.0
        self.db_work_seconds = 0.0
        self.db_elsewhere_seconds = 0.0
        self.idle_seconds = 0.0

    def _timed(self, original: AsyncFunction) -> AsyncFunction:
        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            self._running += 1
            try:
                return await original(*args, **kwargs)
            finally:
                self._running -= 1
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed

    def _counted(self, original: AsyncFunction) -> AsyncFunction:
        @functools.wraps(original)
        async def counted(db: Database, work: Callable[[Any], Any]) -> Any:
            self.db_round_trips += 1
            ran = [0.0]

            def timed(conn: Any) -> Any:
                begun = time.perf_counter()
                try:
                    return work(conn)
                finally:
                    ran[0] = time.perf_counter() - begun

            start = time.perf_counter()
            loop_before = self._loop_time(start)
            try:
                return await original(db, timed)
            finally:
                if self._running:
                    end = time.perf_counter()
                    self.db_seconds += end - start
                    self.db_work_seconds += ran[0]
                    self.db_elsewhere_seconds += self._loop_time(end) - loop_before

        return counted

    def _loop_time(self, now: float) -> float:
        """Event-loop callback time so far, counting the running callback up to `now`."""
        return self._loop_seconds + (now - self._callback_began)

    def _timed_callback(self, original: Callable[[asyncio.Handle], None]) -> Any:
        @functools.wraps(original)
        def run(handle: asyncio.Handle) -> None:
            began = self._callback_began = time.perf_counter()
            try:
                original(handle)
            finally:
                ended = time.perf_counter()
                self._loop_seconds += ended - began
                self._callback_began = ended

        return run

    @contextmanager
    def idle_unless_busy(self) -> Iterator[list[bool]]:
        """Count the block as idle unless a handler ran, the database was used, or the block
        reports (by appending True) that a task finished."""
        before = (self.db_round_trips, self.calls)
        start = time.perf_counter()
        idle = self._running == 0
        outcome: list[bool] = []
        yield outcome
        quiet = self._running == 0 and (self.db_round_trips, self.calls) == before
        if idle and quiet and not any(outcome):
            self.idle_seconds += time.perf_counter() - start

    @contextmanager
    def installed(self) -> Iterator[HandlerClock]:
        replaced: list[tuple[object, str, Any]] = []

        def replace(owner: object, name: str, new: Any) -> None:
            replaced.append((owner, name, getattr(owner, name)))
            setattr(owner, name, new)

        try:
            for owner, name in _HOOKS:
                replace(owner, name, self._timed(getattr(owner, name)))
            replace(Database, "_call", self._counted(Database._call))
            replace(asyncio.Handle, "_run", self._timed_callback(asyncio.Handle._run))
            replace(simcord.env, "asyncio", _TimedAsyncio(self))
            yield self
        finally:
            for owner, name, original in reversed(replaced):
                setattr(owner, name, original)
