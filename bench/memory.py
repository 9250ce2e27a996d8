"""Memory: peak RSS of our bot with many open circles and members in the simulated server,
minus the bare bot in the same simulated server.

Each bot runs in a fresh subprocess (`python -m bench.memory ours|bare CIRCLES MEMBERS`) that
builds the server in three steps and records its peak RSS (VmHWM) after each:
1. the server with MEMBERS members (and our bot's /setup);
2. CIRCLES circles, opened by the code behind the slash commands (`/circle create` after its
   checks; the bare bot's `/open`), not through 500 interactions: a private thread, the card
   with its Join button, the agreements in the thread;
3. every member joined to one circle (MEMBERS / CIRCLES per circle): the membership recorded
   through the service and the member added to the thread, as I agree does, without clicking
   through 5,000 agreements.
Steps only add, so the peak after a step is the peak of a process that stopped there. Both
processes of a run go side by side (the figures are memory, not time).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any, cast

import discord

from bench import world as w
from bench.bare import BareBot, make_thread
from bench.common import (
    Result,
    Row,
    bench_settings,
    median,
    plural,
    quiet_logs,
    scratch_dir,
    verdict,
)
from bot.client import CircleBot, create_bot
from bot.services import circles as circle_service
from cogs.circles.cog import Circles

TARGET_MB = 50
JOIN_BATCH = 50  # members joined concurrently while seeding
STEPS = ("server", "circles", "members")
ROOT = Path(__file__).resolve().parent.parent


def peak_kb() -> int:
    """Peak resident set size of this process so far, in KiB.

    Linux's `ru_maxrss` keeps the peak of the process that forked this one (the benchmark
    runner, large after the growth benchmark) across exec, so read this program's own high
    water mark, VmHWM, where there is one.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def child(kind: str, circles: int, members: int) -> dict[str, int]:
    """Build the server step by step in this process; the peak RSS after each step."""
    bare = kind == "bare"
    peaks: dict[str, int] = {}
    with scratch_dir() as folder:
        bot: discord.Client = BareBot() if bare else create_bot(bench_settings(folder))
        world = await w.start(bot, members)
        try:
            if not bare:
                await w.configure(world)
            peaks["server"] = peak_kb()
            channel = bot.get_channel(world.general.id)
            assert isinstance(channel, discord.TextChannel)
            keeper = discord.Object(world.mod.id)
            for number in range(circles):
                name = f"Circle {number}"
                if isinstance(bot, CircleBot):
                    await open_circle(bot, channel, name, keeper)
                else:
                    await make_thread(channel, name, keeper)
            threads = {t.name: t.id for t in world.general.threads}
            assert len(threads) == circles, "a circle did not open"
            peaks["circles"] = peak_kb()
            guild = bot.get_guild(world.guild.id)
            assert guild is not None
            ids = {}
            if isinstance(bot, CircleBot):
                ids = {c.thread_id: c.id for c in await circle_service.open_circles(bot.db)}

            async def join(number: int, member_id: int) -> None:
                thread_id = threads[f"Circle {number % circles}"]
                if isinstance(bot, CircleBot):
                    await circle_service.accept_agreements(
                        bot.db,
                        ids[thread_id],
                        member_id,
                        member_key=circle_service.removal_key(bot.settings.secret, member_id),
                        now=world.env.now(),
                    )
                thread = guild.get_thread(thread_id)
                assert thread is not None
                await thread.add_user(discord.Object(member_id))

            joining = [m.id for m in world.members] if circles else []
            for start in range(0, len(joining), JOIN_BATCH):
                batch = joining[start : start + JOIN_BATCH]
                await asyncio.gather(*(join(start + n, i) for n, i in enumerate(batch)))
            peaks["members"] = peak_kb()
        finally:
            await w.stop(world, bot)
    return peaks


async def open_circle(
    bot: CircleBot, channel: discord.TextChannel, name: str, keeper: discord.Object
) -> None:
    """What `/circle create` does once its checks pass: the record, then the thread, the card
    and the agreements (`Circles._make_thread_and_card`)."""
    cog = bot.get_cog("Circles")
    assert isinstance(cog, Circles)
    circle = await circle_service.create_circle(
        bot.db,
        guild_id=channel.guild.id,
        channel_id=channel.id,
        name=name,
        deck_id="essay",
        keeper_id=keeper.id,
        default_agreements=bot.library.agreements,
        now=discord.utils.utcnow(),
    )
    await cog._make_thread_and_card(circle, channel, cast(Any, keeper))


async def spawn(kind: str, circles: int, members: int) -> dict[str, int]:
    """Run `child` in a fresh Python process and read its JSON answer."""
    path = os.environ.get("PYTHONPATH")
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.memory",
        kind,
        str(circles),
        str(members),
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"memory child ({kind}) failed:\n{err.decode(errors='replace')}")
    answer: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    return answer


def _mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def _kb(kb: float) -> str:
    return f"{kb:.1f} KB" if abs(kb) < 100 else f"{kb:.0f} KB"


async def memory(*, runs: int = 5, circles: int = 500, members: int = 5000) -> Result:
    ours: list[dict[str, int]] = []
    bare: list[dict[str, int]] = []
    for _ in range(runs):
        mine, theirs = await asyncio.gather(
            spawn("ours", circles, members), spawn("bare", circles, members)
        )
        ours.append(mine)
        bare.append(theirs)

    def step(runs_: list[dict[str, int]], name: str) -> float:
        return median([r[name] for r in runs_])

    def share(name: str) -> float:
        return median([o[name] - b[name] for o, b in zip(ours, bare, strict=True)])

    result = Result()
    each = members // max(circles, 1)
    labels = {
        "server": f"peak RSS: {members:,} members in the server, no circles",
        "circles": f"peak RSS: and {circles} open circles",
        "members": f"peak RSS: and each member joined to a circle ({each} per circle)",
    }
    for name in STEPS:
        ours_kb, bare_kb = step(ours, name), step(bare, name)
        result.rows.append(
            Row("Memory", labels[name], _mb(ours_kb), _mb(bare_kb), f"{ours_kb / bare_kb:.2f}")
        )
    total = share("members")
    result.rows += [
        Row(
            "Memory",
            f"our bot's own share at {circles} circles and {members:,} members (ours − bare)",
            _mb(total),
            target=verdict(total / 1024, TARGET_MB, at_most=True).replace(" 50:", " 50 MB:"),
        ),
        Row(
            "Memory",
            "our bot's own share per open circle",
            _kb((share("circles") - share("server")) / max(circles, 1)),
        ),
        Row(
            "Memory",
            "our bot's own share per member in a circle",
            _kb((share("members") - share("circles")) / max(members, 1)),
        ),
    ]
    result.notes.append(
        f"Memory: {plural(runs, 'run')}, each bot in a fresh subprocess per run; peak RSS "
        "(VmHWM) after each step of building the server."
    )
    return result


def main() -> None:
    kind, circles, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind not in ("ours", "bare"):
        raise SystemExit("usage: python -m bench.memory ours|bare CIRCLES MEMBERS")
    with quiet_logs():
        peaks = asyncio.run(child(kind, circles, members))
    print(json.dumps(peaks))


if __name__ == "__main__":
    main()
