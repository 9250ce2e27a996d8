"""Times the bot's own interaction handlers inside the process.

`HandlerClock` wraps the four places where discord.py hands an interaction to bot code (the
command tree, a modal's submit, a view's button, a persistent dynamic button) and adds up
`time.perf_counter()` from entry to exit. That is the bot's handling including its REST calls
into the simulated Discord, without the driver's side: building the interaction, the gateway
round trip and simcord's settling.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import discord
from discord import app_commands
from discord.ui.view import ViewStore

_HOOKS: tuple[tuple[type, str], ...] = (
    (app_commands.CommandTree, "_call"),
    (discord.ui.Modal, "_scheduled_task"),
    (discord.ui.View, "_scheduled_task"),
    (ViewStore, "schedule_dynamic_item_call"),
)


class HandlerClock:
    """Total handler time and number of handled interactions while `installed()`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def reset(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def _wrap(
        self, original: Callable[..., Coroutine[Any, Any, Any]]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed

    @contextmanager
    def installed(self) -> Iterator[HandlerClock]:
        originals = [(owner, name, getattr(owner, name)) for owner, name in _HOOKS]
        for owner, name, original in originals:
            setattr(owner, name, self._wrap(original))
        try:
            yield self
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
