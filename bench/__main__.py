"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks, print one markdown table.

Full sizes take a few minutes on two cores; `--quick` runs everything tiny, once, in seconds
(the test suite's check that every benchmark works). Figures from `--quick` mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.burst import burst
from bench.common import Result, machine, quiet_logs, render_table
from bench.growth import growth
from bench.interactions import interaction_cost
from bench.memory import memory
from bench.startup import startup
from bench.storage import storage

Benchmark = Callable[[], Awaitable[Result]]


def benchmarks(quick: bool) -> dict[str, Benchmark]:
    """Each benchmark with the sizes it runs at: full, or tiny with `quick`."""
    if quick:
        return {
            "interaction": lambda: interaction_cost(runs=1, posts=5, prompts=3, joins=3),
            "burst": lambda: burst(runs=1, posts=200, simcord_runs=1, simcord_posts=10),
            "storage": lambda: storage(runs=1, posts=100, queries=100),
            "growth": lambda: growth(sizes=(100, 1_000), runs=1, count=5),
            "memory": lambda: memory(runs=1, circles=5, members=50),
            "startup": lambda: startup(runs=1, posts=200, memberships=50, circles=10),
        }
    return {
        "interaction": lambda: interaction_cost(runs=7, posts=30, prompts=30, joins=30),
        "burst": lambda: burst(runs=7, posts=1000, simcord_runs=5, simcord_posts=200),
        "storage": lambda: storage(runs=7, posts=1000, queries=2000),
        "growth": lambda: growth(sizes=(1_000, 10_000, 100_000), runs=5, count=200),
        "memory": lambda: memory(runs=5, circles=500, members=5000),
        "startup": lambda: startup(runs=3, posts=100_000, memberships=10_000, circles=1_000),
    }


async def run(names: list[str], quick: bool) -> tuple[Result, float]:
    chosen = benchmarks(quick)
    combined = Result()
    start = time.perf_counter()
    with quiet_logs():
        for name in names:
            result = await chosen[name]()
            combined.rows += result.rows
            combined.notes += result.notes
    return combined, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    names = list(benchmarks(quick=False))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each")
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help=f"one of {names}"
    )
    args = parser.parse_args(argv)
    selected = [name for name in names if not args.only or name in args.only]
    result, elapsed = asyncio.run(run(selected, args.quick))
    print(f"Machine: {machine()}")
    print("Each row is the median of several runs; how many is noted below the table.")
    if args.quick:
        print("QUICK MODE: tiny sizes and a single run; the figures mean nothing.")
    print()
    print(render_table(result.rows))
    print()
    for note in result.notes:
        print(note if note.startswith("  ") else f"- {note}")
    print(f"\nTotal time: {elapsed:.0f} s")


if __name__ == "__main__":
    main()
