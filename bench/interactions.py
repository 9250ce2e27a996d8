"""Interaction cost through simcord: our bot against a bare discord.py bot, with the same world
and the same number of interactions, each bot in its own simulated Discord and fresh database,
alternating which bot goes first from run to run.

Per flow, three figures per interaction: end to end as simcord runs it; end to end without
simcord's idle settle waits (a fixed cost of the simulation, see `bench.instrument`); and the
bot's own handlers alone. The last two keep the simulation's fixed cost from hiding ours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bench import world as w
from bench.bare import BareBot
from bench.common import (
    Result,
    Row,
    bench_settings,
    median,
    ms,
    plural,
    ratio,
    scratch_dir,
    verdict,
)
from bench.instrument import HandlerClock
from bot.client import create_bot

TARGET = 1.25  # end to end without simcord's idle waits, every flow
# The bot's own handlers against the bare bot's, and database round trips per interaction.
HANDLER_TARGETS = {"post": 1.75, "next": 1.5, "join": 1.5}
TRIP_TARGETS = {"post": 4, "next": 2, "join": 2}
FLOWS = {
    "post": "anonymous post: open modal, submit, delivered",
    "next": "/prompt next: prompt posted",
    "join": "join: Join, then I agree",
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One flow in one run, per interaction."""

    e2e: float
    idle: float
    handlers: float
    db_round_trips: float
    db_seconds: float  # of `handlers`, waiting for database round trips
    db_work_seconds: float  # of that, the work on the database thread
    db_elsewhere_seconds: float  # and the event loop's other work meanwhile

    @property
    def net(self) -> float:
        return self.e2e - self.idle


async def _measure(
    clock: HandlerClock, count: int, action: Callable[[int], Awaitable[None]]
) -> Sample:
    clock.reset()
    start = time.perf_counter()
    for n in range(count):
        await action(n)
    elapsed = time.perf_counter() - start
    return Sample(
        elapsed / count,
        clock.idle_seconds / count,
        clock.seconds / count,
        clock.db_round_trips / count,
        clock.db_seconds / count,
        clock.db_work_seconds / count,
        clock.db_elsewhere_seconds / count,
    )


async def one_run(*, bare: bool, posts: int, prompts: int, joins: int) -> dict[str, Sample]:
    """One bot in a fresh simulated Discord and database: set up, warm up, then time."""
    posters = math.ceil(posts / 5)  # five posts each stays inside the rate limit
    with scratch_dir() as folder:
        bot: discord.Client = BareBot() if bare else create_bot(bench_settings(folder))
        # Members: a warm-up poster, a warm-up joiner, the posters, the joiners.
        world = await w.start(bot, 2 + posters + joins)
        clock = HandlerClock()
        samples: dict[str, Sample] = {}
        try:
            if not bare:
                await w.configure(world)
            thread, card = await w.open_circle(world, "Tuesday circle", bare=bare)
            warm_poster, warm_joiner = world.members[0], world.members[1]
            poster_pool = world.members[2 : 2 + posters]
            joiner_pool = world.members[2 + posters :]
            for member in [warm_poster, *poster_pool]:
                await w.join(member, card)
            next_command = "next" if bare else "prompt next"
            # Warm-up: each flow once, untimed, so first-use costs stay out of the figures.
            await w.post(warm_poster, thread, bare=bare)
            await w.join(warm_joiner, card)
            await world.mod.slash(thread, next_command)
            before = len(thread.history())

            async def post(n: int) -> None:
                await w.post(poster_pool[n % posters], thread, f"{w.POST_TEXT} ({n})", bare=bare)

            async def next_prompt(n: int) -> None:
                result = await world.mod.slash(thread, next_command)
                assert result.acknowledged, result

            async def join(n: int) -> None:
                await w.join(joiner_pool[n], card)

            with clock.installed():
                samples["post"] = await _measure(clock, posts, post)
                samples["next"] = await _measure(clock, prompts, next_prompt)
                samples["join"] = await _measure(clock, joins, join)
            assert len(thread.history()) == before + posts + prompts, "a message went missing"
        finally:
            await w.stop(world, bot)
    return samples


async def interaction_cost(
    *, runs: int = 7, posts: int = 30, prompts: int = 30, joins: int = 30
) -> Result:
    """Per flow, the median over `runs` of the time per interaction, ours and bare."""
    ours: list[dict[str, Sample]] = []
    bare: list[dict[str, Sample]] = []
    for run in range(runs):
        for is_bare in (False, True) if run % 2 == 0 else (True, False):
            samples = await one_run(bare=is_bare, posts=posts, prompts=prompts, joins=joins)
            (bare if is_bare else ours).append(samples)
    result = Result()
    trips = []
    for key, flow in FLOWS.items():

        def both(figure: Callable[[Sample], float], key: str = key) -> tuple[float, float]:
            return median([figure(s[key]) for s in ours]), median([figure(s[key]) for s in bare])

        raw, raw_bare = both(lambda s: s.e2e)
        idle, idle_bare = both(lambda s: s.idle)
        net, net_bare = both(lambda s: s.net)
        own, own_bare = both(lambda s: s.handlers)
        work = median([s[key].db_work_seconds for s in ours])
        handing = median([s[key].db_seconds - s[key].db_work_seconds for s in ours])
        elsewhere = median([s[key].db_elsewhere_seconds for s in ours])
        result.rows += [
            Row("Interaction", f"{flow}: end to end", ms(raw), ms(raw_bare), ratio(raw, raw_bare)),
            Row("Interaction", f"{flow}: simcord's idle waits in that", ms(idle), ms(idle_bare)),
            Row(
                "Interaction",
                f"{flow}: end to end without simcord's idle waits",
                ms(net),
                ms(net_bare),
                ratio(net, net_bare),
                verdict(net / net_bare, TARGET, at_most=True),
            ),
            Row(
                "Interaction",
                f"{flow}: bot handlers only",
                ms(own),
                ms(own_bare),
                ratio(own, own_bare),
                verdict(own / own_bare, HANDLER_TARGETS[key], at_most=True),
            ),
            Row("Interaction", f"{flow}: of the handlers, work on the database thread", ms(work)),
            Row(
                "Interaction",
                f"{flow}: of the handlers, handing work to the database thread and back",
                ms(handing),
            ),
            Row(
                "Interaction",
                f"{flow}: of the handlers, the event loop's other work while they waited for "
                "the database (simcord's settling)",
                ms(elsewhere),
            ),
        ]
        hops = median([s[key].db_round_trips for s in ours])
        result.rows.append(
            Row(
                "Interaction",
                f"{flow}: database round trips",
                f"{hops:.1f}",
                "0",
                "—",
                verdict(hops, TRIP_TARGETS[key], at_most=True),
            )
        )
        trips.append(f"{key} {hops:.1f}")
    result.notes.append(
        f"Interaction: {plural(runs, 'run')} per bot, each {posts} posts, {prompts} prompts "
        f"and {joins} joins after an untimed warm-up of each, with our delivery delay set to 0 "
        "(the default waits a random time before a post appears; the benchmark times the work, "
        "not the wait); database round trips per interaction (ours): " + ", ".join(trips) + "."
    )
    return result
